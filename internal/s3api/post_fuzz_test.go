package s3api

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzPostForm: any body under a fixed boundary either gives a form with
// a file part or a 4xx S3 error of the POST vocabulary; a form's fields
// are lower-case, within the pre-data bound, and the file reads back the
// bytes that were between its headers and the next boundary.
func FuzzPostForm(f *testing.F) {
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nup/${filename}\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--B--\r\n"))
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"Key\"\r\n\r\nk\r\n--B\r\nContent-Disposition: form-data; name=\"KEY\"\r\n\r\nk2\r\n--B--\r\n"))
	f.Add([]byte("garbage"))
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"))
	f.Add([]byte("--B\r\nContent-Disposition: attachment\r\n\r\nx\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nabc\r\n--B\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nz\r\n--B--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := readPostForm("multipart/form-data; boundary=B", bytes.NewReader(body))
		if err != nil {
			wantClientError(t, err, "MalformedPOSTRequest", "IncorrectNumberOfFilesInPostRequest", "MaxPostPreDataLengthExceededError")
			return
		}
		total := 0
		for name, v := range form.fields {
			if name != strings.ToLower(name) {
				t.Fatalf("field name %q not lower-case", name)
			}
			total += len(name) + len(v)
		}
		if total > maxPostPreData || len(form.names) != len(form.fields) || len(form.names) > maxPostFields {
			t.Fatalf("form of %d bytes, %d names, %d fields: out of bounds", total, len(form.names), len(form.fields))
		}
		if form.file == nil {
			t.Fatal("form without a file part")
		}
		file, err := io.ReadAll(form.file)
		if err == nil && len(file) > len(body) {
			t.Fatalf("file of %d bytes from a body of %d", len(file), len(body))
		}
	})
}

// FuzzPostPolicy: any policy document either decodes or is 400
// InvalidPolicyDocument; a decoded one evaluates against a form without
// panicking, to nil or 403 AccessDenied with one of S3's policy messages,
// and its size range is consistent.
func FuzzPostPolicy(f *testing.F) {
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","up/"],["content-length-range",1,10],{"x-amz-meta-a":"v"}]}`))
	f.Add([]byte(`{"expiration":"2000-01-01T00:00:00.000Z","conditions":[]}`))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$Content-Type","text/plain"],["content-length-range","0","5"]]}`))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"a":"1","b":"2"}]}`))
	f.Add([]byte(`{"conditions":[]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[["starts-with","$success_action_status",""],{"success_action_status":201}]}`))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := parsePostPolicy(base64.StdEncoding.EncodeToString(doc))
		if err != nil {
			wantClientError(t, err, "InvalidPolicyDocument")
			return
		}
		form := &postForm{fields: map[string]string{"key": "up/a", "content-type": "text/plain", "x-amz-meta-a": "v"},
			names: []string{"key", "Content-Type", "x-amz-meta-a"}}
		if err := p.check(now, "b", form); err != nil {
			e := wantClientError(t, err, "AccessDenied")
			if !strings.HasPrefix(e.Message, "Invalid according to Policy: ") {
				t.Fatalf("policy refusal message %q", e.Message)
			}
		}
		lo, hi := p.sizeRange()
		if lo < 0 || (hi >= 0 && hi < lo && len(p.conditions) == 0) {
			t.Fatalf("size range [%d, %d] without conditions", lo, hi)
		}
		for _, c := range p.conditions {
			if c.op == condLength && (lo < c.min || (hi >= 0 && hi > c.max)) {
				t.Fatalf("size range [%d, %d] wider than condition [%d, %d]", lo, hi, c.min, c.max)
			}
		}
	})
}
