package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"sluice/internal/queue"
)

// Queues is the SQS message invariant (issue 5, queue/doc.go "Delivery
// guarantees"): "a message is durable once SendMessage returns; it
// survives SIGKILL and dropped unsynced writes". Workers send messages
// with unique bodies and attributes while others receive and delete them.
// After every restart the check receives everything in the queue and
// requires:
//
//   - every acknowledged SendMessage whose message no receiver tried to
//     delete before the crash is received, with its exact body and attributes (it may have been
//     received before the crash: leases are not synced, so it is visible
//     again, or after its surviving lease ends);
//   - nothing is received that was never sent, and no message whose
//     DeleteMessage was acknowledged comes back: the queue's doc promises
//     that committed deletions survive a crash (DeleteMessage commits with
//     a synced write). A delete counts only if it was acknowledged well
//     within the visibility timeout of its receive, since a stale receipt
//     deletes nothing, as on AWS;
//   - a message may be received more than once across crashes (at least
//     once), but every copy carries the body and attributes it was sent
//     with.
//
// The check deletes what it received, so each check starts from the
// messages sent since the previous one (plus leased ones that reappear
// later, which are allowed as long as they were sent and not deleted).
type Queues struct {
	Queue     string
	Senders   int // default 4
	Receivers int // default 2
	// Visibility is the workload receivers' visibility timeout (default
	// 60 s on the in-process target, whose clock stands still during the
	// workload; 4 s on a process target, so that leases that survived a
	// kill end soon).
	Visibility time.Duration

	once sync.Once
	mu   sync.Mutex
	ops  map[string]*queueOp // by body
	next int
}

// queueOp is one message's history.
type queueOp struct {
	id                int
	body              string
	attrs             map[string]queue.Attribute
	sendStart, sendAt uint64 // ticks; sendAt 0: not acknowledged
	deleteStart       uint64 // tick before the first DeleteMessage was sent
	deleteAt          uint64 // tick of an acknowledged, effective delete
	checked           bool   // received and deleted by a check
}

func (q *Queues) init() {
	q.once.Do(func() {
		if q.Senders == 0 {
			q.Senders = 4
		}
		if q.Receivers == 0 {
			q.Receivers = 2
		}
		q.ops = map[string]*queueOp{}
	})
}

func (q *Queues) Name() string { return "queues" }

// queueMsg is a received message as the invariant sees it.
type queueMsg struct {
	body, handle string
	attrs        map[string]queue.Attribute
}

// queueClient reaches the queue through SQS (a process target) or
// queue.Service (the in-process target).
type queueClient interface {
	send(ctx context.Context, body string, attrs map[string]queue.Attribute) error
	receive(ctx context.Context, max int, wait, visibility time.Duration) ([]queueMsg, error)
	delete(ctx context.Context, handle string) error
}

func (q *Queues) visibility(env *Env) time.Duration {
	if q.Visibility > 0 {
		return q.Visibility
	}
	if env.Store != nil {
		return time.Minute
	}
	return 4 * time.Second
}

func (q *Queues) client(ctx context.Context, env *Env) (queueClient, error) {
	if env.Store != nil {
		// The in-process target has no queue service of its own: one on
		// its store and clock is the same code the server runs.
		return serviceQueue{svc: queue.New(queue.Config{Store: env.Store, Clock: env.Clock}), name: q.Queue}, nil
	}
	c := sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = aws.String(env.Endpoint) })
	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.Queue)})
	if err != nil {
		return nil, fmt.Errorf("GetQueueUrl: %w", err)
	}
	return sqsQueue{c: c, url: aws.ToString(out.QueueUrl)}, nil
}

func (q *Queues) Setup(ctx context.Context, env *Env) error {
	q.init()
	if env.Store != nil {
		return queue.New(queue.Config{Store: env.Store, Clock: env.Clock}).Create(ctx, q.Queue, nil, nil)
	}
	c := sqs.NewFromConfig(env.AWS, func(o *sqs.Options) { o.BaseEndpoint = aws.String(env.Endpoint) })
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q.Queue)})
	return err
}

func (q *Queues) Workload(ctx context.Context, env *Env) error {
	q.init()
	c, err := q.client(ctx, env)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for w := range q.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.sendLoop(ctx, env, c, env.Rand(100+uint64(w)))
		}()
	}
	for range q.Receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.receiveLoop(ctx, env, c)
		}()
	}
	wg.Wait()
	return nil
}

func (q *Queues) sendLoop(ctx context.Context, env *Env, c queueClient, r *rand.Rand) {
	for n := 0; n < 100000 && ctx.Err() == nil; n++ {
		q.mu.Lock()
		q.next++
		op := &queueOp{id: q.next}
		q.mu.Unlock()
		// Unique body; attributes of each kind, one binary with bytes a
		// text path would mangle.
		op.body = fmt.Sprintf("m%d-%s", op.id, strings.Repeat("x", r.IntN(2000)))
		op.attrs = map[string]queue.Attribute{
			"op":  {DataType: "Number", StringValue: strconv.Itoa(op.id)},
			"bin": {DataType: "Binary", BinaryValue: []byte{0, 0xff, byte(op.id), byte(op.id >> 8)}},
		}
		if r.IntN(2) == 0 {
			op.attrs["s"] = queue.Attribute{DataType: "String.custom", StringValue: "é " + strconv.Itoa(r.IntN(1000))}
		}
		op.sendStart = env.Ticks.Next()
		q.mu.Lock()
		q.ops[op.body] = op
		q.mu.Unlock()
		err := c.send(ctx, op.body, op.attrs)
		end := env.Ticks.Next()
		if err == nil {
			q.mu.Lock()
			op.sendAt = end
			q.mu.Unlock()
		}
	}
}

func (q *Queues) receiveLoop(ctx context.Context, env *Env, c queueClient) {
	vis := q.visibility(env)
	for n := 0; n < 100000 && ctx.Err() == nil; n++ {
		msgs, err := c.receive(ctx, 10, 0, vis)
		if err != nil || len(msgs) == 0 {
			if ctx.Err() == nil && len(msgs) == 0 {
				// An empty queue: let the senders get ahead (wall clock
				// only; this is the test's own pacing).
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Millisecond):
				}
			}
			continue
		}
		got := time.Now()
		for _, m := range msgs {
			// A delete that was sent may have committed even if its
			// acknowledgement came after the crash or never: the message
			// is then "may or may not exist" (deleteStart).
			start := env.Ticks.Next()
			q.mu.Lock()
			if op := q.ops[m.body]; op != nil && op.deleteStart == 0 {
				op.deleteStart = start
			}
			q.mu.Unlock()
			if err := c.delete(ctx, m.handle); err != nil {
				continue
			}
			end := env.Ticks.Next()
			// A delete acknowledged late may have used a stale receipt
			// (the message was handed to someone else after the
			// visibility timeout): then it deleted nothing, as on AWS.
			if time.Since(got) > vis/2 {
				continue
			}
			q.mu.Lock()
			if op := q.ops[m.body]; op != nil && op.deleteAt == 0 {
				op.deleteAt = end
			}
			q.mu.Unlock()
		}
	}
}

func (q *Queues) Check(ctx context.Context, env *Env) error {
	q.init()
	if env.Clock != nil {
		// Leases of the crashed run that reached the disk end now.
		env.Clock.Advance(q.visibility(env) + time.Second)
	}
	c, err := q.client(ctx, env)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	required := map[string]bool{}
	for body, op := range q.ops {
		acked := op.sendAt != 0 && op.sendAt < env.CrashTick
		mayBeDeleted := op.deleteStart != 0 && op.deleteStart < env.CrashTick
		if acked && !mayBeDeleted && !op.checked {
			required[body] = true
		}
	}
	var errs []error
	seen, copies := 0, 0
	// A lease that survived a kill hides its message until it ends: keep
	// receiving (long polls) until every required message came or the
	// longest such lease is over.
	//
	// The check's own leases are short on a process target: a receive
	// whose response is lost in transport (it happens on these loaded
	// machines) is retried, and its messages come back within the wait.
	checkVis, wait := 12*time.Hour, time.Second
	if env.Clock != nil {
		wait = 0 // the fake clock does not move by itself
	} else {
		checkVis = 8 * time.Second
	}
	deadline := time.Now().Add(max(q.visibility(env), checkVis) + 5*time.Second)
	// A transport failure is the client's known "use of closed network
	// connection" (checkrecv.go). On a loaded machine one check saw six
	// (iteration 33 of a 100-iteration run, with two other heavy jobs on
	// the two cores); an error from the server itself is returned at once.
	const maxTransportFailures = 12
	failures := 0
	for rounds := 0; rounds < 100000; rounds++ {
		msgs, err := c.receive(ctx, 10, wait, checkVis)
		if err != nil {
			var apiErr smithy.APIError
			if failures++; failures > maxTransportFailures || env.Clock != nil || errors.As(err, &apiErr) {
				return fmt.Errorf("receive: %w", err)
			}
			env.Logf("queues: check receive failed (retrying): %v", err)
			continue
		}
		if len(msgs) == 0 && (len(required) == 0 || env.Clock != nil || time.Now().After(deadline)) {
			break
		}
		for _, m := range msgs {
			copies++
			op := q.ops[m.body]
			switch {
			case op == nil:
				errs = append(errs, fmt.Errorf("received a message that was never sent: %.60q", m.body))
			case op.deleteAt != 0 && op.deleteAt < env.CrashTick:
				errs = append(errs, fmt.Errorf("message m%d came back after its DeleteMessage was acknowledged (tick %d, crash at %d)", op.id, op.deleteAt, env.CrashTick))
			case !sameAttrs(op.attrs, m.attrs):
				errs = append(errs, fmt.Errorf("message m%d: attributes %v, sent %v", op.id, m.attrs, op.attrs))
			default:
				if required[m.body] {
					seen++
				}
				delete(required, m.body)
				op.checked = true
			}
			if err := c.delete(ctx, m.handle); err != nil {
				// Not fatal: the message comes back and is checked again.
				env.Logf("queues: delete after check failed: %v", err)
			}
		}
	}
	for body := range required {
		op := q.ops[body]
		errs = append(errs, fmt.Errorf("message m%d was lost: SendMessage acknowledged at tick %d (crash at %d), not deleted, not received", op.id, op.sendAt, env.CrashTick))
	}
	// What the crashed run acknowledged after the crash tick (the
	// in-process target's store runs on after its image is cut) was never
	// acknowledged as far as the surviving state goes: from now on such a
	// send may or may not exist, and such a delete may or may not have
	// happened, in every later check too.
	for _, op := range q.ops {
		if op.sendAt >= env.CrashTick {
			op.sendAt = 0
		}
		if op.deleteAt >= env.CrashTick {
			op.deleteAt = 0
		}
		if op.deleteStart >= env.CrashTick {
			op.deleteStart = 0 // sent after the crash: it changed nothing
		}
	}
	acked, deleted := 0, 0
	for _, op := range q.ops {
		if op.sendAt != 0 {
			acked++
		}
		if op.deleteAt != 0 {
			deleted++
		}
	}
	env.Logf("queues: iteration %d: %d sends issued so far, %d acknowledged, %d deleted by receivers; this check received %d messages (%d required)",
		env.Iteration, len(q.ops), acked, deleted, copies, seen)
	return errors.Join(errs...)
}

func sameAttrs(a, b map[string]queue.Attribute) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.DataType != w.DataType || v.StringValue != w.StringValue || !bytes.Equal(v.BinaryValue, w.BinaryValue) {
			return false
		}
	}
	return true
}

// serviceQueue is queueClient over queue.Service.
type serviceQueue struct {
	svc  *queue.Service
	name string
}

func (s serviceQueue) send(ctx context.Context, body string, attrs map[string]queue.Attribute) error {
	_, err := s.svc.Send(ctx, s.name, queue.SendInput{Body: body, Attributes: attrs, SenderID: "crashtest"})
	return err
}

func (s serviceQueue) receive(ctx context.Context, max int, wait, visibility time.Duration) ([]queueMsg, error) {
	msgs, err := s.svc.Receive(ctx, s.name, queue.ReceiveInput{Max: max, Wait: &wait, Visibility: &visibility})
	out := make([]queueMsg, len(msgs))
	for i, m := range msgs {
		out[i] = queueMsg{body: m.Body, handle: m.ReceiptHandle, attrs: m.Attributes}
	}
	return out, err
}

func (s serviceQueue) delete(ctx context.Context, handle string) error {
	return s.svc.DeleteMessage(ctx, s.name, handle)
}

// sqsQueue is queueClient over aws-sdk-go-v2, which also checks the
// MD5s of bodies and attributes.
type sqsQueue struct {
	c   *sqs.Client
	url string
}

func (s sqsQueue) send(ctx context.Context, body string, attrs map[string]queue.Attribute) error {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(s.url), MessageBody: aws.String(body), MessageAttributes: map[string]types.MessageAttributeValue{}}
	for k, a := range attrs {
		v := types.MessageAttributeValue{DataType: aws.String(a.DataType)}
		if a.BinaryValue != nil {
			v.BinaryValue = a.BinaryValue
		} else {
			v.StringValue = aws.String(a.StringValue)
		}
		in.MessageAttributes[k] = v
	}
	_, err := s.c.SendMessage(ctx, in)
	return err
}

func (s sqsQueue) receive(ctx context.Context, max int, wait, visibility time.Duration) ([]queueMsg, error) {
	out, err := s.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.url), MaxNumberOfMessages: int32(max), WaitTimeSeconds: int32(wait / time.Second),
		VisibilityTimeout: int32(visibility / time.Second), MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]queueMsg, len(out.Messages))
	for i, m := range out.Messages {
		attrs := map[string]queue.Attribute{}
		for k, v := range m.MessageAttributes {
			attrs[k] = queue.Attribute{DataType: aws.ToString(v.DataType), StringValue: aws.ToString(v.StringValue), BinaryValue: v.BinaryValue}
		}
		msgs[i] = queueMsg{body: aws.ToString(m.Body), handle: aws.ToString(m.ReceiptHandle), attrs: attrs}
	}
	return msgs, nil
}

func (s sqsQueue) delete(ctx context.Context, handle string) error {
	_, err := s.c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.url), ReceiptHandle: aws.String(handle)})
	return err
}
