package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMalformed(t *testing.T) {
	const ok = `"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"`
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `{`, "invalid JSON"},
		{"trailing data", `{"Statement":[]} {}`, "data after the top-level object"},
		{"array document", `[]`, "not a JSON object"},
		{"missing statement", `{"Version":"2012-10-17"}`, "missing Statement"},
		{"statement is a string", `{"Statement":"x"}`, "Statement must be an object or an array"},
		{"statement element not object", `{"Statement":[1]}`, "statement 0: statement is not a JSON object"},
		{"bad version", `{"Version":"2012-10-18","Statement":[]}`, `invalid Version "2012-10-18"`},
		{"unknown top element", `{"Statement":[],"Extra":1}`, `unknown element "Extra"`},
		{"lower-case element name", `{"statement":[]}`, `unknown element "statement"`},
		{"lower-case statement element", `{"Statement":{"effect":"Allow"}}`, `statement 0: unknown element "effect"`},
		{"lower-case effect", `{"Statement":{"Effect":"allow","Principal":"*","Action":"*"}}`, `invalid Effect "allow"`},
		{"missing effect", `{"Statement":{"Principal":"*","Action":"*"}}`, "missing Effect"},
		{"missing principal", `{"Statement":{"Effect":"Allow","Action":"*"}}`, "missing Principal"},
		{"both principals", `{"Statement":{` + ok + `,"NotPrincipal":"*"}}`, "both Principal and NotPrincipal"},
		{"missing action", `{"Statement":{"Effect":"Allow","Principal":"*"}}`, "missing Action"},
		{"both actions", `{"Statement":{` + ok + `,"NotAction":"sqs:*"}}`, "both Action and NotAction"},
		{"both resources", `{"Statement":{` + ok + `,"NotResource":"*"}}`, "both Resource and NotResource"},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"SendMessage"}}`, "prefaced by a vendor"},
		{"empty action list", `{"Statement":{"Effect":"Allow","Principal":"*","Action":[]}}`, "Action is an empty array"},
		{"action number", `{"Statement":{"Effect":"Allow","Principal":"*","Action":[1]}}`, "Action must hold strings"},
		{"placeholder resource from the docs", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sns:Publish","Resource":"SNS-ARN"}}`, `Resource "SNS-ARN" must be in ARN format`},
		{"string principal", `{"Statement":{"Effect":"Allow","Principal":"s3.amazonaws.com","Action":"*"}}`, "invalid principal in policy"},
		{"bad AWS principal", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"*"}}`, `invalid principal in policy: "AWS":"bob"`},
		{"AWS principal of another service", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:sqs:us-east-1:123456789012:q"},"Action":"*"}}`, "invalid principal"},
		{"unknown principal type", `{"Statement":{"Effect":"Allow","Principal":{"Aws":"*"},"Action":"*"}}`, `invalid principal type "Aws"`},
		{"empty principal", `{"Statement":{"Effect":"Allow","Principal":{},"Action":"*"}}`, "Principal is an empty object"},
		{"wildcard service", `{"Statement":{"Effect":"Allow","Principal":{"Service":"*"},"Action":"*"}}`, "invalid principal"},
		{"unknown operator", `{"Statement":{` + ok + `,"Condition":{"StringMatches":{"k":"v"}}}}`, `unknown condition operator "StringMatches"`},
		{"null if exists", `{"Statement":{` + ok + `,"Condition":{"NullIfExists":{"k":"true"}}}}`, "Null takes no IfExists"},
		{"condition not object", `{"Statement":{` + ok + `,"Condition":[]}}`, "Condition must be an object"},
		{"condition block not object", `{"Statement":{` + ok + `,"Condition":{"StringEquals":"x"}}}`, "must be an object of keys"},
		{"condition null value", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"k":null}}}}`, "values must be strings, numbers or booleans"},
		{"condition empty array", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"k":[]}}}}`, "empty array"},
		{"numeric not a number", `{"Statement":{` + ok + `,"Condition":{"NumericLessThan":{"k":"ten"}}}}`, `"ten" is not a number`},
		{"bad date", `{"Statement":{` + ok + `,"Condition":{"DateLessThan":{"k":"yesterday"}}}}`, "is not a date"},
		{"bad bool", `{"Statement":{` + ok + `,"Condition":{"Bool":{"k":"yes"}}}}`, "is not true or false"},
		{"bad ip", `{"Statement":{` + ok + `,"Condition":{"IpAddress":{"k":"10.0.0.0/40"}}}}`, "is not an IP address"},
		{"duplicate sid", `{"Statement":[{"Sid":"a",` + ok + `},{"Sid":"a",` + ok + `}]}`, `statement 1: duplicate Sid "a"`},
		{"too deep", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"k":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}}}}`, "nested too deeply"},
		{"invalid utf8", "{\"Id\":\"\xff\",\"Statement\":[]}", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.doc), Limits{})
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want error containing %q", tc.doc, p, tc.want)
			}
			var me *MalformedError
			if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%s) error %T %v, want *MalformedError", tc.doc, err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%s) error %q, want it to contain %q", tc.doc, err, tc.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	st := `{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}`
	doc := `{"Statement":[` + strings.TrimSuffix(strings.Repeat(st+",", 21), ",") + `]}`
	_, err := Parse([]byte(doc), SQSLimits())
	var tl *TooLargeError
	if !errors.As(err, &tl) || !tl.Statements || tl.Size != 21 || tl.Limit != 20 || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("21 statements under SQS limits: %v, want statement TooLargeError", err)
	}
	if _, err := Parse([]byte(doc), SNSLimits()); err != nil {
		t.Fatalf("21 statements under SNS limits: %v", err)
	}
	big := `{"Id":"` + strings.Repeat("x", 8192) + `","Statement":[]}`
	if _, err := Parse([]byte(big), SQSLimits()); !errors.As(err, &tl) || tl.Statements || tl.Size != len(big) || tl.Limit != 8192 {
		t.Fatalf("%d bytes under SQS limits: %v", len(big), err)
	}
	if _, err := Parse([]byte(big), LambdaLimits()); err != nil {
		t.Fatalf("%d bytes under Lambda limits: %v", len(big), err)
	}
	huge := []byte(`{"Id":"` + strings.Repeat("x", DefaultMaxBytes) + `","Statement":[]}`)
	if _, err := Parse(huge, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("zero Limits must still bound the input: %v", err)
	}
	if err := S3Limits().CheckSize(make([]byte, 20<<10)); err != nil {
		t.Fatalf("exactly 20 KiB: %v", err)
	}
	if err := S3Limits().CheckSize(make([]byte, 20<<10+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("20 KiB + 1: %v", err)
	}
}

func TestParseShapes(t *testing.T) {
	p := mustParse(t, `{"Id":"x","Statement":{"Sid":"a","Effect":"Allow","Principal":{"AWS":["123456789012"],"Service":"s3.amazonaws.com"},
	 "Action":["sqs:SendMessage"],"Resource":"*","Condition":{"NumericLessThan":{"k":10},"Bool":{"b":[true,"false"]}}}}`)
	want := &Policy{ID: "x", SingleStatement: true, Statements: []Statement{{
		Sid: "a", Effect: Allow,
		Principal: &Principal{AWS: List("123456789012"), Service: One("s3.amazonaws.com")},
		Action:    List("sqs:SendMessage"), Resource: One("*"),
		Condition: []Condition{
			{Operator: "NumericLessThan", Key: "k", Values: []string{"10"}, literal: []bool{true}},
			{Operator: "Bool", Key: "b", Values: []string{"true", "false"}, Array: true, literal: []bool{true, false}},
		},
	}}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got  %#v\nwant %#v", p, want)
	}
	// A repeated key: the last value wins, as in AWS's JSON parser.
	p = mustParse(t, `{"Statement":{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"*"}}`)
	if p.Statements[0].Effect != Allow {
		t.Fatalf("repeated Effect: got %q, want the last one", p.Statements[0].Effect)
	}
}

// TestMarshalKeepsShapes: documents written in AWS's compact form come back
// byte for byte.
func TestMarshalKeepsShapes(t *testing.T) {
	docs := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`,
		`{"Statement":[{"Sid":"a","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:root"]},"NotAction":["sqs:*"],"NotResource":"arn:aws:sqs:*:*:q"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Condition":{"NumericLessThan":{"k":1.5e3},"Bool":{"b":[true,"false"]},"StringLike":{"s":"<&>"}}}]}`,
	}
	for _, name := range []string{"wire22_lambda.json", "wire34_sqs.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	for _, doc := range docs {
		p := mustParse(t, doc)
		if got := string(p.Marshal()); got != doc {
			t.Errorf("Marshal(Parse(doc)):\n got %s\nwant %s", got, doc)
		}
	}
}

// TestBuildersWriteLambdaShape: the statement AddPermission builds is the
// one aws-wire 2.2 shows, byte for byte.
func TestBuildersWriteLambdaShape(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "wire22_lambda.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := New("default")
	st := NewStatement(Grant{
		Sid: "s3", Principal: "s3.amazonaws.com", Actions: []string{"lambda:InvokeFunction"},
		Resource:  "arn:aws:lambda:us-east-1:000000000000:function:fn",
		SourceArn: "arn:aws:s3:::b1", SourceAccount: "000000000000",
	})
	if err := p.Add(st); err != nil {
		t.Fatal(err)
	}
	if got := string(p.Marshal()); got != string(want) {
		t.Fatalf("built policy:\n got %s\nwant %s", got, want)
	}
	if err := p.Add(st); !errors.Is(err, ErrDuplicateSid) {
		t.Fatalf("second Add with Sid s3: %v, want ErrDuplicateSid", err)
	}
	wantStmt := `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:fn","Condition":{"StringEquals":{"AWS:SourceAccount":"000000000000"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b1"}}}`
	if got := string(st.Marshal()); got != wantStmt {
		t.Fatalf("statement:\n got %s\nwant %s", got, wantStmt)
	}
	if got := p.Evaluate(ServiceRequest("s3.amazonaws.com", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:000000000000:function:fn", "arn:aws:s3:::b1", "000000000000")); !got.Allowed() {
		t.Fatalf("built policy does not allow S3: %s", got.Reason)
	}
	if !p.Remove("s3") || p.Remove("s3") || len(p.Statements) != 0 {
		t.Fatalf("Remove: statements left %d", len(p.Statements))
	}
}

func TestPrincipalFor(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*", `"*"`},
		{"s3.amazonaws.com", `{"Service":"s3.amazonaws.com"}`},
		{"123456789012", `{"AWS":"arn:aws:iam::123456789012:root"}`},
		{"arn:aws:iam::123456789012:role/r", `{"AWS":"arn:aws:iam::123456789012:role/r"}`},
	}
	for _, tc := range tests {
		st := NewStatement(Grant{Principal: tc.in, Actions: []string{"sqs:SendMessage", "sqs:ReceiveMessage"}})
		got := string(st.Marshal())
		want := `{"Effect":"Allow","Principal":` + tc.want + `,"Action":["sqs:SendMessage","sqs:ReceiveMessage"]}`
		if got != want {
			t.Errorf("principal %q:\n got %s\nwant %s", tc.in, got, want)
		}
		if _, err := Parse([]byte(`{"Statement":`+got+`}`), Limits{}); err != nil {
			t.Errorf("built statement does not parse: %v", err)
		}
	}
}
