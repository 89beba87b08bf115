package object

import (
	"errors"
	"strings"
	"testing"
)

func TestValidBucketName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"abc", true},
		{"my-bucket.2024", true},
		{"a.b-c", true},
		{strings.Repeat("a", 63), true},
		{"1bucket9", true},
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"MyBucket", false},
		{"my_bucket", false},
		{"-abc", false},
		{"abc-", false},
		{".abc", false},
		{"abc.", false},
		{"a..b", false},
		{"192.168.5.4", false},
		{"1.2.3.4", false},
		{"192.168.5.4a", true},
		{"1.2.3", true},
		{"xn--abc", false},
		{"sthree-abc", false},
		{"amzn-s3-demo-bucket", false},
		{"abc-s3alias", false},
		{"abc--ol-s3", false},
		{"abc.mrap", false},
		{"abc--x-s3", false},
		{"abc--table-s3", false},
		{"ab\x00c", false},
		{"_sluice", false},
		{"äbc", false},
	} {
		if got := ValidBucketName(tc.name); got != tc.want {
			t.Errorf("ValidBucketName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string
		want error
	}{
		{"simple", "a", nil},
		{"max length", strings.Repeat("k", MaxKeyLength), nil},
		{"unicode", "日本/ß", nil},
		{"empty", "", ErrInvalidKey},
		{"too long", strings.Repeat("k", MaxKeyLength+1), ErrKeyTooLong},
		{"too long in bytes", strings.Repeat("é", MaxKeyLength/2+1), ErrKeyTooLong},
		{"invalid utf-8", "a\xffb", ErrInvalidKey},
	} {
		if err := checkKey(tc.key); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: checkKey(%.20q) = %v, want %v", tc.name, tc.key, err, tc.want)
		}
	}
}

// TestIsIPv4Form: the in-place check agrees with the definition (split on
// dots: exactly four groups, each of one to three digits).
func TestIsIPv4Form(t *testing.T) {
	byDefinition := func(name string) bool {
		parts := strings.Split(name, ".")
		if len(parts) != 4 {
			return false
		}
		for _, p := range parts {
			if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
				return false
			}
		}
		return true
	}
	for _, name := range []string{"", ".", "...", "1.2.3.4", "192.168.5.4", "1.2.3.4.", ".1.2.3.4", "1.2.3.4.5",
		"1.2.3", "1234.1.1.1", "1.2.3.a", "1..2.3", "a.b.c.d", "255.255.255.255", "1.2.3.4a", "01.002.3.4", "bucket"} {
		if got, want := isIPv4Form(name), byDefinition(name); got != want {
			t.Errorf("isIPv4Form(%q) = %v, want %v", name, got, want)
		}
	}
}
