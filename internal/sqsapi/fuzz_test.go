package sqsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/queue"
	"sluice/internal/storage/pebblestore"
)

// FuzzFormToJSON: any query-protocol form converts without panicking to a
// JSON object, and a top-level parameter with no dotted relatives keeps
// its value (the round trip the actions rely on).
func FuzzFormToJSON(f *testing.F) {
	for _, s := range []string{
		"Action=SendMessage&QueueUrl=http%3A%2F%2F127.0.0.1%2F000000000000%2Fq&MessageBody=hi",
		"Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x" +
			"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String" +
			"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v",
		"Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v",
		"Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10",
		"Entry.0.Id=a&Entry.1001.Id=b&Entry.x.Id=c&A=1&A.B=2",
		"a.a.a.a.a.a.a.a.a.a.a.a=deep",
		"Attribute.1.Name=&Attribute.1.Value=x&Attribute.2=y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		out, err := formToJSON(form)
		if err != nil {
			t.Fatalf("formToJSON(%q): %v", raw, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("formToJSON(%q) = %s: not a JSON object: %v", raw, out, err)
		}
		targets := map[string]bool{}
		for k := range form {
			head, _, dotted := strings.Cut(k, ".")
			if !dotted {
				continue
			}
			targets[head] = true
			if m, ok := queryLists[head]; ok {
				targets[m] = true
			}
			if m, ok := queryMaps[head]; ok {
				targets[m.member] = true
			}
		}
		for k, vs := range form {
			// JSON carries text: invalid UTF-8 comes out as U+FFFD.
			if !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
				continue
			}
			if strings.Contains(k, ".") || k == "Action" || k == "Version" || strings.HasPrefix(k, "X-Amz-") || len(vs) == 0 {
				continue
			}
			// A dotted parameter whose JSON member is k ("A.B", or
			// "Attribute.1.Name" for Attributes) legitimately replaces it.
			if _, list := queryLists[k]; list || targets[k] {
				continue
			}
			if _, isMap := queryMaps[k]; isMap {
				continue
			}
			if got, ok := doc[k].(string); !ok || got != vs[0] {
				t.Fatalf("form %q: %s = %v in %s, want %q", raw, k, doc[k], out, vs[0])
			}
		}
	})
}

// fuzzHandler is an SQS handler on in-memory storage with queue "q",
// served without a listener. Its clock is real: a long poll in a fuzz
// input ends with the request's short deadline.
func fuzzHandler(f *testing.F) *Handler {
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clock.Real{}})
	if err != nil {
		f.Fatal(err)
	}
	qs := queue.New(queue.Config{Store: st, Clock: clock.Real{}})
	f.Cleanup(func() {
		qs.Close()
		st.Close()
	})
	if err := qs.Create(context.Background(), "q", nil, nil); err != nil {
		f.Fatal(err)
	}
	return New(Config{
		Queues: qs,
		Verifier: &auth.Verifier{
			Keys:  auth.NewStaticKeyring(auth.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey, Principal: "AIDASLUICE"}),
			Clock: clock.Real{},
		},
		PublicURL: "http://127.0.0.1:9",
	})
}

// FuzzJSONRequest sends signed AWS JSON 1.0 requests with any action and
// body: the handler never panics, never answers 5xx, and every refusal is
// an SQS error as the SDKs parse it (4xx, a __type that is a code of the
// error table, namespaced com.amazonaws.sqs# when modeled, a message, and
// x-amzn-query-error "Code;Sender" naming the same code).
func FuzzJSONRequest(f *testing.F) {
	const q = `"QueueUrl":"http://127.0.0.1:9/000000000000/q"`
	for _, s := range []struct{ action, body string }{
		{"SendMessage", `{` + q + `,"MessageBody":"hi","DelaySeconds":0}`},
		{"SendMessage", `{` + q + `,"MessageBody":"hi","MessageAttributes":{"a":{"DataType":"Number","StringValue":"1"}}}`},
		{"SendMessageBatch", `{` + q + `,"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"a","MessageBody":"y"}]}`},
		{"ReceiveMessage", `{` + q + `,"MaxNumberOfMessages":10,"WaitTimeSeconds":1,"MessageSystemAttributeNames":["All"]}`},
		{"DeleteMessageBatch", `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"czE6cTp4Ong="}]}`},
		{"ChangeMessageVisibility", `{` + q + `,"ReceiptHandle":"x","VisibilityTimeout":"43201"}`},
		{"CreateQueue", `{"QueueName":"q2","Attributes":{"VisibilityTimeout":"-1"},"tags":{"k":"v"}}`},
		{"SetQueueAttributes", `{` + q + `,"Attributes":{"Policy":"{\"Statement\":[]}"}}`},
		{"ListQueues", `{"QueueNamePrefix":"q","MaxResults":1}`},
		{"GetQueueAttributes", `{` + q + `,"AttributeNames":["All"]}`},
		{"NoSuchAction", `{}`},
		{"SendMessage", `{"QueueUrl":1}`},
		{"SendMessage", `[1,2`},
	} {
		f.Add(s.action, []byte(s.body))
	}
	h := fuzzHandler(f)
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		for _, c := range []byte(action) {
			if c <= ' ' || c > '~' {
				// Not an action name: control characters and spaces in
				// X-Amz-Target are the signature canonicaliser's business
				// (internal/auth), not this parser's.
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:9/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
			t.Skip(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %q: 200 with a body that is not JSON: %q", action, body, rec.Body)
			}
			return
		}
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("%s %q: status %d, want 200 or 4xx; body %s", action, body, rec.Code, rec.Body)
		}
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" {
			t.Fatalf("%s %q: error body %q is not an SQS JSON error", action, body, rec.Body)
		}
		code := strings.TrimPrefix(e.Type, "com.amazonaws.sqs#")
		if _, known := errTable[code]; !known || (errTable[code].modeled != (code != e.Type)) {
			t.Fatalf("%s %q: __type %q is not an SQS error code as the table renders it", action, body, e.Type)
		}
		if qe := rec.Header().Get("x-amzn-query-error"); qe != errTable[code].code+";Sender" {
			t.Fatalf("%s %q: x-amzn-query-error %q, want %s;Sender", action, body, qe, errTable[code].code)
		}
	})
}
