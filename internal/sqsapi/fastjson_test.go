package sqsapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type sendRequest struct {
	QueueUrl string
	sendEntry
}

var fastSeeds = []string{
	`{"QueueUrl":"http://127.0.0.1:9000/000000000000/q","MessageBody":"hello"}`,
	`{"MessageBody":"héllo wörld ✓","QueueUrl":"u"}`,
	" {\n\t\"QueueUrl\" : \"u\" ,\r\n \"MessageBody\":\"b\" } ",
	`{}`,
	`{"QueueUrl":"a","QueueUrl":"b","MessageBody":"c"}`,
	`{"QueueUrl":"u","MessageBody":"line\nbreak"}`,
	`{"queueurl":"u","MessageBody":"b"}`,
	`{"QueueUrl":"u","MessageBody":"b","DelaySeconds":5}`,
	`{"QueueUrl":"u","MessageBody":"b",}`,
	`{"QueueUrl":"u","MessageBody":"b"}x`,
	`{"QueueUrl":"u","MessageBody":"` + "\xff" + `"}`,
	`{"QueueUrl":"u","MessageBody":"` + "\x01" + `"}`,
	`{"QueueUrl":1,"MessageBody":"b"}`,
	`{"QueueUrl":"u" "MessageBody":"b"}`,
	`{"QueueUrl":"u","MessageBody":"b"`,
	`[]`,
	``,
}

// FuzzDecodeSendFast: whenever the fast path accepts a document,
// encoding/json accepts it too and decodes exactly the same request.
func FuzzDecodeSendFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		qu, body, ok := decodeSendFast(doc)
		if !ok {
			return
		}
		var want sendRequest
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", doc, err)
		}
		got := sendRequest{QueueUrl: qu}
		got.MessageBody = body
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: fast path %+v, encoding/json %+v", doc, got, want)
		}
	})
}

// The fast path takes the shape the SDKs send (so it is used at all) and
// leaves everything else to encoding/json.
func TestDecodeSendFastScope(t *testing.T) {
	accepted := map[string]bool{
		fastSeeds[0]: true, fastSeeds[1]: true, fastSeeds[2]: true, fastSeeds[3]: true, fastSeeds[4]: true,
	}
	for _, s := range fastSeeds {
		if _, _, ok := decodeSendFast([]byte(s)); ok != accepted[s] {
			t.Errorf("decodeSendFast(%q) ok = %v, want %v", s, ok, accepted[s])
		}
	}
	qu, body, _ := decodeSendFast([]byte(fastSeeds[4]))
	if qu != "b" || body != "c" {
		t.Errorf("duplicate key: got %q %q, want the last (as encoding/json)", qu, body)
	}
}

// The hand-written SendMessage response is byte for byte encoding/json's.
func TestAppendSendResult(t *testing.T) {
	for _, r := range []sendResult{
		{"7d2b8a9e-0c1f-4e6a-9b3d-2f1e0a9c8b7d", "5d41402abc4b2a76b9719d911017c592", ""},
		{"id", "md5", "attrs-md5"},
		{`q"<&>\` + "\x00é\u2028", "", "x"},
		{},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON(%+v)\n got %s\nwant %s", r, got, want)
		}
	}
	long := sendResult{MessageId: strings.Repeat("a", 300), MD5OfMessageBody: "b"}
	want, _ := json.Marshal(long)
	if got := long.appendJSON(make([]byte, 0, 128)); string(got) != string(want) {
		t.Errorf("long id: got %s", got)
	}
}

var stringSeeds = []string{
	"", "plain", `q"<&>\`, "\x00\x01\x1f\b\f\n\r\t", "é✓\u2028\u2029", "\xff\xfe", "a\xc3", "\U0001F600", `{"Records":[{"s3":{}}]}`,
}

// FuzzAppendJSONString: appendJSONString quotes every string exactly as
// json.Marshal does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString([]byte("x"), s); string(got[1:]) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}

// The hand-written ReceiveMessage response is byte for byte
// encoding/json's.
func TestAppendReceiveResult(t *testing.T) {
	full := wireMessage{
		MessageId: "7d2b8a9e-0c1f-4e6a-9b3d-2f1e0a9c8b7d", ReceiptHandle: "czE6cTphYmM6ZGVm+/==", MD5OfBody: "5d41402abc4b2a76b9719d911017c592",
		Body:                   `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"a<b>&c"}}}]}` + "\n\u2028\xff",
		Attributes:             map[string]string{"SenderId": "AIDA", "ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000", "z<": "\x00"},
		MD5OfMessageAttributes: "d41d8cd98f00b204e9800998ecf8427e",
		MessageAttributes: map[string]attributeValue{
			"s":     {DataType: "String", StringValue: "v\"<"},
			"b":     {DataType: "Binary", BinaryValue: []byte{0, 1, 2, 0xff}},
			"n":     {DataType: "Number.int", StringValue: "12"},
			"lists": {DataType: "String", StringListValues: []string{"a", "é"}, BinaryListValues: [][]byte{{1}, nil, {}}},
			"empty": {},
		},
	}
	for _, r := range []receiveResult{
		{},
		{Messages: []wireMessage{}},
		{Messages: []wireMessage{{}}},
		{Messages: []wireMessage{{MessageId: "id", ReceiptHandle: "h", MD5OfBody: "m", Body: "b"}, full}},
		{Messages: []wireMessage{{Attributes: map[string]string{}, MessageAttributes: map[string]attributeValue{}}}},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON(%+v)\n got %s\nwant %s", r, got, want)
		}
	}
}
