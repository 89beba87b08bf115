package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"sluice/internal/dispatch"
	"sluice/internal/function/functest"
)

// TestS3InvokesFunction is the seed's tutorial through the real server:
// add-permission for S3, a CloudFunctionConfiguration, PutObject; the
// function (aws-lambda-go, events.S3Event) runs asynchronously with one
// record and writes what it got; the wait API returns once the invocation
// finished. Also Invoke Event (202) with an OnFailure queue.
func TestS3InvokesFunction(t *testing.T) {
	zipBytes, err := functest.BuildZip("./testdata/s3fn")
	if err != nil {
		t.Fatal(err)
	}
	e := newNotifyEnv(t, Config{})
	c := clientsFor(e.srv.Server)
	ctx := context.Background()
	r, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("thumbs"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := c.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("thumbs"), Role: r.Role.Arn,
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Timeout: aws.Int32(10),
		Code: &ltypes.FunctionCode{ZipFile: zipBytes}})
	if err != nil {
		t.Fatal(err)
	}
	e.bucket("photos")
	e.bucket("seen")
	notify := func() error {
		_, err := e.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"),
			NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{
				Id: aws.String("thumbs"), LambdaFunctionArn: fn.FunctionArn, Events: []s3types.Event{"s3:ObjectCreated:*"},
				Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: []s3types.FilterRule{
					{Name: "prefix", Value: aws.String("incoming/")}}}}}}}})
		return err
	}
	// Without the permission S3 may not invoke the function.
	if err := notify(); err == nil || !strings.Contains(err.Error(), "Unable to validate the following destination configurations") {
		t.Fatalf("configuration without add-permission: %v", err)
	}
	if _, err := c.lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("thumbs"), StatementId: aws.String("s3"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"),
		SourceArn: aws.String("arn:aws:s3:::photos"), SourceAccount: aws.String("000000000000")}); err != nil {
		t.Fatal(err)
	}
	if err := notify(); err != nil {
		t.Fatal(err)
	}
	// The function's own write into "seen" notifies a queue: the wait
	// for the upload follows it (the function's request carries the
	// upload's lineage), so it returns only once that record is in too.
	_, seenARN := e.queue("seen-events", "seen", true)
	if _, err := e.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("seen"),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{
			queueConfig("seen", seenARN, []s3types.Event{"s3:ObjectCreated:*"}, "", "")}}}); err != nil {
		t.Fatal(err)
	}
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("incoming/cat 1.jpg"),
		Body: strings.NewReader("meow")})
	if err != nil {
		t.Fatal(err)
	}
	putID, _ := awsmiddleware.GetRequestIDMetadata(put.ResultMetadata)
	res := e.wait(putID, "20s")
	if !res.Complete || len(res.Records) != 2 {
		t.Fatalf("wait = %+v, want the invocation and the record its write caused", res)
	}
	kinds := map[string]string{}
	for _, r := range res.Records {
		if r.State != dispatch.StateDelivered.String() {
			t.Fatalf("wait: record %+v not delivered", r)
		}
		kinds[r.Kind] = r.Destination
	}
	if kinds["queue"] != seenARN || kinds["function"] == "" {
		t.Fatalf("wait records by kind %v, want the function and %s", kinds, seenARN)
	}
	// Delivered means the invocation finished: its write is there already.
	g, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("seen"), Key: aws.String("photos/incoming/cat+1.jpg")})
	if err != nil {
		t.Fatalf("the function's output is missing right after wait: %v", err)
	}
	var rec events.S3EventRecord
	if err := json.NewDecoder(g.Body).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	g.Body.Close()
	if rec.EventName != "ObjectCreated:Put" || rec.EventSource != "aws:s3" || rec.S3.Bucket.Name != "photos" ||
		rec.S3.Object.Key != "incoming/cat+1.jpg" || rec.S3.Object.Size != 4 || rec.S3.ConfigurationID != "thumbs" ||
		rec.ResponseElements["x-amz-request-id"] != putID {
		t.Fatalf("the function got %+v", rec)
	}

	// Invoke Event: 202 at once; a failing event goes to OnFailure after
	// its retries (MaximumRetryAttempts 0 here, so at once).
	sq := sqsClient(e.srv.Server)
	_, failARN := e.queue("failed", "photos", false)
	if _, err := c.lambda.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("thumbs"),
		MaximumRetryAttempts: aws.Int32(0), DestinationConfig: &ltypes.DestinationConfig{OnFailure: &ltypes.OnFailure{Destination: aws.String(failARN)}}}); err != nil {
		t.Fatal(err)
	}
	payload := `{"Records":[{"s3":{"bucket":{"name":"photos"},"object":{"key":"fail.jpg"}}}]}`
	inv, err := c.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("thumbs"), InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(payload)})
	if err != nil || inv.StatusCode != 202 {
		t.Fatalf("Invoke Event = %+v, %v", inv, err)
	}
	invID, _ := awsmiddleware.GetRequestIDMetadata(inv.ResultMetadata)
	url := "http://" + strings.TrimPrefix(e.srv.URL(), "http://") + "/000000000000/failed"
	var body string
	checkFor(t, 20*time.Second, func() error {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
		if err != nil {
			return err
		}
		if len(out.Messages) == 0 {
			return errors.New("no failure record yet")
		}
		body = aws.ToString(out.Messages[0].Body)
		return nil
	})
	var fr struct {
		RequestContext struct {
			RequestID, FunctionArn, Condition string
			ApproximateInvokeCount            int
		}
		RequestPayload  json.RawMessage
		ResponsePayload struct{ ErrorMessage string }
	}
	if err := json.Unmarshal([]byte(body), &fr); err != nil {
		t.Fatal(err)
	}
	if fr.RequestContext.RequestID != invID || fr.RequestContext.Condition != "RetriesExhausted" || fr.RequestContext.ApproximateInvokeCount != 1 ||
		fr.RequestContext.FunctionArn != aws.ToString(fn.FunctionArn)+":$LATEST" || string(fr.RequestPayload) != payload ||
		!strings.Contains(fr.ResponsePayload.ErrorMessage, "refusing fail.jpg") {
		t.Fatalf("failure record = %s (request id %s)", body, invID)
	}
}
