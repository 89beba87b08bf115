package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Events is the invariant "every acknowledged change's events are
// delivered" (issue 6) on a process target: a bucket whose notification
// configuration sends ObjectCreated:* to a queue that allows it, PUTs of
// unique keys, and after every restart a drain of the queue. Every PUT
// acknowledged before the crash must have its ObjectCreated:Put record in
// the queue (duplicates allowed, as in S3); records for keys never sent
// are a violation too.
type Events struct {
	Bucket, Queue string

	mu       sync.Mutex
	acked    map[string]uint64 // key -> tick of its acknowledgement
	sent     map[string]bool   // every key a PUT was sent for
	received map[string]bool   // keys whose record was drained
	next     int
}

func (e *Events) Name() string { return "events" }

func (e *Events) clients(env *Env) (*s3.Client, *sqs.Client) {
	s := s3.NewFromConfig(env.AWS, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(env.Endpoint), true
	})
	q := sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = aws.String(env.Endpoint) })
	return s, q
}

func (e *Events) queueARN(env *Env) string {
	return "arn:aws:sqs:" + env.AWS.Region + ":000000000000:" + e.Queue
}

func (e *Events) Setup(ctx context.Context, env *Env) error {
	e.acked, e.sent, e.received = map[string]uint64{}, map[string]bool{}, map[string]bool{}
	s, q := e.clients(env)
	if _, err := s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.Bucket)}); err != nil {
		return err
	}
	arn := e.queueARN(env)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},` +
		`"Action":"sqs:SendMessage","Resource":"` + arn + `","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::` + e.Bucket + `"}}}]}`
	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(e.Queue), Attributes: map[string]string{"Policy": policy}}); err != nil {
		return err
	}
	_, err := s.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(e.Bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
			QueueArn: aws.String(arn), Events: []s3types.Event{"s3:ObjectCreated:*"},
		}}},
	})
	if err != nil {
		return err
	}
	// The configuration's s3:TestEvent is drained by the first Check.
	return nil
}

func (e *Events) Workload(ctx context.Context, env *Env) error {
	s, _ := e.clients(env)
	for ctx.Err() == nil {
		e.mu.Lock()
		e.next++
		key := fmt.Sprintf("ev/%d/%d key", env.Iteration, e.next)
		e.sent[key] = true
		e.mu.Unlock()
		_, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String(key), Body: strings.NewReader(key)})
		tick := env.Ticks.Next()
		if err == nil {
			e.mu.Lock()
			e.acked[key] = tick
			e.mu.Unlock()
		}
	}
	return nil
}

func (e *Events) Check(ctx context.Context, env *Env) error {
	_, q := e.clients(env)
	url := strings.TrimRight(env.Endpoint, "/") + "/000000000000/" + e.Queue
	if out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(e.Queue)}); err == nil {
		url = *out.QueueUrl
	}
	// Every record is committed before its PUT is acknowledged, so what
	// the queue holds now is complete: drain until a receive is empty.
	for i := 0; i < 100000; i++ {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			return err
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if strings.Contains(*m.Body, `"s3:TestEvent"`) {
				continue
			}
			var ev events.S3Event
			if err := json.Unmarshal([]byte(*m.Body), &ev); err != nil || len(ev.Records) != 1 {
				return fmt.Errorf("undecodable record %q: %v", *m.Body, err)
			}
			key := ev.Records[0].S3.Object.URLDecodedKey
			e.mu.Lock()
			known := e.sent[key]
			e.received[key] = true
			e.mu.Unlock()
			if !known {
				return fmt.Errorf("record for key %q that no PUT sent", key)
			}
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return err
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var lost []string
	for key, tick := range e.acked {
		if tick < env.CrashTick && !e.received[key] {
			lost = append(lost, key)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("%d acknowledged PUTs have no event record (iteration %d, seed %d), e.g. %q",
			len(lost), env.Iteration, env.Seed, lost[0])
	}
	return nil
}
