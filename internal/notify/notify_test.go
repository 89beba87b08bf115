package notify

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"sluice/internal/event"
	"sluice/internal/policy"
)

func seq(prefix string) func() string {
	n := 0
	return func() string { n++; return prefix + string(rune('0'+n)) }
}

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeDestinations answers from a table; anything else does not exist.
type fakeDestinations struct {
	verdicts map[string]Verdict
	err      error
	calls    []string
}

func (f *fakeDestinations) Check(_ context.Context, kind Kind, dest, bucket string) (Verdict, error) {
	f.calls = append(f.calls, kind.String()+" "+dest+" "+bucket)
	if f.err != nil {
		return Verdict{}, f.err
	}
	if v, ok := f.verdicts[dest]; ok {
		return v, nil
	}
	return Verdict{Status: Missing, Reason: "no such " + kind.String()}, nil
}

func decodeValidate(t *testing.T, body []byte, opts ValidateOptions) (*Configuration, *Report, error) {
	t.Helper()
	c, err := Decode(body, DecodeOptions{NewID: seq("gen")})
	if err != nil {
		return nil, nil, err
	}
	rep, err := Validate(context.Background(), c, opts)
	return c, rep, err
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *notify.Error", err, err)
	}
	return e
}

// TestSeed003 runs every example of seed 003. They name foreign ARNs, so
// they run with skip-destination-validation (and once more with real
// destinations for the valid ones).
func TestSeed003(t *testing.T) {
	cases := []struct {
		file    string
		wantErr *Error // nil: valid
	}{
		{"valid1-prefix-and-suffix", nil},
		{"valid2-distinct-prefixes", nil},
		{"valid3-distinct-suffixes", nil},
		{"valid4-same-prefix-distinct-suffixes", nil},
		{"invalid1-root-prefix", &Error{Code: CodeInvalidArgument, Message: msgOverlap, ArgumentName: "Event", ArgumentValue: "s3:ObjectCreated:*, s3:ObjectCreated:*"}},
		{"invalid2-suffixes", &Error{Code: CodeInvalidArgument, Message: msgOverlap, ArgumentName: "Event", ArgumentValue: "s3:ObjectCreated:*, s3:ObjectCreated:Put"}},
		// ARN syntax is checked before overlap, so the typo wins.
		{"invalid3-prefix-and-suffix-typo-arn", &Error{Code: CodeInvalidArgument, Message: "The ARN could not be parsed", ArgumentName: "Topic", ArgumentValue: "arn:aws:snsus-west-2:444455556666:sns-topic-two"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, _, err := decodeValidate(t, readSeed(t, tc.file), ValidateOptions{Bucket: "b", SkipDestinationValidation: true})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("valid example refused: %v", err)
				}
				return
			}
			if got := asError(t, err); !reflect.DeepEqual(got, tc.wantErr) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.wantErr)
			}
		})
	}
	t.Run("invalid3 with the typo fixed is an overlap", func(t *testing.T) {
		body := strings.Replace(string(readSeed(t, "invalid3-prefix-and-suffix-typo-arn")), "arn:aws:snsus-west-2", "arn:aws:sns:us-west-2", 1)
		_, _, err := decodeValidate(t, []byte(body), ValidateOptions{Bucket: "b", SkipDestinationValidation: true})
		if e := asError(t, err); e.Message != msgOverlap || e.ArgumentValue != "s3:ObjectCreated:*, s3:ObjectCreated:Put" {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("invalid2 as printed (unclosed root tag) is MalformedXML", func(t *testing.T) {
		body := strings.TrimRight(string(readSeed(t, "invalid2-suffixes")), ">\n")
		if _, err := Decode([]byte(body), DecodeOptions{}); asError(t, err).Code != CodeMalformedXML {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("valid examples with real destinations", func(t *testing.T) {
		for _, f := range []string{"valid1-prefix-and-suffix", "valid2-distinct-prefixes"} {
			c, err := Decode(readSeed(t, f), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dests := &fakeDestinations{verdicts: map[string]Verdict{}}
			for _, r := range c.Rules {
				dests.verdicts[r.ARN] = Verdict{Status: Deliverable}
			}
			if _, err := Validate(context.Background(), c, ValidateOptions{Bucket: "b", Destinations: dests}); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		// The function examples name "arn:aws:lambda:...:cloud-function-A"
		// (no "function:"), which parses as an ARN but cannot name a
		// function: without skip it is refused as AWS refuses a missing one.
		_, _, err := decodeValidate(t, readSeed(t, "valid3-distinct-suffixes"), ValidateOptions{Bucket: "b", Destinations: &fakeDestinations{}})
		e := asError(t, err)
		if e.Message != msgDestinations || len(e.Arguments) != 2 ||
			e.Arguments[0].Name != "arn:aws:lambda:us-west-2:444455556666:cloud-function-A, null" ||
			!strings.HasPrefix(e.Arguments[0].Value, "Not authorized to invoke function [arn:aws:lambda:us-west-2:444455556666:cloud-function-A]: not a function ARN") {
			t.Fatalf("got %+v", e)
		}
	})
}

func TestValidateOrderAndMessages(t *testing.T) {
	q := func(inner string) string {
		return `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + inner + `</NotificationConfiguration>`
	}
	queue := func(arnv, events, filter string) string {
		return `<QueueConfiguration><Queue>` + arnv + `</Queue>` + events + filter + `</QueueConfiguration>`
	}
	const okARN = "arn:aws:sqs:us-east-1:111111111111:q"
	ev := func(names ...string) string {
		s := ""
		for _, n := range names {
			s += "<Event>" + n + "</Event>"
		}
		return s
	}
	filter := func(rules ...[2]string) string {
		s := "<Filter><S3Key>"
		for _, r := range rules {
			s += "<FilterRule><Name>" + r[0] + "</Name><Value>" + r[1] + "</Value></FilterRule>"
		}
		return s + "</S3Key></Filter>"
	}
	cases := []struct {
		name, body string
		want       *Error
	}{
		{"not xml", "not xml", malformed()},
		{"empty body", "", malformed()},
		{"wrong root", `<Foo/>`, malformed()},
		{"wrong namespace", `<NotificationConfiguration xmlns="urn:x"/>`, malformed()},
		{"trailing element", q("") + "<x/>", malformed()},
		{"queue without Queue", q(`<QueueConfiguration>` + ev("s3:ObjectCreated:*") + `</QueueConfiguration>`), malformed()},
		{"queue without Event", q(queue(okARN, "", "")), malformed()},
		{"topic element in a queue", q(`<QueueConfiguration><Queue>` + okARN + `</Queue><Topic>x</Topic>` + ev("s3:ObjectCreated:*") + `</QueueConfiguration>`), malformed()},
		{"two filters", q(queue(okARN, ev("s3:ObjectCreated:*"), filter([2]string{"prefix", "a"})+filter([2]string{"suffix", "b"}))), malformed()},
		{"filter rule without name", q(queue(okARN, ev("s3:ObjectCreated:*"), "<Filter><S3Key><FilterRule><Value>a</Value></FilterRule></S3Key></Filter>")), malformed()},
		{"unknown event", q(queue(okARN, ev("s3:ObjectCreated:*", "s3:ObjectCreated:Bogus"), "")),
			invalid(msgUnknownEvent, "Event", "s3:ObjectCreated:Bogus")},
		{"event name case matters", q(queue(okARN, ev("s3:objectcreated:put"), "")),
			invalid(msgUnknownEvent, "Event", "s3:objectcreated:put")},
		{"unknown event beats bad filter and bad ARN", q(queue("invalid", ev("s3:Nope"), filter([2]string{"INVALID", "x"}))),
			invalid(msgUnknownEvent, "Event", "s3:Nope")},
		{"bad filter rule name (AWS-recorded)", q(queue(okARN, ev("s3:ObjectCreated:*"), filter([2]string{"INVALID", "x"}))),
			invalid(msgFilterRuleName, "FilterRule.Name", "INVALID")},
		{"bad filter beats bad ARN", q(queue("invalid", ev("s3:ObjectCreated:*"), filter([2]string{"glob", "x"}))),
			invalid(msgFilterRuleName, "FilterRule.Name", "glob")},
		{"two prefixes", q(queue(okARN, ev("s3:ObjectCreated:*"), filter([2]string{"prefix", "a"}, [2]string{"Prefix", "b"}))),
			invalid(msgTwoPrefixes, "FilterRule.Name", "Prefix")},
		{"two suffixes", q(queue(okARN, ev("s3:ObjectCreated:*"), filter([2]string{"SUFFIX", "a"}, [2]string{"suffix", "b"}))),
			invalid(msgTwoSuffixes, "FilterRule.Name", "suffix")},
		{"filter value too long", q(queue(okARN, ev("s3:ObjectCreated:*"), filter([2]string{"prefix", strings.Repeat("é", 513)}))),
			invalid(msgFilterValueLength, "FilterRule.Value", strings.Repeat("é", 513))},
		{"unparseable queue ARN (AWS-recorded)", q(queue("invalid-queue", ev("s3:ObjectCreated:*"), "")),
			invalid(msgUnparseableARN, "Queue", "invalid-queue")},
		{"first of two bad ARNs only (AWS-recorded)", q(queue("invalid_arn", ev("s3:ObjectCreated:Put"), "") + queue("invalid_arn_2", ev("s3:ObjectRemoved:*"), "")),
			invalid(msgUnparseableARN, "Queue", "invalid_arn")},
		{"bad function ARN", q(`<CloudFunctionConfiguration><CloudFunction>fn</CloudFunction>` + ev("s3:ObjectCreated:*") + `</CloudFunctionConfiguration>`),
			invalid(msgUnparseableARN, "CloudFunction", "fn")},
		{"bad ARN beats overlap", q(queue(okARN, ev("s3:ObjectCreated:*"), "") + queue("bad", ev("s3:ObjectCreated:*"), "")),
			invalid(msgUnparseableARN, "Queue", "bad")},
		{"same events without filters overlap", q(queue(okARN, ev("s3:ObjectRemoved:*"), "") + queue(okARN, ev("s3:ObjectRemoved:*"), "")),
			invalid(msgOverlap, "Event", "s3:ObjectRemoved:*, s3:ObjectRemoved:*")},
		{"prefix-only vs suffix-only overlap", q(queue(okARN, ev("s3:ObjectCreated:Put"), filter([2]string{"prefix", "a/"})) + queue(okARN, ev("s3:ObjectCreated:*"), filter([2]string{"suffix", ".jpg"}))),
			invalid(msgOverlap, "Event", "s3:ObjectCreated:Put, s3:ObjectCreated:*")},
		{"overlap across kinds", q(`<TopicConfiguration><Topic>arn:aws:sns:us-east-1:111111111111:t</Topic>` + ev("s3:ObjectTagging:Put") + `</TopicConfiguration>` + queue(okARN, ev("s3:ObjectTagging:*"), "")),
			invalid(msgOverlap, "Event", "s3:ObjectTagging:Put, s3:ObjectTagging:*")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeValidate(t, []byte(tc.body), ValidateOptions{Bucket: "b", SkipDestinationValidation: true})
			if got := asError(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("body %s\n got %+v\nwant %+v", tc.body, got, tc.want)
			}
		})
	}
}

func TestValidAmbiguityAllowed(t *testing.T) {
	rule := func(events []event.Name, filter ...FilterRule) Rule {
		return Rule{ID: "x", Kind: event.Queue, ARN: "arn:aws:sqs:us-east-1:111111111111:q", Events: events, Filter: filter}
	}
	put := []event.Name{event.ObjectCreatedPut}
	cases := []struct {
		name string
		a, b Rule
	}{
		{"different event types, same filter", rule(put), rule([]event.Name{event.ObjectRemovedAll})},
		{"created wildcard vs removed", rule([]event.Name{event.ObjectCreatedAll}), rule([]event.Name{event.ObjectRemovedDelete})},
		{"put vs post", rule(put), rule([]event.Name{event.ObjectCreatedPost})},
		{"overlapping prefixes, disjoint suffixes", rule(put, FilterRule{"Prefix", "img"}, FilterRule{"Suffix", ".jpg"}), rule(put, FilterRule{"Prefix", "img/"}, FilterRule{"Suffix", ".png"})},
		{"disjoint prefixes, no suffixes", rule(put, FilterRule{"Prefix", "a/"}), rule(put, FilterRule{"Prefix", "b/"})},
		{"prefixes are literal, not globs", rule(put, FilterRule{"Prefix", "a*"}), rule(put, FilterRule{"Prefix", "ab"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if x, y, ok := Overlap(&tc.a, &tc.b); ok {
				t.Fatalf("Overlap = %s, %s; want none", x, y)
			}
			c := &Configuration{Rules: []Rule{tc.a, tc.b}}
			if _, err := Validate(context.Background(), c, ValidateOptions{Bucket: "b", SkipDestinationValidation: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDestinationCheck(t *testing.T) {
	const (
		q1 = "arn:aws:sqs:us-east-1:111111111111:my-queue"
		q2 = "arn:aws:sqs:us-east-1:111111111111:my-queue-2"
		t1 = "arn:aws:sns:us-east-1:111111111111:t1"
		f1 = "arn:aws:lambda:us-east-1:111111111111:function:my-lambda"
	)
	c := &Configuration{Rules: []Rule{
		{ID: "t", Kind: event.Topic, ARN: t1, Events: []event.Name{event.ObjectCreatedPut}},
		{ID: "a", Kind: event.Queue, ARN: q1, Events: []event.Name{event.ObjectRemovedAll}},
		{ID: "b", Kind: event.Queue, ARN: q2, Events: []event.Name{event.ObjectTaggingAll}},
		{ID: "c", Kind: event.Queue, ARN: q1, Events: []event.Name{event.ObjectAclPut}}, // same queue again: checked once
		{ID: "f", Kind: event.Function, ARN: f1, Events: []event.Name{event.ObjectCreatedPost}},
	}}
	dests := &fakeDestinations{verdicts: map[string]Verdict{
		t1: {Status: Refused, Reason: "statement 0 (Sid s3): condition ArnLike aws:SourceArn arn:aws:s3:*:*:other does not match arn:aws:s3:::b"},
		q2: {Status: Deliverable},
	}}
	rep, err := Validate(context.Background(), c, ValidateOptions{Bucket: "b", Destinations: dests})
	want := &Error{Code: CodeInvalidArgument, Message: "Unable to validate the following destination configurations", Arguments: []Argument{
		{t1, "Permissions on the destination topic do not allow S3 to publish notifications from this bucket: statement 0 (Sid s3): condition ArnLike aws:SourceArn arn:aws:s3:*:*:other does not match arn:aws:s3:::b"},
		{q1, "The destination queue does not exist: no such queue"},
		{f1 + ", null", "Not authorized to invoke function [" + f1 + "]: no such function"},
	}}
	if got := asError(t, err); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if len(dests.calls) != 4 {
		t.Fatalf("Check called %d times (%v), want 4 (one per distinct destination)", len(dests.calls), dests.calls)
	}
	if dests.calls[1] != "queue "+q1+" b" {
		t.Fatalf("Check got %q", dests.calls[1])
	}
	// The report is returned even on failure; test targets are the queues
	// and topics that exist.
	if got := TestTargets(c, rep); !reflect.DeepEqual(got, []Target{{Kind: event.Topic, ARN: t1}, {Kind: event.Queue, ARN: q2}}) {
		t.Fatalf("TestTargets = %+v", got)
	}

	// Skip: same checks, no error; the report still tells which exist.
	dests.calls = nil
	rep, err = Validate(context.Background(), c, ValidateOptions{Bucket: "b", Destinations: dests, SkipDestinationValidation: true})
	if err != nil {
		t.Fatalf("skip: %v", err)
	}
	if !rep.Exists(event.Queue, q2) || rep.Exists(event.Queue, q1) || !rep.Exists(event.Topic, t1) || rep.Exists(event.Function, f1) {
		t.Fatalf("report: %+v", rep)
	}
	if v, ok := rep.Verdict(event.Topic, t1); !ok || v.Status != Refused {
		t.Fatalf("Verdict(topic) = %+v, %v", v, ok)
	}

	// A storage failure in Check is returned as is, not as an AWS error.
	boom := errors.New("disk on fire")
	_, err = Validate(context.Background(), c, ValidateOptions{Bucket: "b", Destinations: &fakeDestinations{err: boom}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}

	// No Destinations: nothing exists.
	_, err = Validate(context.Background(), &Configuration{Rules: c.Rules[1:2]}, ValidateOptions{Bucket: "b"})
	if e := asError(t, err); len(e.Arguments) != 1 || !strings.HasPrefix(e.Arguments[0].Value, "The destination queue does not exist") {
		t.Fatalf("got %+v", e)
	}

	// An ARN of another service in a Queue element parses, so it is a
	// destination that does not exist; Check is not asked.
	dests.calls = nil
	_, err = Validate(context.Background(), &Configuration{Rules: []Rule{{ID: "x", Kind: event.Queue, ARN: t1, Events: []event.Name{event.ObjectCreatedPut}}}},
		ValidateOptions{Bucket: "b", Destinations: dests})
	if e := asError(t, err); len(e.Arguments) != 1 || !strings.HasPrefix(e.Arguments[0].Value, "The destination queue does not exist: not a queue ARN") || len(dests.calls) != 0 {
		t.Fatalf("got %+v, calls %v", e, dests.calls)
	}
}

func TestPolicyVerdict(t *testing.T) {
	const qarn = "arn:aws:sqs:us-east-1:000000000000:q1"
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},
	 "Action":"SQS:SendMessage","Resource":"` + qarn + `","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:*:b1"}}}]}`
	p, err := policy.Parse([]byte(doc), policy.SQSLimits())
	if err != nil {
		t.Fatal(err)
	}
	if v := PolicyVerdict(p, event.Queue, qarn, "b1", "000000000000"); v.Status != Deliverable {
		t.Fatalf("allowed bucket: %+v", v)
	}
	v := PolicyVerdict(p, event.Queue, qarn, "other", "000000000000")
	if v.Status != Refused || !strings.Contains(v.Reason, "aws:SourceArn") {
		t.Fatalf("other bucket: %+v", v)
	}
	if v := PolicyVerdict(nil, event.Queue, qarn, "b1", ""); v.Status != Refused || !strings.Contains(v.Reason, "no resource policy") {
		t.Fatalf("nil policy: %+v", v)
	}
	// The action follows the kind: an SQS grant does not allow a topic.
	if v := PolicyVerdict(p, event.Topic, qarn, "b1", ""); v.Status != Refused {
		t.Fatalf("sns:Publish allowed by an SQS statement: %+v", v)
	}
}

func TestMatch(t *testing.T) {
	c := &Configuration{Rules: []Rule{
		{ID: "jpg", Kind: event.Topic, ARN: "T", Events: []event.Name{event.ObjectCreatedAll}, Filter: []FilterRule{{"Prefix", "images/"}, {"Suffix", ".jpg"}}},
		{ID: "star", Kind: event.Queue, ARN: "Q", Events: []event.Name{event.ObjectCreatedPut}, Filter: []FilterRule{{"Prefix", "logs/*"}}},
		{ID: "rm", Kind: event.Queue, ARN: "Q", Events: []event.Name{event.ObjectRemovedDelete, event.ObjectTaggingAll}},
		{ID: "all", Kind: event.Function, ARN: "F", Events: []event.Name{event.ObjectCreatedCopy}},
	}}
	cases := []struct {
		name event.Name
		key  string
		want []string
	}{
		{event.ObjectCreatedPut, "images/a.jpg", []string{"jpg"}},
		{event.ObjectCreatedCompleteMultipartUpload, "images/a.jpg", []string{"jpg"}},
		{event.ObjectCreatedPut, "images/a.JPG", nil}, // case-sensitive
		{event.ObjectCreatedPut, "images/.jpg", []string{"jpg"}},
		{event.ObjectCreatedPut, "images.jpg", nil},          // prefix and suffix must both hold
		{event.ObjectCreatedPut, "x/images/a.jpg", nil},      // prefix, not substring
		{event.ObjectCreatedPut, "logs/*", []string{"star"}}, // '*' literal
		{event.ObjectCreatedPut, "logs/*x", []string{"star"}},
		{event.ObjectCreatedPut, "logs/x", nil}, // '*' is not a glob
		{event.ObjectCreatedPost, "logs/*x", nil},
		{event.ObjectRemovedDelete, "anything", []string{"rm"}},
		{event.ObjectRemovedDeleteMarkerCreated, "anything", nil},
		{event.ObjectTaggingDelete, "k", []string{"rm"}},
		{event.ObjectCreatedCopy, "images/b.jpg", []string{"jpg", "all"}},
		{event.ObjectAclPut, "images/b.jpg", nil},
	}
	for _, tc := range cases {
		var got []string
		for _, tg := range Match(c, tc.name, tc.key) {
			got = append(got, tg.ConfigurationID)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Match(%s, %q) = %v, want %v", tc.name, tc.key, got, tc.want)
		}
	}
	if got := Match(nil, event.ObjectCreatedPut, "k"); got != nil {
		t.Errorf("Match(nil) = %v", got)
	}
	// The target carries what the record and the enqueue need.
	if got := Match(c, event.ObjectCreatedCopy, "z"); !reflect.DeepEqual(got, []Target{{ConfigurationID: "all", Kind: event.Function, ARN: "F"}}) {
		t.Errorf("Match target = %+v", got)
	}
}

var readFile = os.ReadFile
