package object

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	for _, tc := range []struct {
		name string
		rec  record
	}{
		{"inline empty", record{Object: Object{VersionID: NullVersion, Size: 0, ETag: "d41d8cd98f00b204e9800998ecf8427e", LastModified: lm, Meta: Meta{ContentType: "binary/octet-stream"}, StorageClass: "STANDARD"}, Inline: []byte{}}},
		{"inline bytes with zeros", record{Object: Object{VersionID: NullVersion, Size: 4, LastModified: lm, Meta: Meta{User: map[string]string{"a": "b"}, Expires: "x"}, Checksum: &Checksum{Algorithm: CRC32, Value: "AAAAAA=="}}, Inline: []byte{0, 1, 0xff, '{'}}},
		{"blob", record{Object: Object{VersionID: "null", Size: 1 << 40, LastModified: lm}, Blob: "blob-1"}},
	} {
		tc.rec.Bucket, tc.rec.Key = "bkt", "k\x00ey"
		v, err := encodeRecord(&tc.rec)
		if err != nil {
			t.Fatalf("%s: encode: %v", tc.name, err)
		}
		got, err := decodeRecord("bkt", "k\x00ey", v, true)
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if !reflect.DeepEqual(*got, tc.rec) {
			t.Errorf("%s: round trip gave %+v, want %+v", tc.name, *got, tc.rec)
		}
		head, err := decodeRecord("bkt", "k\x00ey", v, false)
		if err != nil || head.Inline != nil || !reflect.DeepEqual(head.Object, tc.rec.Object) {
			t.Errorf("%s: header-only decode gave %+v, %v", tc.name, head, err)
		}
		if tc.rec.Blob == "" && !bytes.HasSuffix(v, tc.rec.Inline) {
			t.Errorf("%s: inline bytes are not stored raw at the end of %q", tc.name, v)
		}
	}
}

func TestDecodeRecordRejectsMalformed(t *testing.T) {
	good, err := encodeRecord(&record{Object: Object{Size: 3}, Inline: []byte("abc")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		v    []byte
	}{
		{"empty", nil},
		{"unknown format", append([]byte{9}, good[1:]...)},
		{"header length past end", []byte{1, 200}},
		{"bad json", []byte{1, 2, '{', 'x'}},
		{"inline shorter than size", good[:len(good)-1]},
	} {
		if r, err := decodeRecord("b", "k", tc.v, true); err == nil {
			t.Errorf("%s: decodeRecord(%q) = %+v, nil; want an error", tc.name, tc.v, r)
		}
	}
}

func TestBucketRecordRoundTrip(t *testing.T) {
	b := Bucket{Name: "bkt", Created: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), Owner: "owner-id"}
	v, err := encodeBucket(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeBucket("bkt", v)
	if err != nil || got != b {
		t.Errorf("decodeBucket(encodeBucket(%+v)) = %+v, %v", b, got, err)
	}
	if _, err := decodeBucket("bkt", []byte{2, '{', '}'}); err == nil {
		t.Error("decodeBucket accepted an unknown format")
	}
}

// The bucket record's fast decoder must agree with encoding/json on what
// encodeBucket writes, and leave anything else to encoding/json.
func TestDecodeBucketFastAgreesWithJSON(t *testing.T) {
	for _, b := range []Bucket{
		{Name: "bkt", Created: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), Owner: "owner-id"},
		{Name: "bkt", Created: time.Date(2026, 5, 6, 7, 8, 9, 123e6, time.UTC), Owner: ""},
		{Name: "bkt", Created: time.Date(1999, 12, 31, 23, 59, 59, 999e6, time.UTC), Owner: `quote" back\slash tab	é`},
	} {
		v, err := encodeBucket(b)
		if err != nil {
			t.Fatal(err)
		}
		var want bucketRecord
		if err := json.Unmarshal(v[1:], &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeBucket(b.Name, v)
		if err != nil || !got.Created.Equal(want.Created) || got.Created.Location() != want.Created.Location() || got.Owner != want.Owner {
			t.Errorf("decodeBucket(%s) = %+v, %v; encoding/json gives %+v", v, got, err, want)
		}
		if fast, ok := decodeBucketFast(b.Name, v[1:]); ok && fast != got {
			t.Errorf("fast path of %s = %+v, want %+v", v, fast, got)
		}
	}
	// Shapes the fast path must refuse (encoding/json still reads the
	// valid ones).
	for _, j := range []string{
		`{"owner":"o","created":"2026-05-06T07:08:09Z"}`,
		`{"created":"2026-05-06T07:08:09Z","owner":"a\"b"}`,
		`{"created":"2026-05-06T07:08:09Z","owner":"a\u0041"}`,
		`{"created":"2026-05-06T07:08:09Z","owner":"o","extra":1}`,
		`{"created":"not a time","owner":"o"}`,
		`{"created":"2026-05-06T07:08:09Z","owner":"o"`,
	} {
		if b, ok := decodeBucketFast("bkt", []byte(j)); ok {
			t.Errorf("decodeBucketFast(%s) = %+v, want fallback", j, b)
		}
	}
	got, err := decodeBucket("bkt", append([]byte{recordFormat1}, `{"owner":"o","created":"2026-05-06T07:08:09Z"}`...))
	if err != nil || got.Owner != "o" || got.Created.Year() != 2026 {
		t.Errorf("decodeBucket with fields reordered = %+v, %v", got, err)
	}
}

// The fast header encoder writes exactly what encoding/json writes, or
// declines; and it knows every field of the types it encodes by hand.
func TestHeaderFastMatchesJSON(t *testing.T) {
	if n := reflect.TypeOf(Meta{}).NumField(); n != 7 {
		t.Fatalf("Meta has %d fields; appendHeaderFast writes 7: update it", n)
	}
	// Checksum.Type and objectHeader.Parts (multipart objects) make
	// appendHeaderFast decline, so it writes the other fields only.
	if n := reflect.TypeOf(Checksum{}).NumField(); n != 3 {
		t.Fatalf("Checksum has %d fields; appendHeaderFast writes 2 and declines Type: update it", n)
	}
	if n := reflect.TypeOf(objectHeader{}).NumField(); n != 10 {
		t.Fatalf("objectHeader has %d fields; appendHeaderFast writes 9 and declines Parts: update it", n)
	}
	if n := reflect.TypeOf(Tag{}).NumField(); n != 2 {
		t.Fatalf("Tag has %d fields; appendHeaderFast writes 2: update it", n)
	}
	lm := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	full := Meta{ContentType: "text/plain", ContentEncoding: "gzip", ContentDisposition: "attachment; filename=a.txt",
		ContentLanguage: "en", CacheControl: "no-cache", Expires: "Thu, 01 Dec 1994 16:00:00 GMT",
		User: map[string]string{"b": "2", "a": "1", "": ""}}
	for _, tc := range []struct {
		name     string
		rec      record
		wantFast bool
		// encoding/json itself loses a zone offset's seconds.
		lossy bool
	}{
		{"minimal", record{Object: Object{VersionID: "null", LastModified: lm}}, true, false},
		{"full", record{Object: Object{VersionID: "null", Size: 1 << 40, ETag: "d41d8cd98f00b204e9800998ecf8427e", LastModified: lm,
			Meta: full, Checksum: &Checksum{Algorithm: CRC32C, Value: "AAAAAA=="}, StorageClass: "STANDARD"}, Blob: "blob-1"}, true, false},
		{"empty user map", record{Object: Object{LastModified: lm, Meta: Meta{User: map[string]string{}}}}, true, false},
		{"zero time", record{Object: Object{}}, true, false},
		{"other zone", record{Object: Object{LastModified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}}, true, false},
		{"html chars", record{Object: Object{LastModified: lm, Meta: Meta{ContentType: "a<b>&c"}}}, false, false},
		{"quote", record{Object: Object{LastModified: lm, Meta: Meta{User: map[string]string{"k": `a"b`}}}}, false, false},
		{"backslash key", record{Object: Object{LastModified: lm, Meta: Meta{User: map[string]string{`k\`: "v"}}}}, false, false},
		{"non-ASCII", record{Object: Object{LastModified: lm, Meta: Meta{ContentDisposition: "é"}}}, false, false},
		{"control", record{Object: Object{LastModified: lm, ETag: "a\tb"}}, false, false},
		{"year 10000", record{Object: Object{LastModified: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, false, false},
		{"tags", record{Object: Object{LastModified: lm, Tags: []Tag{{"a", "1"}, {"b", ""}}}}, true, false},
		{"tag with non-ASCII", record{Object: Object{LastModified: lm, Tags: []Tag{{"é", "v"}}}}, false, false},
		{"zone with seconds", record{Object: Object{LastModified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("s", 61))}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rec
			want, wantErr := json.Marshal(objectHeader{VersionID: r.VersionID, Size: r.Size, ETag: r.ETag,
				LastModified: r.LastModified, Meta: r.Meta, Checksum: r.Checksum, StorageClass: r.StorageClass, Blob: r.Blob, Tags: r.Tags})
			got, ok := appendHeaderFast(nil, &r)
			if ok != tc.wantFast {
				t.Fatalf("fast path taken = %v, want %v (output %s)", ok, tc.wantFast, got)
			}
			if ok && (wantErr != nil || !bytes.Equal(got, want)) {
				t.Errorf("fast header\n got %s\nwant %s (json error %v)", got, want, wantErr)
			}
			if wantErr != nil || tc.lossy {
				return
			}
			// Whatever the path, the record round-trips.
			r.Bucket, r.Key = "bkt", "k"
			v, err := encodeRecord(&r)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decodeRecord("bkt", "k", v, false)
			if err != nil {
				t.Fatal(err)
			}
			if !back.LastModified.Equal(r.LastModified) || back.ETag != r.ETag || !reflect.DeepEqual(back.Meta, r.Meta) || back.Blob != r.Blob ||
				!reflect.DeepEqual(back.Tags, r.Tags) {
				t.Errorf("round trip gave %+v, want %+v", back.Object, r.Object)
			}
		})
	}
}

// TestEncodeRecordLayout: whichever way encodeRecord builds a record (the
// header in place, or apart when its length is outside 128..16383 bytes or
// it needs encoding/json), the bytes are format 1: 0x01, uvarint of the
// header's length, the header, the inline bytes.
func TestEncodeRecordLayout(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	big := map[string]string{}
	for i := 0; i < 200; i++ {
		big[string(rune('a'+i%26))+strconv.Itoa(i)] = strings.Repeat("v", 90)
	}
	for _, tc := range []struct {
		name string
		rec  record
	}{
		{"typical", record{Object: Object{VersionID: NullVersion, Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", LastModified: lm,
			Meta: Meta{ContentType: DefaultContentType}, Checksum: &Checksum{Algorithm: CRC64NVME, Value: "AAAAAAAAAAA="}, StorageClass: StorageClassStandard},
			Inline: []byte("abc")}},
		{"header over 16 KiB", record{Object: Object{VersionID: NullVersion, LastModified: lm, Meta: Meta{User: big}}, Inline: []byte("x")}},
		{"json path", record{Object: Object{VersionID: NullVersion, LastModified: lm, Meta: Meta{ContentType: "é"}}, Inline: []byte("y")}},
	} {
		r := tc.rec
		h, err := json.Marshal(objectHeader{VersionID: r.VersionID, Size: r.Size, ETag: r.ETag, LastModified: r.LastModified,
			Meta: r.Meta, Checksum: r.Checksum, StorageClass: r.StorageClass, Blob: r.Blob, Tags: r.Tags})
		if err != nil {
			t.Fatal(err)
		}
		want := binary.AppendUvarint([]byte{recordFormat1}, uint64(len(h)))
		want = append(append(want, h...), r.Inline...)
		got, err := encodeRecord(&r)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: encodeRecord = %q, %v\nwant %q", tc.name, got, err, want)
		}
	}
}
