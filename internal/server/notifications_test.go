package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"sluice/internal/dispatch"
	"sluice/internal/event"
)

func sqsClient(srv *Server) *sqs.Client {
	root := srv.RootCredentials()
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, ""),
	})
}

// allowPolicy is the queue policy AWS's docs give for S3 notifications.
func allowPolicy(queueARN, bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},`+
		`"Action":"SQS:SendMessage","Resource":"%s","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:*:%s"},`+
		`"StringEquals":{"aws:SourceAccount":"000000000000"}}}]}`, queueARN, bucket)
}

type notifyEnv struct {
	t   *testing.T
	srv *running
	s3  *s3.Client
	sqs *sqs.Client
	ctx context.Context
}

func newNotifyEnv(t *testing.T, cfg Config) *notifyEnv {
	srv := start(t, cfg)
	return &notifyEnv{t: t, srv: srv, s3: s3Client(t, srv.Server), sqs: sqsClient(srv.Server), ctx: context.Background()}
}

// queue creates a queue, with the S3 policy for bucket when allow is set,
// and returns its URL and ARN.
func (e *notifyEnv) queue(name, bucket string, allow bool) (string, string) {
	e.t.Helper()
	arn := "arn:aws:sqs:us-east-1:000000000000:" + name
	attrs := map[string]string{}
	if allow {
		attrs["Policy"] = allowPolicy(arn, bucket)
	}
	out, err := e.sqs.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl, arn
}

func (e *notifyEnv) bucket(name string) {
	e.t.Helper()
	if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("CreateBucket: %v", err)
	}
}

func queueConfig(id, arn string, events []s3types.Event, prefix, suffix string) s3types.QueueConfiguration {
	qc := s3types.QueueConfiguration{Id: aws.String(id), QueueArn: aws.String(arn), Events: events}
	var rules []s3types.FilterRule
	if prefix != "" {
		rules = append(rules, s3types.FilterRule{Name: "prefix", Value: aws.String(prefix)})
	}
	if suffix != "" {
		rules = append(rules, s3types.FilterRule{Name: "suffix", Value: aws.String(suffix)})
	}
	if rules != nil {
		qc.Filter = &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: rules}}
	}
	return qc
}

func (e *notifyEnv) putConfig(bucket string, skip bool, qcs ...s3types.QueueConfiguration) error {
	in := &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: qcs},
	}
	if skip {
		in.SkipDestinationValidation = aws.Bool(true)
	}
	_, err := e.s3.PutBucketNotificationConfiguration(e.ctx, in)
	return err
}

// receive takes up to max messages (short poll with a bounded wait) and
// deletes them.
func (e *notifyEnv) receive(queueURL string, want int) []string {
	e.t.Helper()
	var bodies []string
	for i := 0; i < 20 && len(bodies) < want; i++ {
		out, err := e.sqs.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			e.t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, *m.Body)
			if _, err := e.sqs.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				e.t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	return bodies
}

// empty checks that the queue has nothing visible now. Every record is
// committed with its change, before the response, so "now" is exact.
func (e *notifyEnv) empty(queueURL string) {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 0 {
		e.t.Fatalf("queue has %d unexpected messages, first: %s", len(out.Messages), *out.Messages[0].Body)
	}
}

func decodeRecord(t *testing.T, body string) events.S3EventRecord {
	t.Helper()
	var ev events.S3Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(ev.Records) != 1 {
		t.Fatalf("want one record, got %d: %s", len(ev.Records), body)
	}
	return ev.Records[0]
}

func TestNotificationsToQueues(t *testing.T) {
	e := newNotifyEnv(t, Config{})
	e.bucket("photos")
	qURL, qARN := e.queue("events", "photos", true)

	// The configuration is saved and the test event is in the queue.
	err := e.putConfig("photos", false,
		queueConfig("all-jpg", qARN, []s3types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}, "in/", ".jpg"))
	if err != nil {
		t.Fatalf("PutBucketNotificationConfiguration: %v", err)
	}
	bodies := e.receive(qURL, 1)
	if len(bodies) != 1 {
		t.Fatalf("test event: got %d messages", len(bodies))
	}
	var test map[string]string
	if err := json.Unmarshal([]byte(bodies[0]), &test); err != nil || test["Event"] != "s3:TestEvent" || test["Bucket"] != "photos" || test["Service"] != "Amazon S3" {
		t.Fatalf("test event body %s (err %v)", bodies[0], err)
	}

	// GET returns what was saved, filter names capitalised.
	got, err := e.s3.GetBucketNotificationConfiguration(e.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("photos")})
	if err != nil {
		t.Fatalf("GetBucketNotificationConfiguration: %v", err)
	}
	if len(got.QueueConfigurations) != 1 || *got.QueueConfigurations[0].Id != "all-jpg" || *got.QueueConfigurations[0].QueueArn != qARN ||
		len(got.QueueConfigurations[0].Filter.Key.FilterRules) != 2 || got.QueueConfigurations[0].Filter.Key.FilterRules[0].Name != "Prefix" {
		t.Fatalf("GET returned %+v", got.QueueConfigurations)
	}

	// Keys with spaces, unicode and '@' are form-encoded, and decode back.
	var seqs []string
	for _, key := range []string{"in/red flower.jpg", "in/été@home.jpg", "in/red flower.jpg"} {
		put, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(key), Body: strings.NewReader("hello")})
		if err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		reqID, hostID := ids(put.ResultMetadata)
		b := e.receive(qURL, 1)
		if len(b) != 1 {
			t.Fatalf("PutObject %q: got %d records", key, len(b))
		}
		rec := decodeRecord(t, b[0])
		if rec.EventName != "ObjectCreated:Put" || rec.EventSource != "aws:s3" || rec.EventVersion != "2.1" || rec.AWSRegion != "us-east-1" {
			t.Errorf("record header %+v", rec)
		}
		if rec.S3.Object.URLDecodedKey != key {
			t.Errorf("key: got %q (raw %q), want %q", rec.S3.Object.URLDecodedKey, rec.S3.Object.Key, key)
		}
		if rec.S3.Object.Size != 5 || rec.S3.Object.ETag != strings.Trim(*put.ETag, `"`) || rec.S3.ConfigurationID != "all-jpg" ||
			rec.S3.Bucket.Name != "photos" || rec.S3.Bucket.Arn != "arn:aws:s3:::photos" {
			t.Errorf("record s3 %+v", rec.S3)
		}
		if rec.ResponseElements["x-amz-request-id"] != reqID || reqID == "" || rec.ResponseElements["x-amz-id-2"] != hostID {
			t.Errorf("responseElements %v, response carried %q %q", rec.ResponseElements, reqID, hostID)
		}
		if rec.RequestParameters.SourceIPAddress != "127.0.0.1" || rec.PrincipalID.PrincipalID == "" {
			t.Errorf("requester %+v %+v", rec.RequestParameters, rec.PrincipalID)
		}
		if rec.EventTime.IsZero() || !strings.Contains(b[0], `"eventTime":"`) || !strings.Contains(b[0], `.`) {
			t.Errorf("eventTime %v in %s", rec.EventTime, b[0])
		}
		if len(rec.S3.Object.Sequencer) != event.SequencerLen {
			t.Errorf("sequencer %q", rec.S3.Object.Sequencer)
		}
		if key == "in/red flower.jpg" {
			seqs = append(seqs, rec.S3.Object.Sequencer)
		}
	}
	if !(seqs[1] > seqs[0]) {
		t.Errorf("sequencer did not grow for one key: %v", seqs)
	}

	// Filters: wrong prefix or suffix, nothing.
	for _, key := range []string{"out/a.jpg", "in/a.png"} {
		if _, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	e.empty(qURL)

	// A failed PUT (BadDigest) has no event.
	_, err = e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("in/bad.jpg"),
		Body: strings.NewReader("hello"), ContentMD5: aws.String("XrY7u+Ae7tCTyyK7j1rNww==")})
	if apiCode(err) != "BadDigest" {
		t.Fatalf("bad digest PUT: %v", err)
	}
	e.empty(qURL)

	// DELETE: ObjectRemoved:Delete, no size or eTag.
	if _, err := e.s3.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("in/red flower.jpg")}); err != nil {
		t.Fatal(err)
	}
	b := e.receive(qURL, 1)
	if len(b) != 1 {
		t.Fatalf("delete: %d records", len(b))
	}
	rec := decodeRecord(t, b[0])
	if rec.EventName != "ObjectRemoved:Delete" || strings.Contains(b[0], `"size"`) || strings.Contains(b[0], `"eTag"`) || !(rec.S3.Object.Sequencer > seqs[1]) {
		t.Errorf("delete record %s (sequencer after %s)", b[0], seqs[1])
	}

	// The sequencer keeps growing across a restart.
	dir := e.srv.DataDir()
	if err := e.srv.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	e2 := newNotifyEnv(t, Config{DataDir: dir})
	if _, err := e2.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("in/red flower.jpg"), Body: strings.NewReader("again")}); err != nil {
		t.Fatal(err)
	}
	qURL2 := strings.Replace(qURL, e.srv.URL(), e2.srv.URL(), 1)
	b = e2.receive(qURL2, 1)
	if len(b) != 1 {
		t.Fatalf("after restart: %d records", len(b))
	}
	if s := decodeRecord(t, b[0]).S3.Object.Sequencer; !(s > rec.S3.Object.Sequencer) {
		t.Errorf("sequencer after restart %s is not after %s", s, rec.S3.Object.Sequencer)
	}

	// An empty configuration removes every rule.
	if err := e2.putConfig("photos", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("in/x.jpg"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	e2.empty(qURL2)
}

// ids returns the x-amz-request-id and x-amz-id-2 a response carried
// (boto3's ResponseMetadata.RequestId; aws-sdk-go-v2's result metadata).
func ids(md middleware.Metadata) (string, string) {
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	host, _ := s3.GetHostIDMetadata(md)
	return id, host
}

func TestNotificationValidation(t *testing.T) {
	e := newNotifyEnv(t, Config{})
	e.bucket("bucket-one")
	_, okARN := e.queue("ok", "bucket-one", true)
	refusedURL, refusedARN := e.queue("refused", "bucket-one", false)
	missingARN := "arn:aws:sqs:us-east-1:000000000000:missing"
	ev := []s3types.Event{"s3:ObjectCreated:*"}

	// Missing and refusing destinations: one numbered pair each.
	rule := func(id, arn, prefix string) string {
		return "<QueueConfiguration><Id>" + id + "</Id><Queue>" + arn + "</Queue><Event>s3:ObjectCreated:*</Event>" +
			"<Filter><S3Key><FilterRule><Name>prefix</Name><Value>" + prefix + "</Value></FilterRule></S3Key></Filter></QueueConfiguration>"
	}
	body := e.rawPut("bucket-one", rule("a", okARN, "a/")+rule("b", refusedARN, "b/")+rule("c", missingARN, "c/"), false)
	for _, want := range []string{
		"<Code>InvalidArgument</Code>", "<Message>Unable to validate the following destination configurations</Message>",
		"<ArgumentName1>" + refusedARN + "</ArgumentName1>",
		"<ArgumentValue1>Permissions on the destination queue do not allow S3 to publish notifications from this bucket: ",
		"<ArgumentName2>" + missingARN + "</ArgumentName2>", "<ArgumentValue2>The destination queue does not exist",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("error body lacks %q:\n%s", want, body)
		}
	}
	// Nothing was stored or sent.
	got, err := e.s3.GetBucketNotificationConfiguration(e.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("bucket-one")})
	if err != nil || len(got.QueueConfigurations) != 0 {
		t.Fatalf("after a refused PUT: %+v, %v", got, err)
	}
	e.empty(refusedURL)

	// Unparseable ARN: refused even with skip validation.
	if body := e.rawPut("bucket-one", rule("x", "arn:aws:sqs:us-east-1", ""), true); !strings.Contains(body, "<Message>The ARN could not be parsed</Message><ArgumentName>Queue</ArgumentName><ArgumentValue>arn:aws:sqs:us-east-1</ArgumentValue>") {
		t.Errorf("bad ARN: %s", body)
	}
	// Overlap.
	if body := e.rawPut("bucket-one", rule("x", okARN, "p")+rule("y", okARN, "p/q"), false); !strings.Contains(body, "Configuration is ambiguously defined") {
		t.Errorf("overlap: %s", body)
	}
	// Expected bucket owner.
	_, err = e.s3.PutBucketNotificationConfiguration(e.ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String("bucket-one"), ExpectedBucketOwner: aws.String("111111111111"),
		NotificationConfiguration: &s3types.NotificationConfiguration{},
	})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("expected bucket owner mismatch: %v", err)
	}
	// No such bucket.
	if err := e.putConfig("nope", false); apiCode(err) != "NoSuchBucket" {
		t.Errorf("no such bucket: %v", err)
	}

	// Skip validation: saved; the refusing queue still gets nothing until
	// its policy is fixed, then the held records (test event, PUT) arrive.
	if err := e.putConfig("bucket-one", true, queueConfig("held", refusedARN, ev, "", ""), queueConfig("gone", missingARN, []s3types.Event{"s3:ObjectRemoved:*"}, "", "")); err != nil {
		t.Fatalf("skip validation: %v", err)
	}
	put, err := e.s3.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k"), Body: strings.NewReader("v")})
	if err != nil {
		t.Fatal(err)
	}
	putID, _ := ids(put.ResultMetadata)
	e.empty(refusedURL)
	res := e.wait(putID, "50ms")
	if res.Complete || len(res.Pending) != 1 || res.Pending[0].State != "held" || !strings.Contains(res.Pending[0].Reason, "refuses") {
		t.Fatalf("wait before the fix: %+v", res)
	}
	view := e.deliveries()
	if view.HeldCount != 2 {
		t.Errorf("delivery view: %+v", view)
	}
	if _, err := e.sqs.SetQueueAttributes(e.ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(refusedURL),
		Attributes: map[string]string{"Policy": allowPolicy(refusedARN, "bucket-one")}}); err != nil {
		t.Fatal(err)
	}
	res = e.wait(putID, "20s")
	if !res.Complete || len(res.Records) != 1 || res.Records[0].State != "delivered" {
		t.Fatalf("wait after the fix: %+v", res)
	}
	bodies := e.receive(refusedURL, 2)
	var names []string
	for _, b := range bodies {
		if strings.Contains(b, "s3:TestEvent") {
			names = append(names, "test")
		} else {
			names = append(names, decodeRecord(t, b).EventName)
		}
	}
	if len(names) != 2 {
		t.Fatalf("after the fix the queue got %v", names)
	}

	// Deleting the bucket removes its configuration.
	if _, err := e.s3.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String("bucket-one")}); err != nil {
		t.Fatal(err)
	}
	e.bucket("bucket-one")
	got, err = e.s3.GetBucketNotificationConfiguration(e.ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("bucket-one")})
	if err != nil || len(got.QueueConfigurations) != 0 {
		t.Fatalf("recreated bucket: %+v, %v", got, err)
	}
}

// rawPut sends PUT ?notification with rules inside the configuration
// element and returns the 400 error body, so that the test sees the
// ArgumentName elements the SDKs do not expose.
func (e *notifyEnv) rawPut(bucket, rules string, skip bool) string {
	e.t.Helper()
	body := `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + rules + `</NotificationConfiguration>`
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL()+"/"+bucket+"?notification", strings.NewReader(body))
	if skip {
		req.Header.Set("x-amz-skip-destination-validation", "true")
	}
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("x-amz-content-sha256", hash)
	root := e.srv.RootCredentials()
	creds := aws.Credentials{AccessKeyID: root.AccessKeyID, SecretAccessKey: root.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(e.ctx, creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest {
		e.t.Fatalf("PUT ?notification: status %d, want 400: %s", resp.StatusCode, raw)
	}
	return string(raw)
}

func (e *notifyEnv) sluiceGet(path string, out any) {
	e.t.Helper()
	root := e.srv.RootCredentials()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL()+path, nil)
	req.SetBasicAuth(root.AccessKeyID, root.SecretAccessKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		e.t.Fatalf("GET %s: %v: %s", path, err, raw)
	}
}

func (e *notifyEnv) wait(requestID, timeout string) dispatch.WaitResult {
	var res dispatch.WaitResult
	e.sluiceGet("/_sluice/requests/"+url.PathEscape(requestID)+"/wait?timeout="+timeout, &res)
	return res
}

func (e *notifyEnv) deliveries() dispatch.View {
	var v dispatch.View
	e.sluiceGet("/_sluice/deliveries", &v)
	return v
}

func TestSluiceRequestsNeedRootCredentials(t *testing.T) {
	e := newNotifyEnv(t, Config{})
	for _, tc := range []struct {
		name       string
		user, pass string
		want       int
	}{
		{"none", "", "", http.StatusUnauthorized},
		{"wrong", "AKIA", "nope", http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL()+"/_sluice/requests/ABC/wait?timeout=1ms", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	// A request that caused nothing is complete at once.
	if res := e.wait("NOTHING", "10s"); !res.Complete || len(res.Records) != 0 {
		t.Errorf("unknown request id: %+v", res)
	}
}
