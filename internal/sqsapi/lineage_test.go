package sqsapi

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"sluice/internal/event"
	"sluice/internal/queue"
)

// lineageByKey is an event.LineageSource over a fixed map.
type lineageByKey map[string]event.Lineage

func (m lineageByKey) Lineage(key string) (event.Lineage, bool) {
	l, ok := m[key]
	return l, ok
}

// TestSendStoresFunctionLineage: SendMessage and SendMessageBatch signed
// with a function instance's key store that invocation's lineage with the
// message; a send with any other key stores none; the lineage never shows
// in what a client receives (attributes, their digest, the raw body).
func TestSendStoresFunctionLineage(t *testing.T) {
	e := newEnv(t)
	lin := event.Lineage{RequestID: "req-root", TraceID: "Root=1-00000000-000000000000000000000001", Chain: []string{"inv-aaaa", "inv-bbbb"}}
	e.h.lineage = lineageByKey{testFnAccessKey: lin}
	u := e.createQueue("loop", nil)
	fn := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(testFnAccessKey, testFnSecretKey, ""),
	})
	sent, err := fn.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String("from function")})
	if err != nil {
		t.Fatal(err)
	}
	if sent.MD5OfMessageAttributes != nil {
		t.Errorf("MD5OfMessageAttributes = %q, want none", aws.ToString(sent.MD5OfMessageAttributes))
	}
	if _, err := fn.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: &u,
		Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("batch from function")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String("from user")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: &u,
		Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("batch from user")}}}); err != nil {
		t.Fatal(err)
	}

	// What a client receives: nothing of the lineage.
	_, raw := e.jsonCall("ReceiveMessage", `{"QueueUrl":"`+u+`","MaxNumberOfMessages":10,"VisibilityTimeout":0,"AttributeNames":["All"],"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["All"]}`)
	if !strings.Contains(raw, "from function") {
		t.Fatalf("ReceiveMessage = %s, want the messages", raw)
	}
	for _, s := range append([]string{lin.RequestID, "Root=1-00000000"}, lin.Chain...) {
		if strings.Contains(raw, s) {
			t.Errorf("ReceiveMessage shows the lineage's %q: %s", s, raw)
		}
	}
	if strings.Contains(raw, "MD5OfMessageAttributes") {
		t.Errorf("ReceiveMessage has MD5OfMessageAttributes for messages without attributes: %s", raw)
	}

	// What is stored: the function's lineage on its messages only.
	wait := time.Duration(0)
	msgs, err := e.queues.Receive(e.ctx, "loop", queue.ReceiveInput{Max: 10, Wait: &wait})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("received %d messages, want 4", len(msgs))
	}
	for _, m := range msgs {
		var want event.Lineage
		if strings.HasSuffix(m.Body, "from function") {
			want = lin
		}
		if !reflect.DeepEqual(m.Lineage, want) {
			t.Errorf("%q: stored lineage %+v, want %+v", m.Body, m.Lineage, want)
		}
	}
}
