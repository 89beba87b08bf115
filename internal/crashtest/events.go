package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"sluice/internal/dispatch"
	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/object"
	"sluice/internal/queue"
)

// Events is the invariant "every acknowledged change's events are
// delivered" (issue 6), on both targets: a bucket whose notification
// configuration sends ObjectCreated:* to a queue that allows it, PUTs of
// unique keys, and after every restart a drain of the queue. Every PUT
// acknowledged before the crash must have its ObjectCreated:Put record in
// the queue (duplicates allowed, as in S3); records for keys never sent
// are a violation too. On the process target it holds under SIGKILL; on
// the in-process target under dropped unsynced writes (the record commits
// with the object, so a PUT whose commit was synced has its record on
// "disk" too).
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
	if env.Queues != nil {
		return env.Queues.ARN(e.Queue)
	}
	return "arn:aws:sqs:" + env.AWS.Region + ":000000000000:" + e.Queue
}

func (e *Events) policy(arn string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},` +
		`"Action":"sqs:SendMessage","Resource":"` + arn + `","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::` + e.Bucket + `"}}}]}`
}

func (e *Events) Setup(ctx context.Context, env *Env) error {
	e.acked, e.sent, e.received = map[string]uint64{}, map[string]bool{}, map[string]bool{}
	arn := e.queueARN(env)
	policy := e.policy(arn)
	if env.Objects != nil {
		// In process: the same services the server's S3 and SQS handlers
		// call.
		if err := env.Objects.CreateBucket(ctx, e.Bucket, "crashtest"); err != nil {
			return err
		}
		if err := env.Queues.Create(ctx, e.Queue, map[string]string{queue.AttrPolicy: policy}, nil); err != nil {
			return err
		}
		return env.Notifications.PutConfiguration(ctx, e.Bucket, &notify.Configuration{Rules: []notify.Rule{{
			Kind: event.Queue, ARN: arn, Events: []event.Name{event.ObjectCreatedAll},
		}}}, dispatch.PutOptions{})
	}
	s, q := e.clients(env)
	if _, err := s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(e.Bucket)}); err != nil {
		return err
	}
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
	put := func(key string) error {
		_, err := env.Objects.PutObject(ctx, object.PutInput{Bucket: e.Bucket, Key: key, Body: strings.NewReader(key), Size: int64(len(key))})
		return err
	}
	if env.Objects == nil {
		s, _ := e.clients(env)
		put = func(key string) error {
			_, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.Bucket), Key: aws.String(key), Body: strings.NewReader(key)})
			return err
		}
	}
	for ctx.Err() == nil {
		e.mu.Lock()
		e.next++
		key := fmt.Sprintf("ev/%d/%d key", env.Iteration, e.next)
		e.sent[key] = true
		e.mu.Unlock()
		err := put(key)
		tick := env.Ticks.Next()
		if err == nil {
			e.mu.Lock()
			e.acked[key] = tick
			e.mu.Unlock()
		}
	}
	return nil
}

// eventMsg is one received message: its body and how to delete it.
type eventMsg struct{ body, handle string }

// receiver returns receive and delete over the target's queue: the SQS
// API on a process target, queue.Service in process.
func (e *Events) receiver(ctx context.Context, env *Env) (func() ([]eventMsg, error), func(handle string) error) {
	if env.Queues != nil {
		vis := time.Minute
		recv := func() ([]eventMsg, error) {
			msgs, err := env.Queues.Receive(ctx, e.Queue, queue.ReceiveInput{Max: 10, Visibility: &vis, Wait: new(time.Duration)})
			out := make([]eventMsg, len(msgs))
			for i, m := range msgs {
				out[i] = eventMsg{m.Body, m.ReceiptHandle}
			}
			return out, err
		}
		return recv, func(h string) error { return env.Queues.DeleteMessage(ctx, e.Queue, h) }
	}
	_, q := e.clients(env)
	url := strings.TrimRight(env.Endpoint, "/") + "/000000000000/" + e.Queue
	if out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(e.Queue)}); err == nil {
		url = *out.QueueUrl
	}
	recv := func() ([]eventMsg, error) {
		out, err := receiveForCheck(ctx, q, url)
		if err != nil {
			return nil, err
		}
		msgs := make([]eventMsg, len(out.Messages))
		for i, m := range out.Messages {
			msgs[i] = eventMsg{aws.ToString(m.Body), aws.ToString(m.ReceiptHandle)}
		}
		return msgs, nil
	}
	del := func(h string) error {
		return deleteForCheck(ctx, q, url, aws.String(h))
	}
	return recv, del
}

func (e *Events) Check(ctx context.Context, env *Env) error {
	recv, del := e.receiver(ctx, env)
	// Every record is committed before its PUT is acknowledged, so what
	// the queue holds now is complete: drain until a receive is empty.
	for i := 0; i < 100000; i++ {
		msgs, err := recv()
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if strings.Contains(m.body, `"s3:TestEvent"`) {
				if err := del(m.handle); err != nil {
					return err
				}
				continue
			}
			var ev events.S3Event
			if err := json.Unmarshal([]byte(m.body), &ev); err != nil || len(ev.Records) != 1 {
				return fmt.Errorf("undecodable record %q: %v", m.body, err)
			}
			key := ev.Records[0].S3.Object.URLDecodedKey
			e.mu.Lock()
			known := e.sent[key]
			e.received[key] = true
			e.mu.Unlock()
			if !known {
				return fmt.Errorf("record for key %q that no PUT sent", key)
			}
			if err := del(m.handle); err != nil {
				return err
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var lost []string
	for key, tick := range e.acked {
		switch {
		case tick >= env.CrashTick:
			// Acknowledged after the crash point (the in-process target
			// keeps running after its image is cut; a response can be
			// read after a kill): not an acknowledgement. Forget it, or
			// the next check, with a later crash tick, would count it.
			delete(e.acked, key)
		case !e.received[key]:
			lost = append(lost, key)
		}
	}
	env.Logf("events: iteration %d: %d PUTs sent, %d acknowledged before a crash, %d keys' records received", env.Iteration, len(e.sent), len(e.acked), len(e.received))
	if len(lost) > 0 {
		return fmt.Errorf("%d acknowledged PUTs have no event record (iteration %d, seed %d), e.g. %q",
			len(lost), env.Iteration, env.Seed, lost[0])
	}
	return nil
}
