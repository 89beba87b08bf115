package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), Limits{})
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func readTestdata(t *testing.T, name string) *Policy {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b, SQSLimits())
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return p
}

// TestDocumentedPolicies evaluates the policies S3's documentation (seed
// 003) and aws-wire 2.2/3.4 give, with S3 as the caller.
func TestDocumentedPolicies(t *testing.T) {
	const (
		queue    = "arn:aws:sqs:us-west-2:444455556666:s3notificationqueue"
		topic    = "arn:aws:sns:us-west-2:444455556666:sns-topic-one"
		fn       = "arn:aws:lambda:us-east-1:000000000000:function:fn"
		q1       = "arn:aws:sqs:us-east-1:000000000000:q1"
		owner    = "000000000000"
		stranger = "111122223333"
	)
	tests := []struct {
		file       string
		req        Request
		want       Decision
		wantReason string
	}{
		// Seed 003, SNS: Service s3.amazonaws.com, SNS:Publish, ArnLike arn:aws:s3:*:*:bucket-name.
		{"seed003_sns.json", ServiceRequest("s3.amazonaws.com", "sns:Publish", topic, "arn:aws:s3:::bucket-name", owner), Allowed,
			"statement 0 (Sid example-statement-ID) allows it"},
		{"seed003_sns.json", ServiceRequest("s3.amazonaws.com", "SNS:PUBLISH", topic, "arn:aws:s3:::bucket-name", ""), Allowed, ""},
		{"seed003_sns.json", ServiceRequest("s3.amazonaws.com", "sns:Publish", topic, "arn:aws:s3:::other", owner), ImplicitDeny,
			"statement 0 (Sid example-statement-ID): condition ArnLike aws:SourceArn arn:aws:s3:*:*:bucket-name does not match arn:aws:s3:::other"},
		{"seed003_sns.json", ServiceRequest("s3.amazonaws.com", "sns:Publish", topic, "", owner), ImplicitDeny,
			"statement 0 (Sid example-statement-ID): condition ArnLike aws:SourceArn arn:aws:s3:*:*:bucket-name does not match: aws:SourceArn is not in the request"},
		{"seed003_sns.json", ServiceRequest("sns.amazonaws.com", "sns:Publish", topic, "arn:aws:s3:::bucket-name", owner), ImplicitDeny,
			"statement 0 (Sid example-statement-ID) does not allow principal sns.amazonaws.com"},
		{"seed003_sns.json", ServiceRequest("s3.amazonaws.com", "sns:Subscribe", topic, "arn:aws:s3:::bucket-name", owner), ImplicitDeny,
			"statement 0 (Sid example-statement-ID) does not allow action sns:Subscribe"},
		{"seed003_sns.json", ServiceRequest("s3.amazonaws.com", "sns:Publish", "arn:aws:sns:us-west-2:444455556666:other", "arn:aws:s3:::bucket-name", owner), ImplicitDeny,
			"statement 0 (Sid example-statement-ID) does not allow resource arn:aws:sns:us-west-2:444455556666:other"},
		// Seed 003, SQS: Principal {"AWS":"*"} admits the S3 service too.
		{"seed003_sqs.json", ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", queue, "arn:aws:s3:::bucket-name", owner), Allowed, ""},
		{"seed003_sqs.json", ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", queue, "arn:aws:s3:::bucket-name2", owner), ImplicitDeny, ""},
		{"seed003_sqs.json", Request{Caller: Caller{ARN: "arn:aws:iam::111122223333:user/u"}, Action: "sqs:SendMessage", Resource: queue,
			Context: map[string][]string{"aws:sourcearn": {"arn:aws:s3:::bucket-name"}}}, Allowed, ""},
		// StringLike treats the pattern as one string: ':' is an ordinary character.
		{"seed003_sqs_stringlike.json", ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", queue, "arn:aws:s3:::bucket-name", owner), Allowed, ""},
		{"seed003_sqs_stringlike.json", ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", queue, "arn:aws:s3:::Bucket-Name", owner), ImplicitDeny,
			"statement 0 (Sid example-statement-ID): condition StringLike aws:SourceArn arn:aws:s3:*:*:bucket-name does not match arn:aws:s3:::Bucket-Name"},
		// aws-wire 2.2, the policy Lambda AddPermission writes.
		{"wire22_lambda.json", ServiceRequest("s3.amazonaws.com", "lambda:InvokeFunction", fn, "arn:aws:s3:::b1", owner), Allowed, "statement 0 (Sid s3) allows it"},
		{"wire22_lambda.json", ServiceRequest("s3.amazonaws.com", "lambda:InvokeFunction", fn, "arn:aws:s3:::b1", stranger), ImplicitDeny,
			"statement 0 (Sid s3): condition StringEquals AWS:SourceAccount 000000000000 does not match 111122223333"},
		{"wire22_lambda.json", ServiceRequest("s3.amazonaws.com", "lambda:InvokeFunction", fn, "arn:aws:s3:::b2", owner), ImplicitDeny,
			"statement 0 (Sid s3): condition ArnLike AWS:SourceArn arn:aws:s3:::b1 does not match arn:aws:s3:::b2"},
		{"wire22_lambda.json", ServiceRequest("s3.amazonaws.com", "lambda:InvokeFunction", fn+":$LATEST", "arn:aws:s3:::b1", owner), ImplicitDeny, ""},
		// aws-wire 3.4.
		{"wire34_sqs.json", ServiceRequest("s3.amazonaws.com", "sqs:sendmessage", q1, "arn:aws:s3:::b1", owner), Allowed, "statement 0 allows it"},
		{"wire34_sqs.json", ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", q1, "arn:aws:s3:::b1", stranger), ImplicitDeny, ""},
		{"wire34_sqs.json", ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", q1, "arn:aws:s3:::b10", owner), ImplicitDeny, ""},
		{"wire34_sqs.json", Request{Action: "sqs:SendMessage", Resource: q1}, ImplicitDeny, "statement 0 does not allow principal anonymous"},
	}
	for _, tc := range tests {
		t.Run(tc.file+" "+tc.req.Caller.String()+" "+tc.req.Action, func(t *testing.T) {
			p := readTestdata(t, tc.file)
			got := p.Evaluate(tc.req)
			if got.Decision != tc.want {
				t.Fatalf("Evaluate(%+v) = %v (%s), want %v", tc.req, got.Decision, got.Reason, tc.want)
			}
			if tc.wantReason != "" && got.Reason != tc.wantReason {
				t.Fatalf("reason %q, want %q", got.Reason, tc.wantReason)
			}
			if got.Reason == "" {
				t.Fatalf("empty reason for %v", got.Decision)
			}
		})
	}
}

func TestExplicitDenyWins(t *testing.T) {
	p := mustParse(t, `{"Statement":[
	 {"Sid":"all","Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
	 {"Sid":"nos3","Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*",
	  "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::blocked*"}}}]}`)
	q := "arn:aws:sqs:us-east-1:000000000000:q"
	got := p.Evaluate(ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", q, "arn:aws:s3:::blocked-1", ""))
	if got.Decision != ExplicitDeny || got.Statement != 1 || got.Sid != "nos3" || got.Reason != "statement 1 (Sid nos3) denies it" {
		t.Fatalf("got %+v, want explicit deny by statement 1", got)
	}
	got = p.Evaluate(ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", q, "arn:aws:s3:::open", ""))
	if got.Decision != Allowed || got.Statement != 0 {
		t.Fatalf("got %+v, want allow by statement 0", got)
	}
	// A Deny that matches is not overridden by a later Allow either.
	p2 := mustParse(t, `{"Statement":[
	 {"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"},
	 {"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)
	if got := p2.Evaluate(Request{Action: "sqs:SendMessage", Resource: q}); got.Decision != ExplicitDeny {
		t.Fatalf("got %+v, want explicit deny", got)
	}
}

func TestNotElements(t *testing.T) {
	q := "arn:aws:sqs:us-east-1:000000000000:q"
	p := mustParse(t, `{"Statement":[
	 {"Sid":"notaction","Effect":"Allow","Principal":"*","NotAction":"sqs:Delete*","Resource":"*"},
	 {"Sid":"notresource","Effect":"Deny","Principal":"*","Action":"*","NotResource":"arn:aws:sqs:*:*:q*"},
	 {"Sid":"notprincipal","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sqs:PurgeQueue","Resource":"*"}]}`)
	tests := []struct {
		name string
		req  Request
		want Decision
	}{
		{"not action allows others", Request{Action: "sqs:SendMessage", Resource: q}, Allowed},
		{"not action excludes", Request{Action: "sqs:DeleteMessage", Resource: q}, ImplicitDeny},
		{"not resource denies other resources", Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:x"}, ExplicitDeny},
		{"not principal denies outsiders", Request{Caller: Caller{Account: "111122223333"}, Action: "sqs:PurgeQueue", Resource: q}, ExplicitDeny},
		{"not principal spares the account", Request{Caller: Caller{ARN: "arn:aws:iam::000000000000:user/admin"}, Action: "sqs:PurgeQueue", Resource: q}, Allowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Evaluate(tc.req); got.Decision != tc.want {
				t.Fatalf("Evaluate(%+v) = %+v, want %v", tc.req, got, tc.want)
			}
		})
	}
}

func TestPrincipals(t *testing.T) {
	const acct, other = "123456789012", "111122223333"
	tests := []struct {
		principal string
		caller    Caller
		want      bool
	}{
		{`"*"`, Caller{}, true},
		{`"*"`, Caller{Service: "s3.amazonaws.com"}, true},
		{`{"AWS":"*"}`, Caller{}, true},
		{`{"AWS":"*"}`, Caller{Service: "sns.amazonaws.com"}, true},
		{`{"Service":"s3.amazonaws.com"}`, Caller{Service: "s3.amazonaws.com"}, true},
		{`{"Service":["sns.amazonaws.com","s3.amazonaws.com"]}`, Caller{Service: "s3.amazonaws.com"}, true},
		{`{"Service":"s3.amazonaws.com"}`, Caller{Service: "sns.amazonaws.com"}, false},
		{`{"Service":"s3.amazonaws.com"}`, Caller{}, false},
		{`{"Service":"s3.amazonaws.com"}`, Caller{ARN: "arn:aws:iam::123456789012:root"}, false},
		{`{"AWS":"123456789012"}`, Caller{ARN: "arn:aws:iam::123456789012:user/u"}, true},
		{`{"AWS":"123456789012"}`, Caller{Account: acct}, true},
		{`{"AWS":"123456789012"}`, Caller{Account: other}, false},
		{`{"AWS":"123456789012"}`, Caller{}, false},
		{`{"AWS":"123456789012"}`, Caller{Service: "s3.amazonaws.com", Account: acct}, false},
		{`{"AWS":"arn:aws:iam::123456789012:root"}`, Caller{ARN: "arn:aws:sts::123456789012:assumed-role/r/s"}, true},
		{`{"AWS":"arn:aws:iam::123456789012:root"}`, Caller{ARN: "arn:aws:iam::111122223333:root"}, false},
		{`{"AWS":"arn:aws:iam::123456789012:user/u"}`, Caller{ARN: "arn:aws:iam::123456789012:user/u"}, true},
		{`{"AWS":"arn:aws:iam::123456789012:user/u"}`, Caller{ARN: "arn:aws:iam::123456789012:user/v"}, false},
		{`{"AWS":"arn:aws:iam::123456789012:role/path/r"}`, Caller{ARN: "arn:aws:sts::123456789012:assumed-role/r/session"}, true},
		{`{"AWS":"arn:aws:iam::123456789012:role/r"}`, Caller{ARN: "arn:aws:sts::111122223333:assumed-role/r/session"}, false},
		{`{"AWS":"arn:aws:iam::123456789012:role/r"}`, Caller{ARN: "arn:aws:sts::123456789012:assumed-role/r2/session"}, false},
		{`{"AWS":["111122223333","arn:aws:iam::123456789012:root"]}`, Caller{Account: acct}, true},
		{`{"Federated":"cognito-identity.amazonaws.com"}`, Caller{Service: "cognito-identity.amazonaws.com"}, false},
	}
	for _, tc := range tests {
		doc := `{"Statement":{"Effect":"Allow","Principal":` + tc.principal + `,"Action":"*","Resource":"*"}}`
		p := mustParse(t, doc)
		got := p.Evaluate(Request{Caller: tc.caller, Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:123456789012:q"})
		if got.Allowed() != tc.want {
			t.Errorf("principal %s, caller %+v: allowed=%v (%s), want %v", tc.principal, tc.caller, got.Allowed(), got.Reason, tc.want)
		}
	}
}

func TestActionAndResourceMatching(t *testing.T) {
	tests := []struct {
		action, resource  string // patterns in the policy
		reqAction, reqRes string
		want              bool
	}{
		{"sqs:SendMessage", "*", "SQS:sendmessage", "arn:aws:sqs:us-east-1:1:q", true},
		{"SQS:*", "*", "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", true},
		{"*", "*", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:f", true},
		{"sqs:Send*", "*", "sqs:SendMessageBatch", "x", true},
		{"sqs:Send?essage", "*", "sqs:SendMessage", "x", true},
		{"sqs:Send?essage", "*", "sqs:SendMessageBatch", "x", false},
		{"sns:Publish", "*", "sqs:Publish", "x", false},
		{"lambda:*", "arn:aws:lambda:us-east-1:000000000000:function:fn", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:000000000000:function:fn", true},
		{"lambda:*", "arn:aws:lambda:us-east-1:000000000000:function:*", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:000000000000:function:fn:prod", true},
		{"lambda:*", "arn:aws:lambda:us-east-1:000000000000:function:fn", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:000000000000:function:fn:prod", false},
		{"sqs:*", "arn:aws:sqs:*:*:q?", "sqs:SendMessage", "arn:aws:sqs:eu-west-1:000000000000:q1", true},
		{"sqs:*", "arn:aws:sqs:*:*:q?", "sqs:SendMessage", "arn:aws:sqs:eu-west-1:000000000000:q12", false},
		// '*' stays within its section: it cannot eat the colons of region and account.
		{"sqs:*", "arn:aws:sqs:*:q1", "sqs:SendMessage", "arn:aws:sqs:eu-west-1:000000000000:q1", false},
		{"sqs:*", "arn:aws:SQS:*:*:q1", "sqs:SendMessage", "arn:aws:sqs:eu-west-1:000000000000:q1", false},
	}
	for _, tc := range tests {
		p := &Policy{Statements: []Statement{{Effect: Allow, Principal: &Principal{Any: true}, Action: One(tc.action), Resource: One(tc.resource)}}}
		got := p.Evaluate(Request{Action: tc.reqAction, Resource: tc.reqRes})
		if got.Allowed() != tc.want {
			t.Errorf("Action %q Resource %q vs %q %q: allowed=%v (%s), want %v", tc.action, tc.resource, tc.reqAction, tc.reqRes, got.Allowed(), got.Reason, tc.want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "anything:at/all", true},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"?", "é", true},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b", "xxaxxbxxc", false},
		{"a**b", "ab", true},
		{"abc", "ABC", false},
		{"photos/*", "photos/", true},
	}
	for _, tc := range tests {
		if got := glob(tc.p, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestClosestStatementExplains(t *testing.T) {
	p := mustParse(t, `{"Statement":[
	 {"Sid":"wrongprincipal","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"*","Resource":"*"},
	 {"Sid":"wrongcond","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*",
	  "Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"},"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:*:other"}}},
	 {"Sid":"wrongaction","Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"},
	 {"Sid":"deny","Effect":"Deny","Principal":"*","Action":"sqs:DeleteQueue","Resource":"*"}]}`)
	got := p.Evaluate(ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", "arn:aws:s3:::photos", "111122223333"))
	want := "statement 1 (Sid wrongcond): condition ArnLike aws:SourceArn arn:aws:s3:*:*:other does not match arn:aws:s3:::photos"
	if got.Decision != ImplicitDeny || got.Statement != 1 || got.Sid != "wrongcond" || got.Reason != want {
		t.Fatalf("got %+v, want implicit deny with reason %q", got, want)
	}
	empty := mustParse(t, `{"Statement":[]}`)
	if got := empty.Evaluate(Request{}); got.Decision != ImplicitDeny || got.Reason != "the policy has no statements" || got.Statement != -1 {
		t.Fatalf("empty policy: %+v", got)
	}
	denyOnly := mustParse(t, `{"Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:sqs:*:*:other"}}`)
	if got := denyOnly.Evaluate(Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:1:q"}); got.Decision != ImplicitDeny || got.Reason != "the policy has no Allow statement" {
		t.Fatalf("deny-only policy: %+v", got)
	}
	var none *Policy
	if got := none.Evaluate(Request{}); got.Decision != ImplicitDeny || !strings.Contains(got.Reason, "no resource policy") {
		t.Fatalf("nil policy: %+v", got)
	}
}

// TestMissingResourceElement: a statement without Resource applies to the
// resource the policy is attached to.
func TestMissingResourceElement(t *testing.T) {
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}}`)
	if got := p.Evaluate(Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:1:q"}); !got.Allowed() {
		t.Fatalf("got %+v, want allowed", got)
	}
}
