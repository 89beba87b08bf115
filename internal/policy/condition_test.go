package policy

import (
	"encoding/json"
	"testing"
)

// TestConditionOperators evaluates one condition per case against a request
// context. ctx nil means the key is absent from the request.
func TestConditionOperators(t *testing.T) {
	tests := []struct {
		op     string
		values any // the JSON value in the policy
		ctx    []string
		want   bool
	}{
		{"StringEquals", "abc", []string{"abc"}, true},
		{"StringEquals", "abc", []string{"ABC"}, false},
		{"StringEquals", "a*", []string{"abc"}, false},
		{"StringEquals", []string{"x", "abc"}, []string{"abc"}, true},
		{"StringEquals", "abc", nil, false},
		{"StringNotEquals", "abc", []string{"abd"}, true},
		{"StringNotEquals", "abc", []string{"abc"}, false},
		{"StringNotEquals", []string{"x", "y"}, []string{"y"}, false},
		{"StringNotEquals", "abc", nil, true},
		{"StringEqualsIgnoreCase", "AbC", []string{"aBc"}, true},
		{"StringEqualsIgnoreCase", "AbC", []string{"abd"}, false},
		{"StringNotEqualsIgnoreCase", "AbC", []string{"abc"}, false},
		{"StringNotEqualsIgnoreCase", "AbC", []string{"abd"}, true},
		{"StringLike", "arn:aws:s3:*:*:b?", []string{"arn:aws:s3:::b1"}, true},
		{"StringLike", "photos/*", []string{"photos/a/b"}, true},
		{"StringLike", "Photos/*", []string{"photos/a"}, false},
		{"StringLike", "a*", nil, false},
		{"StringNotLike", "photos/*", []string{"docs/a"}, true},
		{"StringNotLike", "photos/*", []string{"photos/a"}, false},
		{"StringNotLike", "photos/*", nil, true},
		{"ArnLike", "arn:aws:s3:*:*:b1", []string{"arn:aws:s3:::b1"}, true},
		{"ArnLike", "arn:aws:s3:*:*:b1", []string{"arn:aws:s3:::b10"}, false},
		{"ArnLike", "arn:aws:s3:::b*", []string{"arn:aws:s3:::b10"}, true},
		{"ArnLike", "arn:aws:s3:::B1", []string{"arn:aws:s3:::b1"}, false},
		{"ArnLike", "arn:aws:s3:*", []string{"arn:aws:s3:::b1"}, false}, // fewer than six sections
		{"ArnLike", "arn:aws:s3:*:*:b1", []string{"b1"}, false},         // not an ARN
		{"ArnLike", "*", []string{"arn:aws:s3:::b1"}, true},
		{"ArnLike", "arn:aws:sns:*:123456789012:t", []string{"arn:aws:sns:us-east-1:123456789012:t"}, true},
		{"ArnLike", "arn:aws:sns:*:123456789012:t", []string{"arn:aws:sns:us-east-1:111122223333:t"}, false},
		{"ArnEquals", "arn:aws:s3:::b?", []string{"arn:aws:s3:::b1"}, true}, // same test as ArnLike
		{"ArnNotEquals", "arn:aws:s3:::b1", []string{"arn:aws:s3:::b1"}, false},
		{"ArnNotLike", "arn:aws:s3:::b*", []string{"arn:aws:s3:::c"}, true},
		{"ArnNotLike", "arn:aws:s3:::b*", []string{"arn:aws:s3:::b"}, false},
		{"ArnNotLike", "arn:aws:s3:::b*", nil, true},
		{"NumericEquals", "10", []string{"10.0"}, true},
		{"NumericEquals", 10, []string{"11"}, false},
		{"NumericNotEquals", 10, []string{"11"}, true},
		{"NumericLessThan", 10, []string{"9"}, true},
		{"NumericLessThan", 10, []string{"10"}, false},
		{"NumericLessThanEquals", 10, []string{"10"}, true},
		{"NumericGreaterThan", 10, []string{"11"}, true},
		{"NumericGreaterThan", 10, []string{"x"}, false},
		{"NumericGreaterThanEquals", 10, []string{"9"}, false},
		{"DateLessThan", "2026-01-01T00:00:00Z", []string{"2025-12-31T23:59:59Z"}, true},
		{"DateLessThan", "2026-01-01", []string{"2026-01-01T00:00:01Z"}, false},
		{"DateGreaterThanEquals", "1767225600", []string{"2026-01-01T00:00:00Z"}, true},
		{"DateEquals", "2026-01-01T00:00:00Z", []string{"2026-01-01T01:00:00+01:00"}, true},
		{"DateNotEquals", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z"}, true},
		{"DateGreaterThan", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z"}, true},
		{"DateLessThanEquals", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:00Z"}, true},
		{"Bool", true, []string{"true"}, true},
		{"Bool", "true", []string{"false"}, false},
		{"Bool", "false", []string{"FALSE"}, true},
		{"Bool", "true", nil, false},
		{"BinaryEquals", "QmluYXJ5", []string{"QmluYXJ5"}, true},
		{"BinaryEquals", "QmluYXJ5", []string{"QmluYXJ6"}, false},
		{"IpAddress", "10.0.0.0/8", []string{"10.1.2.3"}, true},
		{"IpAddress", "10.0.0.0/8", []string{"11.1.2.3"}, false},
		{"IpAddress", "127.0.0.1", []string{"127.0.0.1"}, true},
		{"IpAddress", "2001:db8::/32", []string{"2001:db8::1"}, true},
		{"IpAddress", "10.0.0.0/8", []string{"not-an-ip"}, false},
		{"NotIpAddress", "10.0.0.0/8", []string{"11.1.2.3"}, true},
		{"NotIpAddress", "10.0.0.0/8", []string{"10.0.0.1"}, false},
		{"Null", "true", nil, true},
		{"Null", "true", []string{"x"}, false},
		{"Null", false, []string{"x"}, true},
		{"Null", "false", nil, false},
		// IfExists: a missing key passes; a present one is tested.
		{"StringEqualsIfExists", "abc", nil, true},
		{"StringEqualsIfExists", "abc", []string{"abd"}, false},
		{"ArnLikeIfExists", "arn:aws:s3:::b1", []string{"arn:aws:s3:::b1"}, true},
		{"StringNotEqualsIfExists", "abc", nil, true},
		// Multi-valued keys.
		{"ForAnyValue:StringEquals", []string{"a", "b"}, []string{"c", "b"}, true},
		{"ForAnyValue:StringEquals", []string{"a", "b"}, []string{"c", "d"}, false},
		{"ForAnyValue:StringEquals", "a", nil, false},
		{"ForAllValues:StringEquals", []string{"a", "b"}, []string{"a", "b"}, true},
		{"ForAllValues:StringEquals", []string{"a", "b"}, []string{"a", "c"}, false},
		{"ForAllValues:StringEquals", "a", nil, true},
		{"ForAnyValue:StringNotEquals", []string{"a"}, []string{"a", "b"}, true},
		{"ForAllValues:StringNotEquals", []string{"a"}, []string{"a", "b"}, false},
		{"ForAllValues:StringLike", "tag-*", []string{"tag-a", "tag-b"}, true},
		{"ForAnyValue:StringLikeIfExists", "tag-*", nil, true},
		// Operator names are matched case-insensitively.
		{"stringequals", "abc", []string{"abc"}, true},
	}
	for _, tc := range tests {
		vals, _ := json.Marshal(tc.values)
		doc := `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"` + tc.op + `":{"Test:Key":` + string(vals) + `}}}}`
		p, err := Parse([]byte(doc), Limits{})
		if err != nil {
			t.Errorf("%s %s: Parse: %v", tc.op, vals, err)
			continue
		}
		req := Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}
		if tc.ctx != nil {
			// Condition keys are case-insensitive: the request spells it differently.
			req.Context = map[string][]string{"test:key": tc.ctx}
		}
		got := p.Evaluate(req)
		if got.Allowed() != tc.want {
			t.Errorf("%s %s against %q: allowed=%v (%s), want %v", tc.op, vals, tc.ctx, got.Allowed(), got.Reason, tc.want)
		}
		if !got.Allowed() && got.Reason == "" {
			t.Errorf("%s: no reason for the deny", tc.op)
		}
	}
}

func TestConditionsAreANDed(t *testing.T) {
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*",
	 "Condition":{"StringEquals":{"aws:SourceAccount":["1","2"],"aws:PrincipalServiceName":"s3.amazonaws.com"},
	              "ArnLike":{"aws:SourceArn":"arn:aws:s3:::b*"}}}}`)
	tests := []struct {
		ctx  map[string][]string
		want bool
	}{
		{map[string][]string{"aws:SourceAccount": {"2"}, "aws:PrincipalServiceName": {"s3.amazonaws.com"}, "aws:SourceArn": {"arn:aws:s3:::b1"}}, true},
		{map[string][]string{"aws:SourceAccount": {"3"}, "aws:PrincipalServiceName": {"s3.amazonaws.com"}, "aws:SourceArn": {"arn:aws:s3:::b1"}}, false},
		{map[string][]string{"aws:SourceAccount": {"1"}, "aws:PrincipalServiceName": {"sns.amazonaws.com"}, "aws:SourceArn": {"arn:aws:s3:::b1"}}, false},
		{map[string][]string{"aws:SourceAccount": {"1"}, "aws:PrincipalServiceName": {"s3.amazonaws.com"}, "aws:SourceArn": {"arn:aws:s3:::c1"}}, false},
		{map[string][]string{"AWS:SOURCEACCOUNT": {"1"}, "aws:principalservicename": {"s3.amazonaws.com"}, "Aws:SourceArn": {"arn:aws:s3:::b"}}, true},
	}
	for _, tc := range tests {
		if got := p.Evaluate(Request{Context: tc.ctx}); got.Allowed() != tc.want {
			t.Errorf("context %v: allowed=%v (%s), want %v", tc.ctx, got.Allowed(), got.Reason, tc.want)
		}
	}
}
