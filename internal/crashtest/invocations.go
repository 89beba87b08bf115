package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"sluice/internal/function"
	"sluice/internal/object"
	"sluice/internal/queue"
	"sluice/internal/storage"
)

// Invocations is the invariant "every accepted invocation runs to success
// or reaches its failure destination" (issue 8) on a process target.
// Workers invoke the function (testdata/invokefn) with InvocationType
// Event; a payload in "ok" mode makes it write an object named by the
// invocation's id to OKBucket, one in "fail" mode makes it fail, and with
// MaximumRetryAttempts 0 a failure goes straight to the OnFailure queue
// FailQueue (Lambda's 1 and 2 minute retry delays would run on the real
// clock). A 202 is the acknowledgement: Sluice commits the invocation to
// the function's durable queue before answering.
//
// After every restart the check collects the effects (objects, failure
// records), requires each to belong to an invocation that was sent, in
// the mode that produces it, and then waits up to Settle for every
// invocation acknowledged before the crash. An invocation whose attempt
// was running at the kill stays leased for the function's timeout plus
// the init timeout plus a minute (function/async.go, leaseFor): it cannot
// finish within a short settle, so what is still missing after Settle is
// carried over, and Pending then proves, on the data directory of the
// stopped server, that each such invocation is still in the function's
// invocation queue, so none is lost.
type Invocations struct {
	Function  string
	OKBucket  string
	FailQueue string
	Zip       []byte        // the function's package (functest.BuildZip)
	Settle    time.Duration // default 5 s
	Workers   int           // default 2

	mu   sync.Mutex
	ops  map[string]*invocation
	next int
	// lastCrash is the crash tick of the last check (Pending's cut).
	lastCrash uint64
}

// invocation is one Invoke's history.
type invocation struct {
	id, mode string
	acked    uint64 // tick of the 202; 0: not acknowledged
	done     string // "ok" or "fail" once its effect was seen
	// cut: not finished at a crash, so an attempt of it may have been
	// running when the server was killed. Attempts are counted before
	// they run (DESIGN, Storage: a record that crashes the server every
	// time must still reach its dead-letter queue), so with
	// MaximumRetryAttempts 0 the cut attempt was its only one and an "ok"
	// invocation then legitimately reaches the failure destination.
	cut bool
}

func (v *Invocations) Name() string { return "invocations" }

func (v *Invocations) settle() time.Duration {
	if v.Settle > 0 {
		return v.Settle
	}
	return 5 * time.Second
}

func (v *Invocations) Setup(ctx context.Context, env *Env) error {
	if env.Endpoint == "" {
		return fmt.Errorf("the invocations invariant needs a process target")
	}
	v.ops = map[string]*invocation{}
	ic := iam.NewFromConfig(env.AWS)
	lc := lambda.NewFromConfig(env.AWS)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(v.Function),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		return fmt.Errorf("CreateRole: %w", err)
	}
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(v.Function), Role: role.Role.Arn,
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Timeout: aws.Int32(5),
		Code: &ltypes.FunctionCode{ZipFile: v.Zip}}); err != nil {
		return fmt.Errorf("CreateFunction: %w", err)
	}
	sc := s3.NewFromConfig(env.AWS, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(v.OKBucket)}); err != nil {
		return fmt.Errorf("CreateBucket: %w", err)
	}
	qc := sqs.NewFromConfig(env.AWS)
	if _, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(v.FailQueue)}); err != nil {
		return fmt.Errorf("CreateQueue: %w", err)
	}
	failARN := "arn:aws:sqs:" + env.AWS.Region + ":000000000000:" + v.FailQueue
	if _, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(v.Function),
		MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig:    &ltypes.DestinationConfig{OnFailure: &ltypes.OnFailure{Destination: aws.String(failARN)}}}); err != nil {
		return fmt.Errorf("PutFunctionEventInvokeConfig: %w", err)
	}
	return nil
}

// Invoke sends one Event invocation in mode and records it; it returns
// the invocation's id and whether it was acknowledged (202).
func (v *Invocations) Invoke(ctx context.Context, env *Env, mode string) (string, bool, error) {
	v.mu.Lock()
	v.next++
	op := &invocation{id: fmt.Sprintf("inv-%d-%d", env.Iteration, v.next), mode: mode}
	v.ops[op.id] = op
	v.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"id": op.id, "mode": mode, "bucket": v.OKBucket})
	out, err := lambda.NewFromConfig(env.AWS).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(v.Function),
		InvocationType: ltypes.InvocationTypeEvent, Payload: body})
	tick := env.Ticks.Next()
	if err != nil {
		return op.id, false, err
	}
	if out.StatusCode != 202 {
		return op.id, false, fmt.Errorf("Invoke Event answered %d, want 202", out.StatusCode)
	}
	v.mu.Lock()
	op.acked = tick
	v.mu.Unlock()
	return op.id, true, nil
}

func (v *Invocations) Workload(ctx context.Context, env *Env) error {
	workers := v.Workers
	if workers <= 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := env.Rand(200 + uint64(w))
			for ctx.Err() == nil {
				mode := "ok"
				if rng.IntN(10) < 3 {
					mode = "fail"
				}
				// Errors are "may or may not have been accepted"; the
				// check treats them so.
				_, _, _ = v.Invoke(ctx, env, mode)
			}
		}()
	}
	wg.Wait()
	return nil
}

// failureRecord is the part of Lambda's invocation record the check reads.
type failureRecord struct {
	RequestContext struct {
		Condition string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload struct {
		ID   string `json:"id"`
		Mode string `json:"mode"`
	} `json:"requestPayload"`
}

// collect reads the effects now visible: objects in OKBucket and records
// in FailQueue (deleted once read). An effect of an invocation never sent,
// or of the wrong kind for its mode, is a violation.
func (v *Invocations) collect(ctx context.Context, env *Env) error {
	sc := s3.NewFromConfig(env.AWS, func(o *s3.Options) { o.UsePathStyle = true })
	p := s3.NewListObjectsV2Paginator(sc, &s3.ListObjectsV2Input{Bucket: aws.String(v.OKBucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ListObjectsV2: %w", err)
		}
		for _, o := range page.Contents {
			if err := v.saw(aws.ToString(o.Key), "ok"); err != nil {
				return err
			}
		}
	}
	qc := sqs.NewFromConfig(env.AWS)
	url := strings.TrimRight(env.Endpoint, "/") + "/000000000000/" + v.FailQueue
	for range 10000 {
		out, err := receiveForCheck(ctx, qc, url)
		if err != nil {
			return fmt.Errorf("ReceiveMessage: %w", err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		for _, m := range out.Messages {
			var rec failureRecord
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &rec); err != nil {
				return fmt.Errorf("undecodable failure record %q: %v", aws.ToString(m.Body), err)
			}
			if rec.RequestContext.Condition != function.ConditionRetriesExhausted {
				return fmt.Errorf("failure record of %s has condition %q, want %q", rec.RequestPayload.ID, rec.RequestContext.Condition, function.ConditionRetriesExhausted)
			}
			if err := v.saw(rec.RequestPayload.ID, "fail"); err != nil {
				return err
			}
			if err := deleteForCheck(ctx, qc, url, m.ReceiptHandle); err != nil {
				return fmt.Errorf("DeleteMessage: %w", err)
			}
		}
	}
	return nil
}

func (v *Invocations) saw(id, effect string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	op := v.ops[id]
	switch {
	case op == nil:
		return fmt.Errorf("%s effect for invocation %q that was never sent", effect, id)
	case effect == "ok" && op.mode != "ok":
		return fmt.Errorf("invocation %s in mode %q succeeded", id, op.mode)
	case effect == "fail" && op.mode == "ok" && !op.cut:
		return fmt.Errorf("invocation %s in mode ok reached the failure destination without a crash during it", id)
	}
	op.done = effect
	return nil
}

// markCut marks every invocation not finished yet as possibly cut by the
// crash the server just came back from (every invocation the check knows
// was sent before it).
func (v *Invocations) markCut() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, op := range v.ops {
		if op.done == "" {
			op.cut = true
		}
	}
}

// missing returns the invocations acknowledged before crashTick whose
// effect was not seen, sorted.
func (v *Invocations) missing(crashTick uint64) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var ids []string
	for id, op := range v.ops {
		if op.acked != 0 && op.acked < crashTick && op.done == "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (v *Invocations) Check(ctx context.Context, env *Env) error {
	v.markCut()
	deadline := time.Now().Add(v.settle())
	for {
		if err := v.collect(ctx, env); err != nil {
			return err
		}
		missing := v.missing(env.CrashTick)
		if len(missing) == 0 || time.Now().After(deadline) {
			v.mu.Lock()
			v.lastCrash = env.CrashTick
			v.mu.Unlock()
			v.forgetLateAcks(env.CrashTick)
			env.Logf("invocations: iteration %d: %d invoked, %d finished, %d acknowledged not finished yet (leased at a kill or queued)",
				env.Iteration, len(v.ops), v.finished(), len(missing))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// forgetLateAcks drops acknowledgements read at or after the crash tick:
// they were not acknowledgements before the crash, and the next check's
// later crash tick must not count them.
func (v *Invocations) forgetLateAcks(crashTick uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, op := range v.ops {
		if op.acked >= crashTick {
			op.acked = 0
		}
	}
}

func (v *Invocations) finished() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for _, op := range v.ops {
		if op.done != "" {
			n++
		}
	}
	return n
}

// Pending checks, on the store of the stopped server (opened offline with
// objects and queues over it, whose clock is far enough ahead that every
// lease has ended), that every invocation acknowledged before the last
// crash whose effect the checks did not see either finished after the
// last check (its object or failure record is there) or is still in the
// function's durable invocation queue (leased by an attempt a kill cut
// short, or waiting): it will run, so it is not lost. It returns how many
// were still queued.
func (v *Invocations) Pending(ctx context.Context, store storage.Store, objects *object.Service, queues *queue.Service) (int, error) {
	v.mu.Lock()
	crashTick := v.lastCrash
	v.mu.Unlock()
	missing := v.missing(crashTick)
	if len(missing) == 0 {
		return 0, nil
	}
	failed := map[string]bool{}
	for range 10000 {
		msgs, err := queues.Receive(ctx, v.FailQueue, queue.ReceiveInput{Max: 10, Wait: new(time.Duration)})
		if err != nil {
			return 0, fmt.Errorf("receive %s offline: %w", v.FailQueue, err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			var rec failureRecord
			if json.Unmarshal([]byte(m.Body), &rec) == nil {
				failed[rec.RequestPayload.ID] = true
			}
		}
	}
	queued := map[string]bool{}
	err := store.View(ctx, func(tx storage.ReadTx) error {
		return tx.Messages(function.AsyncQueue(v.Function), func(m storage.Message) bool {
			var q struct {
				Payload struct {
					ID string `json:"id"`
				} `json:"p"`
			}
			if json.Unmarshal(m.Body, &q) == nil {
				queued[q.Payload.ID] = true
			}
			return true
		})
	})
	if err != nil {
		return 0, err
	}
	var lost []string
	n := 0
	for _, id := range missing {
		switch _, herr := objects.HeadObject(ctx, v.OKBucket, id); {
		case herr == nil || failed[id]:
		case queued[id]:
			n++
		default:
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		return 0, fmt.Errorf("%d acknowledged invocations neither finished nor are queued (lost), e.g. %s", len(lost), lost[0])
	}
	return n, nil
}
