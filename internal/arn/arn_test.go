package arn

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ARN
		err  string // substring of the reason; "" means success
	}{
		{"queue", "arn:aws:sqs:us-west-2:444455556666:s3notificationqueue",
			ARN{"aws", "sqs", "us-west-2", "444455556666", "s3notificationqueue"}, ""},
		{"bucket", "arn:aws:s3:::photos", ARN{"aws", "s3", "", "", "photos"}, ""},
		{"object with slash", "arn:aws:s3:::photos/a/b.jpg", ARN{"aws", "s3", "", "", "photos/a/b.jpg"}, ""},
		{"function with qualifier keeps colons in resource", "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST",
			ARN{"aws", "lambda", "us-east-1", "000000000000", "function:fn:$LATEST"}, ""},
		{"iam root", "arn:aws:iam::123456789012:root", ARN{"aws", "iam", "", "123456789012", "root"}, ""},
		{"other partition", "arn:aws-cn:sns:cn-north-1:123456789012:t", ARN{"aws-cn", "sns", "cn-north-1", "123456789012", "t"}, ""},
		{"wildcards are characters in a pattern ARN", "arn:aws:s3:*:*:bucket-name", ARN{}, "invalid character in region"},
		{"space instead of colon (five sections)", "arn:aws:sqs:us-east-1:444455556666 s3notificationqueue", ARN{}, "not enough sections"},
		{"missing colon after service (seed 003)", "arn:aws:snsus-west-2:444455556666:sns-topic-two", ARN{}, "not enough sections"},
		{"not an arn", "not-an-arn", ARN{}, `does not start with "arn:"`},
		{"empty", "", ARN{}, `does not start with "arn:"`},
		{"upper-case prefix", "ARN:aws:sqs:us-east-1:123456789012:q", ARN{}, `does not start with "arn:"`},
		{"empty partition", "arn::sqs:us-east-1:123456789012:q", ARN{}, "empty partition"},
		{"empty service", "arn:aws::us-east-1:123456789012:q", ARN{}, "empty service"},
		{"empty resource", "arn:aws:sqs:us-east-1:123456789012:", ARN{}, "empty resource"},
		{"upper-case service", "arn:aws:SQS:us-east-1:123456789012:q", ARN{}, "invalid character in service"},
		{"space in resource", "arn:aws:sqs:us-east-1:123456789012:my queue", ARN{}, "whitespace"},
		{"trailing newline", "arn:aws:sqs:us-east-1:123456789012:q\n", ARN{}, "whitespace"},
		{"too long", "arn:aws:s3:::" + strings.Repeat("a", 2100), ARN{}, "longer than 2048"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Parse(%q): unexpected error %v", tc.in, err)
				}
				if got != tc.want {
					t.Fatalf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
				}
				if got.String() != tc.in {
					t.Fatalf("Parse(%q).String() = %q", tc.in, got.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error containing %q", tc.in, got, tc.err)
			}
			if !errors.Is(err, ErrUnparseable) {
				t.Fatalf("Parse(%q) error %v does not match ErrUnparseable", tc.in, err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != tc.in || !strings.Contains(pe.Reason, tc.err) {
				t.Fatalf("Parse(%q) error %v, want ParseError with reason containing %q", tc.in, err, tc.err)
			}
		})
	}
}

func TestBuilders(t *testing.T) {
	tests := []struct {
		got  ARN
		want string
	}{
		{Bucket("photos"), "arn:aws:s3:::photos"},
		{Queue("us-east-1", "000000000000", "q1"), "arn:aws:sqs:us-east-1:000000000000:q1"},
		{Topic("us-east-1", "000000000000", "t1"), "arn:aws:sns:us-east-1:000000000000:t1"},
		{Function("us-east-1", "000000000000", "fn", ""), "arn:aws:lambda:us-east-1:000000000000:function:fn"},
		{Function("us-east-1", "000000000000", "fn", "$LATEST"), "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST"},
		{Function("us-east-1", "000000000000", "fn", "7"), "arn:aws:lambda:us-east-1:000000000000:function:fn:7"},
		{Account("123456789012"), "arn:aws:iam::123456789012:root"},
	}
	for _, tc := range tests {
		if tc.got.String() != tc.want {
			t.Errorf("got %q, want %q", tc.got.String(), tc.want)
		}
		back, err := Parse(tc.want)
		if err != nil || back != tc.got {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.want, back, err, tc.got)
		}
	}
}

func TestParseBucket(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"arn:aws:s3:::photos", "photos", true},
		{"arn:aws:s3:::my.bucket-1", "my.bucket-1", true},
		{"arn:aws:s3:::photos/key", "", false},
		{"arn:aws:s3:us-east-1::photos", "", false},
		{"arn:aws:s3::123456789012:photos", "", false},
		{"arn:aws:sqs:::photos", "", false},
		{"photos", "", false},
	}
	for _, tc := range tests {
		got, err := ParseBucket(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseBucket(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrUnparseable) {
			t.Errorf("ParseBucket(%q) error %v does not match ErrUnparseable", tc.in, err)
		}
	}
}

func TestParseQueueAndTopic(t *testing.T) {
	long := strings.Repeat("q", 80)
	tests := []struct {
		in      string
		queueOK bool
		topicOK bool
	}{
		{"arn:aws:sqs:us-east-1:123456789012:q1", true, false},
		{"arn:aws:sqs:us-east-1:123456789012:Q_1-x.fifo", true, false},
		{"arn:aws:sqs:us-east-1:123456789012:" + long, true, false},
		{"arn:aws:sqs:us-east-1:123456789012:" + long + "q", false, false},
		{"arn:aws:sqs:us-east-1:123456789012:.fifo", false, false},
		{"arn:aws:sqs:us-east-1:123456789012:a.b", false, false},
		{"arn:aws:sqs:us-east-1:123456789012:a/b", false, false},
		{"arn:aws:sqs::123456789012:q1", false, false},
		{"arn:aws:sqs:us-east-1:12345:q1", false, false},
		{"arn:aws:sns:us-east-1:123456789012:t1", false, true},
		{"arn:aws:sns:us-east-1:123456789012:" + strings.Repeat("t", 256), false, true},
		{"arn:aws:sns:us-east-1:123456789012:" + strings.Repeat("t", 257), false, false},
		{"arn:aws:sns:us-east-1:123456789012:t1:sub-id", false, false},
	}
	for _, tc := range tests {
		_, err := ParseQueue(tc.in)
		if (err == nil) != tc.queueOK {
			t.Errorf("ParseQueue(%q) error %v, want ok=%v", tc.in, err, tc.queueOK)
		}
		_, err = ParseTopic(tc.in)
		if (err == nil) != tc.topicOK {
			t.Errorf("ParseTopic(%q) error %v, want ok=%v", tc.in, err, tc.topicOK)
		}
	}
}

func TestParseFunction(t *testing.T) {
	tests := []struct {
		in              string
		name, qualifier string
		ok              bool
	}{
		{"arn:aws:lambda:us-east-1:000000000000:function:fn", "fn", "", true},
		{"arn:aws:lambda:us-east-1:000000000000:function:my-fn_2:$LATEST", "my-fn_2", "$LATEST", true},
		{"arn:aws:lambda:us-east-1:000000000000:function:fn:12", "fn", "12", true},
		{"arn:aws:lambda:us-east-1:000000000000:function:fn:prod", "fn", "prod", true},
		{"arn:aws:lambda:us-east-1:000000000000:function:fn:", "", "", false},
		{"arn:aws:lambda:us-east-1:000000000000:function:fn:$latest", "", "", false},
		{"arn:aws:lambda:us-east-1:000000000000:function:fn:a:b", "", "", false},
		{"arn:aws:lambda:us-east-1:000000000000:function:", "", "", false},
		{"arn:aws:lambda:us-east-1:000000000000:function:" + strings.Repeat("f", 65), "", "", false},
		{"arn:aws:lambda:us-east-1:000000000000:layer:l:1", "", "", false},
		{"arn:aws:lambda:us-west-2:444455556666:cloud-function-A", "", "", false},
		{"arn:aws:sqs:us-east-1:000000000000:function:fn", "", "", false},
	}
	for _, tc := range tests {
		got, err := ParseFunction(tc.in)
		if (err == nil) != tc.ok || got.Name != tc.name || got.Qualifier != tc.qualifier {
			t.Errorf("ParseFunction(%q) = %+v, %v; want name %q qualifier %q ok=%v", tc.in, got, err, tc.name, tc.qualifier, tc.ok)
		}
		if err == nil && got.ARN.String() != tc.in {
			t.Errorf("ParseFunction(%q).String() = %q", tc.in, got.ARN.String())
		}
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts
// formats back to the same string and parses to the same value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:sqs:us-east-1:444455556666:q",
		"arn:aws:s3:::photos/a:b",
		"arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST",
		"arn:aws:snsus-west-2:444455556666:t",
		"arn:::::",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrUnparseable) {
				t.Fatalf("Parse(%q) error %v does not match ErrUnparseable", s, err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, a.String())
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", s, b, err, a)
		}
		// The typed parsers must not panic on anything Parse accepts.
		_, _ = ParseBucket(s)
		_, _ = ParseQueue(s)
		_, _ = ParseTopic(s)
		_, _ = ParseFunction(s)
	})
}

func TestResolveFunction(t *testing.T) {
	const region, acct = "us-east-1", "000000000000"
	tests := []struct {
		in, want  string
		qualifier string
		ok        bool
	}{
		{"fn", "arn:aws:lambda:us-east-1:000000000000:function:fn", "", true},
		{"fn:prod", "arn:aws:lambda:us-east-1:000000000000:function:fn:prod", "prod", true},
		{"123456789012:function:fn", "arn:aws:lambda:us-east-1:123456789012:function:fn", "", true},
		{"123456789012:function:fn:$LATEST", "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", "$LATEST", true},
		{"arn:aws:lambda:eu-west-1:123456789012:function:fn", "arn:aws:lambda:eu-west-1:123456789012:function:fn", "", true},
		{"bad name", "", "", false},
		{"12345:function:fn", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		got, err := ResolveFunction(tc.in, region, acct)
		if (err == nil) != tc.ok {
			t.Errorf("ResolveFunction(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (got.String() != tc.want || got.Qualifier != tc.qualifier || got.Name != "fn") {
			t.Errorf("ResolveFunction(%q) = %+v (%s), want %s qualifier %q", tc.in, got, got.String(), tc.want, tc.qualifier)
		}
	}
}
