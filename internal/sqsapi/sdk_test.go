package sqsapi

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"sluice/internal/queue"
)

func TestQueueLifecycle(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("orders", map[string]string{"VisibilityTimeout": "60"})
	if u != e.url("orders") {
		t.Fatalf("QueueUrl = %s, want %s", u, e.url("orders"))
	}
	// Idempotent with equal attributes; QueueNameExists otherwise.
	e.createQueue("orders", map[string]string{"VisibilityTimeout": "60"})
	_, err := e.client.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "61"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || apiErr(t, err).ErrorCode() != "QueueAlreadyExists" {
		t.Fatalf("CreateQueue with other attributes: %v", err)
	}
	got, err := e.client.GetQueueUrl(e.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil || aws.ToString(got.QueueUrl) != u {
		t.Fatalf("GetQueueUrl = %v, %v", got, err)
	}
	_, err = e.client.GetQueueUrl(e.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) || apiErr(t, err).ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("GetQueueUrl(nope): %v", err)
	}
	// The host of a QueueUrl does not matter, only <account>/<name>.
	if _, err := e.client.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/000000000000/orders")}); err != nil {
		t.Fatalf("QueueUrl with another host: %v", err)
	}
	if _, err := e.client.DeleteQueue(e.ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteQueue(e.ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
	if !errors.As(err, &dne) {
		t.Fatalf("DeleteQueue twice: %v", err)
	}
	_, err = e.client.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("bad.name")})
	if code := apiErr(t, err).ErrorCode(); code != "InvalidParameterValue" {
		t.Fatalf("CreateQueue(bad.name) code = %s", code)
	}
}

func TestListQueuesPagination(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := 0; i < 5; i++ {
		want = append(want, e.createQueue(fmt.Sprintf("list-%d", i), nil))
	}
	e.createQueue("other", nil)
	var got []string
	p := sqs.NewListQueuesPaginator(e.client, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list-"), MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() && pages < 10 {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, out.QueueUrls...)
	}
	if !reflect.DeepEqual(got, want) || pages != 3 {
		t.Fatalf("paginated ListQueues = %v in %d pages, want %v in 3", got, pages, want)
	}
	all, err := e.client.ListQueues(e.ctx, &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 6 || all.NextToken != nil {
		t.Fatalf("ListQueues() = %v, %v", all, err)
	}
}

func TestQueueAttributes(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("attrs", nil)
	out, err := e.client.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: &u, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"VisibilityTimeout": "30", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
		"QueueArn": "arn:aws:sqs:us-east-1:000000000000:attrs", "ApproximateNumberOfMessages": "0", "DelaySeconds": "0"} {
		if out.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, out.Attributes[k], v)
		}
	}
	_, err = e.client.SetQueueAttributes(e.ctx, &sqs.SetQueueAttributesInput{QueueUrl: &u, Attributes: map[string]string{"DelaySeconds": "901"}})
	var iav *types.InvalidAttributeValue
	if !errors.As(err, &iav) {
		t.Fatalf("DelaySeconds 901: %v", err)
	}
	_, err = e.client.SetQueueAttributes(e.ctx, &sqs.SetQueueAttributesInput{QueueUrl: &u, Attributes: map[string]string{"Bogus": "1"}})
	var ian *types.InvalidAttributeName
	if !errors.As(err, &ian) {
		t.Fatalf("unknown attribute: %v", err)
	}
	if _, err := e.client.SetQueueAttributes(e.ctx, &sqs.SetQueueAttributesInput{QueueUrl: &u, Attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "20"}}); err != nil {
		t.Fatal(err)
	}
	out, _ = e.client.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: &u, AttributeNames: []types.QueueAttributeName{"ReceiveMessageWaitTimeSeconds"}})
	if !reflect.DeepEqual(out.Attributes, map[string]string{"ReceiveMessageWaitTimeSeconds": "20"}) {
		t.Fatalf("after SetQueueAttributes: %v", out.Attributes)
	}
}

func TestSendReceiveDeleteWithAttributes(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("msgs", nil)
	sent, err := e.client.SendMessage(e.ctx, &sqs.SendMessageInput{
		QueueUrl: &u, MessageBody: aws.String("hello ✓"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"colour": {DataType: aws.String("String"), StringValue: aws.String("blue")},
			"size":   {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"raw":    {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		},
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")},
		},
	})
	if err != nil {
		t.Fatal(err) // the SDK checks MD5OfMessageBody itself
	}
	if aws.ToString(sent.MD5OfMessageAttributes) == "" {
		t.Fatal("no MD5OfMessageAttributes")
	}
	recv, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &u, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"colour", "size"},
	})
	if err != nil {
		t.Fatal(err) // the SDK checks MD5OfBody itself
	}
	if len(recv.Messages) != 1 {
		t.Fatalf("received %d messages", len(recv.Messages))
	}
	m := recv.Messages[0]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(m.Body) != "hello ✓" {
		t.Fatalf("message = %+v", m)
	}
	if len(m.MessageAttributes) != 2 || aws.ToString(m.MessageAttributes["colour"].StringValue) != "blue" {
		t.Fatalf("MessageAttributes = %v", m.MessageAttributes)
	}
	wantMD5 := queue.MD5OfAttributes(map[string]queue.Attribute{"colour": {DataType: "String", StringValue: "blue"}, "size": {DataType: "Number", StringValue: "42"}})
	if aws.ToString(m.MD5OfMessageAttributes) != wantMD5 {
		t.Fatalf("MD5OfMessageAttributes = %s, want %s (over the returned attributes only)", aws.ToString(m.MD5OfMessageAttributes), wantMD5)
	}
	sentMs := strconv.FormatInt(e.clock.Now().UnixMilli(), 10)
	for k, v := range map[string]string{"ApproximateReceiveCount": "1", "SenderId": "AIDASLUICE", "SentTimestamp": sentMs,
		"ApproximateFirstReceiveTimestamp": sentMs, "AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"} {
		if m.Attributes[k] != v {
			t.Errorf("system attribute %s = %q, want %q", k, m.Attributes[k], v)
		}
	}
	if _, err := e.client.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: &u, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// Deleted already: a well-formed stale handle is a 200 no-op.
	if _, err := e.client.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: &u, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("stale receipt handle: %v", err)
	}
	_, err = e.client.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: &u, ReceiptHandle: aws.String("garbage")})
	var rhi *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rhi) {
		t.Fatalf("malformed receipt handle: %v", err)
	}
	empty, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &u})
	if err != nil || len(empty.Messages) != 0 {
		t.Fatalf("after delete: %v, %v", empty, err)
	}
}

func TestSendValidation(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("v", map[string]string{"MaximumMessageSize": "1024"})
	cases := []struct {
		name string
		body string
		code string
	}{
		{"too large", strings.Repeat("x", 1025), "InvalidParameterValue"},
		{"invalid character", "a\x01b", "InvalidMessageContents"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String(tc.body)})
			if code := apiErr(t, err).ErrorCode(); code != tc.code {
				t.Fatalf("code = %s, want %s", code, tc.code)
			}
		})
	}
	_, err := e.client.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String("abc")}}})
	if code := apiErr(t, err).ErrorCode(); code != "InvalidParameterValue" {
		t.Fatalf("non-numeric Number attribute: %s", code)
	}
	attrs, _ := e.client.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: &u, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if attrs.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("refused messages were stored: %v", attrs.Attributes)
	}
}

func TestBatches(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("batch", nil)
	out, err := e.client.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: &u, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("bad\x02")},
		{Id: aws.String("c"), MessageBody: aws.String("three"), DelaySeconds: 0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "b" ||
		aws.ToString(out.Failed[0].Code) != "InvalidMessageContents" || !out.Failed[0].SenderFault {
		t.Fatalf("SendMessageBatch = %+v", out)
	}
	var eleven []types.SendMessageBatchRequestEntry
	for i := 0; i < 11; i++ {
		eleven = append(eleven, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String("x")})
	}
	_, err = e.client.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: &u, Entries: eleven})
	if !errors.As(err, new(*types.TooManyEntriesInBatchRequest)) {
		t.Fatalf("11 entries: %v", err)
	}
	_, err = e.client.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: &u, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("d"), MessageBody: aws.String("x")}, {Id: aws.String("d"), MessageBody: aws.String("y")}}})
	if !errors.As(err, new(*types.BatchEntryIdsNotDistinct)) {
		t.Fatalf("duplicate ids: %v", err)
	}
	_, err = e.client.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: &u, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("no spaces"), MessageBody: aws.String("x")}}})
	if !errors.As(err, new(*types.InvalidBatchEntryId)) {
		t.Fatalf("invalid id: %v", err)
	}

	recv, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, MaxNumberOfMessages: 10})
	if err != nil || len(recv.Messages) != 2 {
		t.Fatalf("received %v, %v; want the 2 valid messages only", recv, err)
	}
	cv, err := e.client.ChangeMessageVisibilityBatch(e.ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &u, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: recv.Messages[0].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("y"), ReceiptHandle: aws.String("junk"), VisibilityTimeout: 0},
	}})
	if err != nil || len(cv.Successful) != 1 || len(cv.Failed) != 1 || aws.ToString(cv.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("ChangeMessageVisibilityBatch = %+v, %v", cv, err)
	}
	again, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, MaxNumberOfMessages: 10})
	if err != nil || len(again.Messages) != 1 {
		t.Fatalf("after visibility 0: %v, %v", again, err)
	}
	del, err := e.client.DeleteMessageBatch(e.ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &u, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("1"), ReceiptHandle: again.Messages[0].ReceiptHandle},
		{Id: aws.String("2"), ReceiptHandle: recv.Messages[1].ReceiptHandle},
	}})
	if err != nil || len(del.Successful) != 2 || len(del.Failed) != 0 {
		t.Fatalf("DeleteMessageBatch = %+v, %v", del, err)
	}
	// The SDK refuses an empty batch itself; a raw request gets the error.
	resp, body := e.jsonCall("DeleteMessageBatch", `{"QueueUrl":"`+u+`","Entries":[]}`)
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-query-error") != "AWS.SimpleQueueService.EmptyBatchRequest;Sender" ||
		!strings.Contains(body, `"__type":"com.amazonaws.sqs#EmptyBatchRequest"`) {
		t.Fatalf("empty batch: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestChangeVisibilityNotInflight(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("cv", nil)
	e.client.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String("m")})
	recv, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, VisibilityTimeout: 5})
	if err != nil || len(recv.Messages) != 1 {
		t.Fatalf("%v %v", recv, err)
	}
	e.clock.Advance(6 * time.Second)
	_, err = e.client.ChangeMessageVisibility(e.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &u, ReceiptHandle: recv.Messages[0].ReceiptHandle, VisibilityTimeout: 10})
	if !errors.As(err, new(*types.MessageNotInflight)) {
		t.Fatalf("ChangeMessageVisibility after the lease: %v", err)
	}
}

func TestLongPollReturnsOnSend(t *testing.T) {
	e := newEnv(t)
	u := e.createQueue("lp", nil)
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &u, WaitTimeSeconds: 20})
		done <- result{out, err}
	}()
	sent, err := e.client.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &u, MessageBody: aws.String("ping")})
	if err != nil {
		t.Fatal(err)
	}
	// The queue's clock never moves in this test, so only the message can
	// end the 20-second wait.
	select {
	case r := <-done:
		if r.err != nil || len(r.out.Messages) != 1 || aws.ToString(r.out.Messages[0].MessageId) != aws.ToString(sent.MessageId) {
			t.Fatalf("long poll = %+v, %v", r.out, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not return the message")
	}
}

func TestPurgeTagsAndDeadLetters(t *testing.T) {
	e := newEnv(t)
	dlq := e.createQueue("dlq", nil)
	src := e.createQueue("src", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1}`})

	if _, err := e.client.PurgeQueue(e.ctx, &sqs.PurgeQueueInput{QueueUrl: &src}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.PurgeQueue(e.ctx, &sqs.PurgeQueueInput{QueueUrl: &src})
	if !errors.As(err, new(*types.PurgeQueueInProgress)) {
		t.Fatalf("second purge: %v", err)
	}

	if _, err := e.client.TagQueue(e.ctx, &sqs.TagQueueInput{QueueUrl: &src, Tags: map[string]string{"team": "a", "env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagQueue(e.ctx, &sqs.UntagQueueInput{QueueUrl: &src, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.client.ListQueueTags(e.ctx, &sqs.ListQueueTagsInput{QueueUrl: &src})
	if err != nil || !reflect.DeepEqual(tags.Tags, map[string]string{"team": "a"}) {
		t.Fatalf("ListQueueTags = %v, %v", tags, err)
	}

	srcs, err := e.client.ListDeadLetterSourceQueues(e.ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil || !reflect.DeepEqual(srcs.QueueUrls, []string{src}) {
		t.Fatalf("ListDeadLetterSourceQueues = %v, %v", srcs, err)
	}

	// Redrive: received once, the second receive moves it to the DLQ.
	e.client.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String("poison")})
	if r, _ := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &src, VisibilityTimeout: 0}); len(r.Messages) != 1 {
		t.Fatal("first receive got nothing")
	}
	e.clock.Advance(31 * time.Second) // the SDK leaves VisibilityTimeout 0 out: the default 30 s applied
	if r, _ := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &src}); len(r.Messages) != 0 {
		t.Fatal("message past maxReceiveCount was delivered")
	}
	r, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &dlq,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameDeadLetterQueueSourceArn}})
	if err != nil || len(r.Messages) != 1 || r.Messages[0].Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:src" {
		t.Fatalf("dead-letter queue: %+v, %v", r, err)
	}

	e.clock.Advance(31 * time.Second)
	task, err := e.client.StartMessageMoveTask(e.ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")})
	if err != nil {
		t.Fatal(err)
	}
	var status string
	for i := 0; i < 1000 && status != "COMPLETED"; i++ {
		list, err := e.client.ListMessageMoveTasks(e.ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")})
		if err != nil || len(list.Results) != 1 {
			t.Fatalf("ListMessageMoveTasks = %v, %v", list, err)
		}
		status = aws.ToString(list.Results[0].Status)
		if status == "COMPLETED" && list.Results[0].ApproximateNumberOfMessagesMoved != 1 {
			t.Fatalf("task = %+v", list.Results[0])
		}
		time.Sleep(time.Millisecond)
	}
	if status != "COMPLETED" {
		t.Fatalf("task status %s", status)
	}
	_, err = e.client.CancelMessageMoveTask(e.ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: task.TaskHandle})
	if !errors.As(err, new(*types.UnsupportedOperation)) {
		t.Fatalf("cancel of a finished task: %v", err)
	}
	back, err := e.client.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: &src})
	if err != nil || len(back.Messages) != 1 || aws.ToString(back.Messages[0].Body) != "poison" {
		t.Fatalf("moved back: %+v, %v", back, err)
	}
}

func TestMetricsCountActionsAndCodes(t *testing.T) {
	e := newEnv(t)
	e.createQueue("m", nil)
	e.client.GetQueueUrl(e.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("absent")})
	want := `
# HELP sluice_sqs_requests_total SQS requests by action and result code (OK or the SQS error code).
# TYPE sluice_sqs_requests_total counter
sluice_sqs_requests_total{action="CreateQueue",code="OK"} 1
sluice_sqs_requests_total{action="GetQueueUrl",code="AWS.SimpleQueueService.NonExistentQueue"} 1
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), "sluice_sqs_requests_total"); err != nil {
		t.Fatal(err)
	}
	// Every request is timed under its action.
	if n := testutil.CollectAndCount(e.reg, "sluice_sqs_request_duration_seconds"); n != 2 {
		t.Fatalf("duration series = %d, want one per action (2)", n)
	}
}
