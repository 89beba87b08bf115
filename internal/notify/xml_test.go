package notify

import (
	"context"
	"encoding/base64"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sluice/internal/event"
)

func TestEncodeRendersAWSShape(t *testing.T) {
	// Input in the order the SDKs send (queues before topics is allowed),
	// lower-case filter names, no Id on one rule, EventBridge.
	body := `<?xml version="1.0" encoding="UTF-8"?>
<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <QueueConfiguration><Id>q1</Id><Queue>arn:aws:sqs:us-east-1:000000000000:q1</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>
  <CloudFunctionConfiguration><CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:fn</CloudFunction>
    <InvocationRole>arn:aws:iam::000000000000:role/legacy</InvocationRole>
    <Event>s3:ObjectCreated:*</Event>
    <Filter><S3Key><FilterRule><Name>PREFIX</Name><Value>in/</Value></FilterRule><FilterRule><Name>sUfFiX</Name><Value>.jpg &amp; &lt;x&gt;</Value></FilterRule></S3Key></Filter>
  </CloudFunctionConfiguration>
  <TopicConfiguration><Id>t1</Id><Topic>arn:aws:sns:us-east-1:000000000000:t</Topic><Event>s3:ObjectRestore:Post</Event><Event>s3:ObjectTagging:*</Event></TopicConfiguration>
  <EventBridgeConfiguration/>
</NotificationConfiguration>`
	c, err := Decode([]byte(body), DecodeOptions{NewID: func() string { return "generated" }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Validate(context.Background(), c, ValidateOptions{Bucket: "b", SkipDestinationValidation: true}); err != nil {
		t.Fatal(err)
	}
	want := `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
		`<TopicConfiguration><Id>t1</Id><Topic>arn:aws:sns:us-east-1:000000000000:t</Topic><Event>s3:ObjectRestore:Post</Event><Event>s3:ObjectTagging:*</Event></TopicConfiguration>` +
		`<QueueConfiguration><Id>q1</Id><Queue>arn:aws:sqs:us-east-1:000000000000:q1</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>` +
		`<CloudFunctionConfiguration><Id>generated</Id><CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:fn</CloudFunction><Event>s3:ObjectCreated:*</Event>` +
		`<Filter><S3Key><FilterRule><Name>Prefix</Name><Value>in/</Value></FilterRule><FilterRule><Name>Suffix</Name><Value>.jpg &amp; &lt;x&gt;</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration>` +
		`<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>`
	got := string(Encode(c))
	if got != want {
		t.Fatalf("Encode:\n got %s\nwant %s", got, want)
	}
	// Stored form round-trips: decoding what GET returns gives the same
	// configuration, Ids included.
	again, err := Decode([]byte(got), DecodeOptions{NewID: func() string { t.Fatal("Id generated for a stored rule"); return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", again, c)
	}
	if c.Rules[2].Prefix() != "in/" || c.Rules[2].Suffix() != ".jpg & <x>" {
		t.Fatalf("prefix %q suffix %q", c.Rules[2].Prefix(), c.Rules[2].Suffix())
	}
}

func TestEmptyConfiguration(t *testing.T) {
	for _, body := range []string{
		`<NotificationConfiguration/>`,
		`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"> </NotificationConfiguration>`,
		"<?xml version=\"1.0\"?>\n<NotificationConfiguration></NotificationConfiguration>\n",
	} {
		c, err := Decode([]byte(body), DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if !c.Empty() {
			t.Fatalf("%s: not empty: %+v", body, c)
		}
		if _, err := Validate(context.Background(), c, ValidateOptions{Bucket: "b"}); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := string(Encode(c)); got != `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>` {
			t.Fatalf("Encode(empty) = %s", got)
		}
	}
	var nilCfg *Configuration
	if !nilCfg.Empty() || string(Encode(nil)) != `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>` {
		t.Fatal("nil configuration is not empty")
	}
	c, _ := Decode([]byte(`<NotificationConfiguration><EventBridgeConfiguration/></NotificationConfiguration>`), DecodeOptions{})
	if c.Empty() || !c.EventBridge {
		t.Fatalf("EventBridge only: %+v", c)
	}
}

func TestNewID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewID()
		raw, err := base64.StdEncoding.DecodeString(id)
		if err != nil || !uuid.Match(raw) || len(id) != 48 {
			t.Fatalf("NewID() = %q (decodes to %q, %v)", id, raw, err)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	// Decode uses it when no generator is given; an empty <Id/> counts as
	// absent.
	c, err := Decode([]byte(`<NotificationConfiguration><QueueConfiguration><Id></Id><Queue>q</Queue><Event>e</Event></QueueConfiguration></NotificationConfiguration>`), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := base64.StdEncoding.DecodeString(c.Rules[0].ID); !uuid.Match(raw) {
		t.Fatalf("generated Id %q", c.Rules[0].ID)
	}
}

func TestDecodeBounds(t *testing.T) {
	big := make([]byte, MaxBodyBytes+1)
	if _, err := Decode(big, DecodeOptions{}); asError(t, err).Code != CodeMalformedXML {
		t.Fatalf("oversized body: %v", err)
	}
	rule := `<QueueConfiguration><Queue>arn:aws:sqs:us-east-1:111111111111:q</Queue><Event>s3:ObjectCreated:Put</Event></QueueConfiguration>`
	body := `<NotificationConfiguration>` + strings.Repeat(rule, MaxRules+1) + `</NotificationConfiguration>`
	if _, err := Decode([]byte(body), DecodeOptions{NewID: func() string { return "x" }}); asError(t, err).Code != CodeInvalidArgument {
		t.Fatalf("too many rules: %v", err)
	}
	events := strings.Repeat(`<Event>s3:ObjectCreated:Put</Event>`, MaxEventsPerRule+1)
	body = `<NotificationConfiguration><QueueConfiguration><Queue>q</Queue>` + events + `</QueueConfiguration></NotificationConfiguration>`
	if _, err := Decode([]byte(body), DecodeOptions{}); asError(t, err).Code != CodeInvalidArgument {
		t.Fatalf("too many events: %v", err)
	}
	// Exactly 1024 bytes of filter value is fine.
	c := &Configuration{Rules: []Rule{{ID: "x", Kind: event.Queue, ARN: "arn:aws:sqs:us-east-1:111111111111:q",
		Events: []event.Name{event.ObjectCreatedPut}, Filter: []FilterRule{{"prefix", strings.Repeat("a", MaxFilterValueSize)}}}}}
	if _, err := Validate(context.Background(), c, ValidateOptions{SkipDestinationValidation: true}); err != nil {
		t.Fatalf("1024-byte value: %v", err)
	}
}

func FuzzDecodeValidate(f *testing.F) {
	for _, name := range []string{"valid1-prefix-and-suffix", "invalid1-root-prefix", "invalid3-prefix-and-suffix-typo-arn"} {
		f.Add(readSeedF(f, name))
	}
	f.Add([]byte(`<NotificationConfiguration><EventBridgeConfiguration/></NotificationConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := Decode(body, DecodeOptions{NewID: func() string { return "id" }})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Decode error %T %v", err, err)
			}
			return
		}
		if _, err := Validate(context.Background(), c, ValidateOptions{Bucket: "b", SkipDestinationValidation: true}); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Validate error %T %v", err, err)
			}
			return
		}
		// A valid configuration survives the stored form unchanged.
		again, err := Decode(Encode(c), DecodeOptions{NewID: func() string { return "other" }})
		if err != nil {
			t.Fatalf("re-decode of %s: %v", Encode(c), err)
		}
		if string(Encode(again)) != string(Encode(c)) {
			t.Fatalf("round trip changed:\n%s\n%s", Encode(c), Encode(again))
		}
	})
}

func readSeedF(f *testing.F, name string) []byte {
	b, err := readFile("testdata/" + name + ".xml")
	if err != nil {
		f.Fatal(err)
	}
	return b
}
