package policy

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, refuses with typed errors only,
// and that whatever it accepts survives Marshal: Parse(Marshal(p)) equals p
// and marshals to the same bytes. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc, Limits{})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse(%q): untyped error %v", doc, err)
			}
			return
		}
		m := p.Marshal()
		q, err := Parse(m, Limits{})
		if err != nil {
			t.Fatalf("Parse(Marshal(p)) of %q: %v\nmarshalled: %s", doc, err, m)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip of %q changed the policy:\n%#v\n%#v", doc, p, q)
		}
		if m2 := q.Marshal(); !bytes.Equal(m, m2) {
			t.Fatalf("Marshal not stable:\n%s\n%s", m, m2)
		}
		// Evaluation must not panic on anything Parse accepts.
		p.Evaluate(ServiceRequest("s3.amazonaws.com", "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q", "arn:aws:s3:::b", "123456789012"))
		p.Evaluate(Request{Caller: Caller{ARN: "arn:aws:sts::123456789012:assumed-role/r/s"}, Action: "x:y", Resource: "arn:aws:s3:::b/k",
			Context: map[string][]string{"k": {"10", "2026-01-01", "10.0.0.1", "true"}}})
	})
}
