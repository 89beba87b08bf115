package s3api

import (
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"sluice/internal/object"
)

// Fuzz targets for the parsers of copy, DeleteObjects and tagging. Seeds
// are in testdata/fuzz/<target>. Each asserts properties of what a parser
// accepts, and that what it refuses is a client error.

// FuzzDeleteObjectsXML: an accepted document names 1 to 1000 keys, each
// as it was in the document (re-encoding and decoding gives the same
// keys); anything refused is MalformedXML.
func FuzzDeleteObjectsXML(f *testing.F) {
	f.Add([]byte(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>a &amp; b</Key><VersionId>null</VersionId></Object><Object><Key></Key></Object></Delete>`))
	f.Add([]byte(`<Delete><Object></Object></Delete>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := parseDeleteRequest(body)
		if err != nil {
			if e := wantClientError(t, err, "MalformedXML"); e == nil {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if n := len(d.Objects); n < 1 || n > object.MaxDeleteObjects {
			t.Fatalf("accepted %d objects", n)
		}
		q := strings.TrimSpace(d.Quiet)
		if q != "" && !strings.EqualFold(q, "true") && !strings.EqualFold(q, "false") {
			t.Fatalf("accepted Quiet %q", d.Quiet)
		}
		for _, o := range d.Objects {
			if o.Key == nil {
				t.Fatalf("accepted an Object without Key")
			}
			if !utf8.ValidString(*o.Key) {
				t.Fatalf("accepted a key that is not UTF-8: %q", *o.Key)
			}
		}
	})
}

// FuzzTaggingXML: an accepted document yields tags whose re-encoding
// parses to the same tags.
func FuzzTaggingXML(f *testing.F) {
	f.Add([]byte(`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet></TagSet></Tagging>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tags, err := parseTagging(body)
		if err != nil {
			wantClientError(t, err, "MalformedXML")
			return
		}
		var doc taggingXML
		for _, tg := range tags {
			doc.TagSet.Tags = append(doc.TagSet.Tags, tagXML(tg))
		}
		b, err := xml.Marshal(&doc)
		if err != nil {
			return // a character XML cannot carry (encoding/json-like loss is not ours)
		}
		again, err := parseTagging(b)
		if err != nil || len(again) != len(tags) {
			t.Fatalf("re-encoded %s: %v, %d tags want %d", b, err, len(again), len(tags))
		}
		if valid, err := validTags(tags); err == nil && len(valid) > object.MaxTags {
			t.Fatalf("ValidateTags accepted %d tags", len(valid))
		} else if err != nil {
			wantClientError(t, err, "BadRequest", "InvalidTag")
		}
	})
}

// FuzzTaggingHeader: an accepted x-amz-tagging yields at most 10 valid,
// distinct tags that, encoded again as a query, parse to the same set.
func FuzzTaggingHeader(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "k", "a=1&a=2", "=1", "a=%FF", "a+b=c%20d", "aws:x=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tags, err := parseTaggingHeader(v)
		if err != nil {
			wantClientError(t, err, "InvalidArgument", "InvalidTag", "BadRequest")
			return
		}
		if len(tags) > object.MaxTags {
			t.Fatalf("%q: %d tags", v, len(tags))
		}
		q := url.Values{}
		for _, tg := range tags {
			if q.Has(tg.Key) {
				t.Fatalf("%q: duplicate key %q", v, tg.Key)
			}
			q.Set(tg.Key, tg.Value)
		}
		again, err := parseTaggingHeader(q.Encode())
		if err != nil || len(again) != len(tags) {
			t.Fatalf("%q re-encoded as %q: %v", v, q.Encode(), err)
		}
		for i := range tags {
			if again[i] != tags[i] {
				t.Fatalf("%q: round trip %v, want %v", v, again, tags)
			}
		}
	})
}

// FuzzCopySource: an accepted x-amz-copy-source names a non-empty bucket
// and key that, escaped again, parse to the same source.
func FuzzCopySource(f *testing.F) {
	for _, s := range []string{"b/k", "/b/dir/a%20b?versionId=null", "b", "b/%zz", "b/k?versionId=x", "/b/k?versionId="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cs, err := parseCopySource(v)
		if err != nil {
			wantClientError(t, err, "InvalidArgument")
			return
		}
		if cs.bucket == "" || cs.key == "" || strings.Contains(cs.bucket, "/") {
			t.Fatalf("%q: bucket %q key %q", v, cs.bucket, cs.key)
		}
		again, err := parseCopySource(url.PathEscape(cs.bucket) + "/" + url.PathEscape(cs.key))
		if err != nil || again.bucket != cs.bucket || again.key != cs.key {
			t.Fatalf("%q: round trip %+v, %v; want %+v", v, again, err, cs)
		}
	})
}
