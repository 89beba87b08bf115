package queue

import (
	"testing"
	"unicode/utf8"
)

// TestCheckCharsMatchesDefinition: the ASCII fast path of checkChars
// decides every string as the rune-by-rune definition (validBodyRune over
// valid UTF-8) does.
func TestCheckCharsMatchesDefinition(t *testing.T) {
	ref := func(s string) bool {
		if !utf8.ValidString(s) {
			return false
		}
		for _, r := range s {
			if !validBodyRune(r) {
				return false
			}
		}
		return true
	}
	var cases []string
	for c := 0; c < 0x100; c++ {
		cases = append(cases, string([]byte{byte(c)}), "ok"+string([]byte{byte(c)})+"ok")
	}
	cases = append(cases, "", `{"Records":[{"s3":{"object":{"key":"a+b"}}}]}`, "\t\n\r ~", "é", "\uFFFD", "\uFFFE",
		"\U0001F600", "a\xed\xa0\x80b", "\xff", "tab\there", "nul\x00", "del\x7f")
	for _, s := range cases {
		if got, want := checkChars(s), ref(s); got != want {
			t.Errorf("checkChars(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzCheckChars(f *testing.F) {
	for _, s := range []string{"", "abc", "\x01", "é\uFFFE", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := utf8.ValidString(s)
		for _, r := range s {
			want = want && validBodyRune(r)
		}
		if got := checkChars(s); got != want {
			t.Fatalf("checkChars(%q) = %v, want %v", s, got, want)
		}
	})
}
