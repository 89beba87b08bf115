package s3api

import (
	"errors"
	"testing"

	"sluice/internal/object"
)

// FuzzParseCompleteRequest: any body gets either parts that satisfy the
// documented shape or MalformedXML/InvalidRequest, never a panic.
func FuzzParseCompleteRequest(f *testing.F) {
	for _, s := range []string{
		"",
		"<CompleteMultipartUpload></CompleteMultipartUpload>",
		`<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><ETag>a</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><ETag>b</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><ETag>a</ETag><PartNumber>1</PartNumber><ChecksumCRC32>A</ChecksumCRC32><ChecksumSHA1>B</ChecksumSHA1></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part>`,
		`<Other><Part><ETag>a</ETag><PartNumber>1</PartNumber></Part></Other>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		parts, err := parseCompleteRequest(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != "MalformedXML" && e.Code != "InvalidRequest") || e.Status != 400 {
				t.Fatalf("error %v is not MalformedXML/InvalidRequest 400", err)
			}
			return
		}
		if len(parts) == 0 || len(parts) > object.MaxPartNumber {
			t.Fatalf("%d parts accepted", len(parts))
		}
		for _, p := range parts {
			if p.ETag == "" {
				t.Fatalf("part %d without an ETag accepted", p.PartNumber)
			}
			if p.Checksum != nil && p.Checksum.Value == "" {
				t.Fatalf("empty checksum accepted")
			}
		}
	})
}
