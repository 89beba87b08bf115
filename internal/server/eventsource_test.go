package server

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"sluice/internal/function/functest"
)

// TestQueueTriggerUserStory is S3 -> queue -> function, the buffering
// pattern: a bucket notifies a queue, an event source mapping feeds the
// queue to an aws-lambda-go function that decodes events.SQSEvent, and
// ReportBatchItemFailures keeps only the reported message.
func TestQueueTriggerUserStory(t *testing.T) {
	zipBytes, err := functest.BuildZip("./testdata/sqsfn")
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, Config{})
	c := clientsFor(srv.Server)
	sq := sqsClient(srv.Server)
	ctx := context.Background()

	r, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("worker"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("worker"), Role: r.Role.Arn,
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Timeout: aws.Int32(10),
		Code: &ltypes.FunctionCode{ZipFile: zipBytes}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"photos", "seen"} {
		if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	const jobsARN = "arn:aws:sqs:us-east-1:000000000000:jobs"
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs"),
		Attributes: map[string]string{"Policy": allowPolicy(jobsARN, "photos"), "VisibilityTimeout": "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{
			{QueueArn: aws.String(jobsARN), Events: []s3types.Event{"s3:ObjectCreated:*"}}}}}); err != nil {
		t.Fatal(err)
	}

	// Refusals first: a missing queue, a batch too big without a window.
	var inv *ltypes.InvalidParameterValueException
	_, err = c.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "NonExistentQueue") {
		t.Fatalf("mapping of a missing queue: %v", err)
	}
	_, err = c.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"),
		EventSourceArn: aws.String(jobsARN), BatchSize: aws.Int32(100)})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "Maximum batch window") {
		t.Fatalf("BatchSize 100 without a window: %v", err)
	}
	var nf *ltypes.ResourceNotFoundException
	_, err = c.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("ghost"), EventSourceArn: aws.String(jobsARN)})
	if !errors.As(err, &nf) {
		t.Fatalf("mapping to a missing function: %v", err)
	}

	m, err := c.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"),
		EventSourceArn: aws.String(jobsARN), BatchSize: aws.Int32(10), FunctionResponseTypes: []ltypes.FunctionResponseType{"ReportBatchItemFailures"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(m.State) != "Creating" || aws.ToString(m.UUID) == "" || aws.ToInt32(m.BatchSize) != 10 ||
		aws.ToString(m.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:worker" {
		t.Fatalf("CreateEventSourceMapping = %+v", m)
	}
	var conflict *ltypes.ResourceConflictException
	_, err = c.lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"), EventSourceArn: aws.String(jobsARN)})
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), aws.ToString(m.UUID)) {
		t.Fatalf("second mapping of the same queue and function: %v", err)
	}
	got, err := c.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || aws.ToString(got.State) != "Enabled" {
		t.Fatalf("GetEventSourceMapping = %+v, %v", got, err)
	}

	// S3 -> queue -> function.
	if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("incoming/cat.jpg"),
		Body: strings.NewReader("meow")}); err != nil {
		t.Fatal(err)
	}
	// The queue holds S3's s3:TestEvent (sent when the configuration was
	// saved) and the record of the upload.
	seen := waitSeen(t, c.s3, 2)
	var rec events.SQSMessage
	for _, b := range seen {
		var r events.SQSMessage
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Body, "incoming/cat.jpg") {
			rec = r
		}
	}
	sum := md5.Sum([]byte(rec.Body))
	if rec.EventSource != "aws:sqs" || rec.EventSourceARN != jobsARN || rec.AWSRegion != "us-east-1" || rec.ReceiptHandle == "" ||
		rec.Md5OfBody != hex.EncodeToString(sum[:]) || rec.Attributes["ApproximateReceiveCount"] != "1" ||
		rec.Attributes["SentTimestamp"] == "" || rec.Attributes["ApproximateFirstReceiveTimestamp"] == "" {
		t.Fatalf("SQS record as the function decoded it: %+v", rec)
	}
	var s3ev events.S3Event
	if err := json.Unmarshal([]byte(rec.Body), &s3ev); err != nil || len(s3ev.Records) != 1 || s3ev.Records[0].S3.Object.Key != "incoming/cat.jpg" {
		t.Fatalf("record body is not the S3 event for incoming/cat.jpg: %v %s", err, rec.Body)
	}

	// ReportBatchItemFailures: the reported message stays (in flight), the
	// other is deleted.
	if _, err := sq.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("ok-2"), MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("photo")}}},
		{Id: aws.String("b"), MessageBody: aws.String("fail-2")},
	}}); err != nil {
		t.Fatal(err)
	}
	seen = waitSeen(t, c.s3, 3)
	var ok2 events.SQSMessage
	for _, b := range seen {
		var r events.SQSMessage
		json.Unmarshal(b, &r)
		if r.Body == "fail-2" {
			t.Fatalf("the failing message was processed: %s", b)
		}
		if r.Body == "ok-2" {
			ok2 = r
		}
	}
	if ok2.MessageAttributes["kind"].StringValue == nil || *ok2.MessageAttributes["kind"].StringValue != "photo" || ok2.MessageAttributes["kind"].DataType != "String" {
		t.Fatalf("message attributes in the SQS record: %+v", ok2.MessageAttributes)
	}
	checkFor(t, 10*time.Second, func() error {
		a, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
		if err != nil {
			return err
		}
		if a.Attributes["ApproximateNumberOfMessages"] != "0" || a.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" {
			return errors.New("queue counts " + a.Attributes["ApproximateNumberOfMessages"] + " visible, " + a.Attributes["ApproximateNumberOfMessagesNotVisible"] + " in flight; want 0 and 1 (only fail-2 kept)")
		}
		return nil
	})

	list, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("worker")})
	if err != nil || len(list.EventSourceMappings) != 1 || aws.ToString(list.EventSourceMappings[0].UUID) != aws.ToString(m.UUID) {
		t.Fatalf("ListEventSourceMappings = %+v, %v", list, err)
	}
	up, err := c.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)})
	if err != nil || aws.ToString(up.State) != "Disabling" {
		t.Fatalf("UpdateEventSourceMapping(disable) = %+v, %v", up, err)
	}
	del, err := c.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
	if err != nil || aws.ToString(del.State) != "Deleting" {
		t.Fatalf("DeleteEventSourceMapping = %+v, %v", del, err)
	}
	if _, err := c.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID}); !errors.As(err, &nf) {
		t.Fatalf("GetEventSourceMapping after delete: %v", err)
	}
	// Deleted: nothing polls the queue any more, so a new message stays for
	// the test's own receive.
	if _, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("ok-3")}); err != nil {
		t.Fatal(err)
	}
	out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 5})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "ok-3" {
		t.Fatalf("receive after the mapping was deleted = %+v, %v", out, err)
	}
}

// waitSeen waits until the bucket "seen" holds want objects and returns
// their bodies.
func waitSeen(t *testing.T, client *s3.Client, want int) [][]byte {
	t.Helper()
	var bodies [][]byte
	checkFor(t, 20*time.Second, func() error {
		bodies = nil
		l, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("seen")})
		if err != nil {
			return err
		}
		if len(l.Contents) < want {
			return errors.New("not yet")
		}
		for _, o := range l.Contents {
			g, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("seen"), Key: o.Key})
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(g.Body)
			g.Body.Close()
			bodies = append(bodies, b)
		}
		return nil
	})
	return bodies
}

// checkFor retries f every 20 ms until it returns nil or total passes.
func checkFor(t *testing.T, total time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", total, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
