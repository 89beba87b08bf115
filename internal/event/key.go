package event

// EncodeKey form-encodes an object key the way S3 writes it into
// s3.object.key.
//
// What AWS's recordings show (aws-facts.md section 3; S3's content-structure
// page): a space becomes '+', '@' becomes %40, '/' is kept, and letters,
// digits, '-' and '_' are kept ("test-key", "my_key_0",
// "testupload/dir1/testfile.txt"). For the characters the recordings do not
// cover, Sluice follows the form encoding those observations point to (the
// set Java's URLEncoder leaves alone, which is what S3's '+' for space and
// kept '*' come from), plus the observed '/':
//
//   - kept:      A-Z a-z 0-9 - _ . * /
//   - space:     '+'
//   - any other byte, including every byte of a multi-byte UTF-8
//     character and '+', '%', '~', '=', '&', '?', ':', '!', '(' and ')':
//     '%' followed by two upper-case hex digits.
//
// Every result decodes back to the key with url.QueryUnescape (what
// aws-lambda-go applies) and with Python's unquote_plus (what AWS tells
// Python users to apply): '+' is only ever produced for a space, and every
// literal '+' and '%' is escaped.
func EncodeKey(key string) string {
	n := 0
	for i := 0; i < len(key); i++ {
		if !keptInKey(key[i]) && key[i] != ' ' {
			n++
		}
	}
	if n == 0 && !containsSpace(key) {
		return key
	}
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(key)+2*n)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case keptInKey(c):
			out = append(out, c)
		case c == ' ':
			out = append(out, '+')
		default:
			out = append(out, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return string(out)
}

func keptInKey(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '*' || c == '/'
}

func containsSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return true
		}
	}
	return false
}
