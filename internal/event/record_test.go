package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func compactFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeS3(t *testing.T, b []byte) events.S3Event {
	t.Helper()
	var ev events.S3Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("aws-lambda-go cannot decode %s: %v", b, err)
	}
	return ev
}

// lambdaGuideRecord holds the values of the Lambda Developer Guide's example
// (testdata/lambda-guide-put.json).
func lambdaGuideRecord(t *testing.T) Record {
	return Record{
		Name:            ObjectCreatedPut,
		Region:          "us-east-2",
		Time:            mustTime(t, "2019-09-03T19:37:27.192Z"),
		PrincipalID:     "AWS:AIDAINPONIXQXHT3IKHL2",
		SourceIP:        "205.255.255.255",
		RequestID:       "D82B88E5F771F645",
		HostID:          "vlR7PnpV2Ce81l0PRw6jlUpck7Jo5ZsQjryTjKlc5aLWGVHPZLj5NeC6qMa0emYBDXOo6QBU0Wo=",
		ConfigurationID: "828aa6fc-f7b5-4305-8584-487c791949c1",
		Bucket:          "lambda-artifacts-deafc19498e3f2df",
		BucketOwner:     "A3I5XTEXAMAI3E",
		Key:             "b21b84d653bb07b05b1e6b33684dc11b",
		Size:            1305107,
		ETag:            `"b21b84d653bb07b05b1e6b33684dc11b"`, // quotes as S3 stores them; the record drops them
		Sequencer:       "0C0F6F405D6ED209E1",
	}
}

func TestEncodeMatchesLambdaGuideExampleByteForByte(t *testing.T) {
	want := compactFile(t, "testdata/lambda-guide-put.json")
	got, err := Encode(lambdaGuideRecord(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got %s\nwant %s", got, want)
	}
	// And field by field through aws-lambda-go.
	if g, w := decodeS3(t, got), decodeS3(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("decoded:\n got %+v\nwant %+v", g, w)
	}
}

func TestEncodeMatchesAWSLambdaGoTestdata(t *testing.T) {
	// aws-lambda-go's canonical S3 event: eventVersion 2.0 (older than
	// what S3 writes today), versionId before eTag, the key encoded with
	// %20. Sluice writes 2.1, AWS's member order and '+' for the space;
	// everything a consumer decodes must be the same.
	want := decodeS3(t, compactFile(t, "testdata/aws-lambda-go-s3-event.json"))
	got, err := Encode(Record{
		Name:            ObjectCreatedPut,
		Region:          "us-east-1",
		Time:            mustTime(t, "1970-01-01T00:00:00.123Z"),
		PrincipalID:     "EXAMPLE",
		SourceIP:        "127.0.0.1",
		RequestID:       "C3D13FE58DE4C810",
		HostID:          "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
		ConfigurationID: "testConfigRule",
		Bucket:          "mybucket",
		BucketOwner:     "EXAMPLE",
		Key:             "Happy Face.jpg",
		Size:            1024,
		ETag:            "d41d8cd98f00b204e9800998ecf8427e",
		VersionID:       "version",
		Sequencer:       "Happy Sequencer",
	})
	if err != nil {
		t.Fatal(err)
	}
	g := decodeS3(t, got)
	if len(g.Records) != 1 {
		t.Fatalf("got %d records", len(g.Records))
	}
	gr, wr := g.Records[0], want.Records[0]
	if gr.EventVersion != "2.1" {
		t.Errorf("eventVersion = %q, want 2.1", gr.EventVersion)
	}
	if gr.S3.Object.Key != "Happy+Face.jpg" {
		t.Errorf("key = %q, want Happy+Face.jpg", gr.S3.Object.Key)
	}
	// The testdata's bucket name and ARN disagree ("sourcebucket" vs
	// arn:aws:s3:::mybucket); Sluice derives the ARN from the name.
	gr.EventVersion, wr.EventVersion = "", ""
	gr.S3.Object.Key, wr.S3.Object.Key = "", ""
	gr.S3.Bucket.Name, wr.S3.Bucket.Name = "", ""
	if !reflect.DeepEqual(gr, wr) {
		t.Fatalf("decoded record:\n got %+v\nwant %+v", gr, wr)
	}
}

// TestShapePerType byte-compares each event type's record with the shape
// AWS recorded for it (AWS-recorded snapshots in
// localstack/localstack tests/aws/services/s3/test_s3_notifications_sqs
// .snapshot.json: which members exist; member order from S3's
// content-structure page), with the variable values substituted.
func TestShapePerType(t *testing.T) {
	base := func(n Name) Record {
		return Record{
			Name: n, Region: "us-east-1", Time: mustTime(t, "2026-01-02T03:04:05.006789Z"),
			PrincipalID: "AWS:AIDAEXAMPLE", SourceIP: "127.0.0.1", RequestID: "REQ", HostID: "HOST",
			ConfigurationID: "cfg", Bucket: "b1", BucketOwner: "OWNER", Key: "a@b c",
			Size: 9, ETag: `"437b930db84b8079c2dd804a71936b5f"`, Sequencer: "000001000000000001",
		}
	}
	head := func(version, name string) string {
		return `{"eventVersion":"` + version + `","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-01-02T03:04:05.006Z","eventName":"` + name +
			`","userIdentity":{"principalId":"AWS:AIDAEXAMPLE"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{"x-amz-request-id":"REQ","x-amz-id-2":"HOST"},` +
			`"s3":{"s3SchemaVersion":"1.0","configurationId":"cfg","bucket":{"name":"b1","ownerIdentity":{"principalId":"OWNER"},"arn":"arn:aws:s3:::b1"},"object":`
	}
	const full = `{"key":"a%40b+c","size":9,"eTag":"437b930db84b8079c2dd804a71936b5f","sequencer":"000001000000000001"}}}`
	versioned := base(ObjectCreatedPut)
	versioned.VersionID = "v1"
	removedVersioned := base(ObjectRemovedDeleteMarkerCreated)
	removedVersioned.VersionID = "v2"
	cases := []struct {
		name string
		rec  Record
		want string
	}{
		{"put", base(ObjectCreatedPut), head("2.1", "ObjectCreated:Put") + full},
		{"post", base(ObjectCreatedPost), head("2.1", "ObjectCreated:Post") + full},
		{"copy", base(ObjectCreatedCopy), head("2.1", "ObjectCreated:Copy") + full},
		{"multipart", base(ObjectCreatedCompleteMultipartUpload), head("2.1", "ObjectCreated:CompleteMultipartUpload") + full},
		{"put versioned", versioned, head("2.1", "ObjectCreated:Put") +
			`{"key":"a%40b+c","size":9,"eTag":"437b930db84b8079c2dd804a71936b5f","versionId":"v1","sequencer":"000001000000000001"}}}`},
		{"delete", base(ObjectRemovedDelete), head("2.1", "ObjectRemoved:Delete") +
			`{"key":"a%40b+c","sequencer":"000001000000000001"}}}`},
		{"delete marker", removedVersioned, head("2.1", "ObjectRemoved:DeleteMarkerCreated") +
			`{"key":"a%40b+c","versionId":"v2","sequencer":"000001000000000001"}}}`},
		{"tagging put", base(ObjectTaggingPut), head("2.3", "ObjectTagging:Put") +
			`{"key":"a%40b+c","eTag":"437b930db84b8079c2dd804a71936b5f"}}}`},
		{"tagging delete", base(ObjectTaggingDelete), head("2.3", "ObjectTagging:Delete") +
			`{"key":"a%40b+c","eTag":"437b930db84b8079c2dd804a71936b5f"}}}`},
		{"acl put", base(ObjectAclPut), head("2.3", "ObjectAcl:Put") +
			`{"key":"a%40b+c","eTag":"437b930db84b8079c2dd804a71936b5f"}}}`},
		{"lifecycle expiration", base(LifecycleExpirationDelete), head("2.3", "LifecycleExpiration:Delete") +
			`{"key":"a%40b+c","sequencer":"000001000000000001"}}}`},
		{"restore completed", base(ObjectRestoreCompleted), head("2.1", "ObjectRestore:Completed") + full},
		{"replication", base(ReplicationOperationFailedReplication), head("2.2", "Replication:OperationFailedReplication") + full},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"Records":[` + tc.want + `]}`
			if string(got) != want {
				t.Fatalf("Encode(%s):\n got %s\nwant %s", tc.rec.Name, got, want)
			}
			ev := decodeS3(t, got)
			o := ev.Records[0].S3.Object
			if o.URLDecodedKey != tc.rec.Key {
				t.Errorf("decoded key = %q, want %q", o.URLDecodedKey, tc.rec.Key)
			}
			if ev.Records[0].EventName != strings.TrimPrefix(string(tc.rec.Name), "s3:") {
				t.Errorf("eventName = %q", ev.Records[0].EventName)
			}
			if !ev.Records[0].EventTime.Equal(mustTime(t, "2026-01-02T03:04:05.006Z")) {
				t.Errorf("eventTime = %v (milliseconds, truncated)", ev.Records[0].EventTime)
			}
		})
	}
}

func TestEncodeSeveralRecordsAndNonUTCTime(t *testing.T) {
	a := lambdaGuideRecord(t)
	a.Time = a.Time.In(time.FixedZone("CEST", 2*3600))
	b := lambdaGuideRecord(t)
	b.Key = "second"
	got, err := Encode(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ev := decodeS3(t, got)
	if len(ev.Records) != 2 || ev.Records[1].S3.Object.Key != "second" {
		t.Fatalf("records = %+v", ev.Records)
	}
	if !bytes.Contains(got, []byte(`"eventTime":"2019-09-03T19:37:27.192Z"`)) {
		t.Fatalf("eventTime not written in UTC: %s", got)
	}
}

func TestEncodeEscapesLikeAWS(t *testing.T) {
	r := lambdaGuideRecord(t)
	r.ConfigurationID = "a<b>&\"q\"\\\n\x01é\xff"
	got, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`"configurationId":"a<b>&\"q\"\\\n\u0001é\ufffd"`)) {
		t.Fatalf("configurationId escaping: %s", got)
	}
	ev := decodeS3(t, got)
	if want := "a<b>&\"q\"\\\n\x01é\uFFFD"; ev.Records[0].S3.ConfigurationID != want {
		t.Fatalf("decoded %q, want %q", ev.Records[0].S3.ConfigurationID, want)
	}
}

func TestEncodeRefusesInvalidRecords(t *testing.T) {
	cases := map[string]func(*Record){
		"wildcard type":        func(r *Record) { r.Name = ObjectCreatedAll },
		"unknown type":         func(r *Record) { r.Name = "s3:ObjectCreated:Bogus" },
		"test event":           func(r *Record) { r.Name = TestEvent },
		"no bucket":            func(r *Record) { r.Bucket = "" },
		"no key":               func(r *Record) { r.Key = "" },
		"no sequencer for put": func(r *Record) { r.Sequencer = "" },
		"negative size":        func(r *Record) { r.Size = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := lambdaGuideRecord(t)
			mutate(&r)
			if b, err := Encode(r); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("Encode = %s, %v; want ErrInvalidRecord", b, err)
			}
		})
	}
	// Tagging records have no sequencer, so none is required.
	r := lambdaGuideRecord(t)
	r.Name, r.Sequencer = ObjectTaggingPut, ""
	if _, err := Encode(r); err != nil {
		t.Fatalf("tagging record without sequencer: %v", err)
	}
}

func TestTestMessage(t *testing.T) {
	// aws-facts.md section 5, S3's content-structure page.
	want := `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2014-10-13T15:57:02.089Z","Bucket":"bucketname","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`
	m := TestMessage{
		Bucket: "bucketname", Time: mustTime(t, "2014-10-13T15:57:02.089412Z"),
		RequestID: "5582815E1AEA5ADF", HostID: "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
	}
	got := m.Encode()
	if string(got) != want {
		t.Fatalf("TestMessage:\n got %s\nwant %s", got, want)
	}
	var te events.S3TestEvent
	if err := json.Unmarshal(got, &te); err != nil {
		t.Fatal(err)
	}
	if te.Event != "s3:TestEvent" || te.Bucket != "bucketname" || te.Service != "Amazon S3" || te.RequestID != m.RequestID || te.HostID != m.HostID {
		t.Fatalf("decoded %+v", te)
	}
	// Consumers that decode it as an S3Event see no records.
	if ev := decodeS3(t, got); len(ev.Records) != 0 {
		t.Fatalf("test message decoded as %d records", len(ev.Records))
	}
}

func TestEncodeKey(t *testing.T) {
	cases := []struct{ key, want, why string }{
		{"a@b", "a%40b", "AWS recording test_key_encoding"},
		{"testupload/dir1/testfile.txt", "testupload/dir1/testfile.txt", "AWS recording: '/' kept"},
		{"red flower.jpg", "red+flower.jpg", "S3 docs: space is '+'"},
		{"test-key", "test-key", "AWS recording"},
		{"my_key_0", "my_key_0", "AWS recording"},
		{"a+b", "a%2Bb", "literal '+' must not decode as a space"},
		{"100%", "100%25", "literal '%'"},
		{"~user", "%7Euser", "chosen: form encoding escapes '~'"},
		{"*.jpg", "*.jpg", "chosen: form encoding keeps '*'"},
		{"a=b&c?d#e", "a%3Db%26c%3Fd%23e", "chosen"},
		{"x:y!(z)'", "x%3Ay%21%28z%29%27", "chosen"},
		{"é", "%C3%A9", "UTF-8 bytes, upper-case hex"},
		{"日本/語", "%E6%97%A5%E6%9C%AC/%E8%AA%9E", "UTF-8 bytes, '/' kept"},
		{"😀", "%F0%9F%98%80", "4-byte UTF-8"},
		{"tab\tnl\n", "tab%09nl%0A", "control characters"},
		{"  ", "++", "spaces only"},
		{"", "", "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			got := EncodeKey(tc.key)
			if got != tc.want {
				t.Fatalf("EncodeKey(%q) = %q, want %q (%s)", tc.key, got, tc.want, tc.why)
			}
			back, err := url.QueryUnescape(got)
			if err != nil || back != tc.key {
				t.Fatalf("url.QueryUnescape(%q) = %q, %v; want %q", got, back, err, tc.key)
			}
		})
	}
}

func FuzzEncodeKeyRoundTrip(f *testing.F) {
	for _, s := range []string{"a@b", "red flower.jpg", "a+b%20c", "日本", "\xff\xfe", "*?~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		enc := EncodeKey(key)
		back, err := url.QueryUnescape(enc)
		if err != nil || back != key {
			t.Fatalf("EncodeKey(%q) = %q decodes to %q, %v", key, enc, back, err)
		}
		for i := 0; i < len(enc); i++ {
			if enc[i] >= 0x80 || enc[i] < 0x21 {
				t.Fatalf("EncodeKey(%q) = %q holds byte %#x", key, enc, enc[i])
			}
		}
	})
}
