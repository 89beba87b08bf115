package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptrace"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"
)

// The SQS run (`sluice bench --service sqs`, issue 5 "Benchmarks"):
//
//   - send: SendMessage of one message per request, at each concurrency;
//   - send10: SendMessageBatch of ten messages per request;
//   - recv+del: ReceiveMessage (one message, no wait) then DeleteMessage,
//     one request pair per message, draining what the send steps wrote;
//   - recv10+del10: ReceiveMessage of up to ten then DeleteMessageBatch;
//   - poll: the latency from the start of a SendMessage to the moment a
//     receiver that was already waiting in a long poll (WaitTimeSeconds
//     20) on an empty queue has the message, sampled one at a time.
//
// Every send is durable when it returns (the queue domain commits it with
// a synced write), so send @32 is a durable-commit throughput. MD5s are
// checked as the SDKs check them, and every received body must be one of
// those sent.

// The aims of issue 5, as ratios to the limits of the same run.
const (
	aimPollLoopbacks = 4    // poll p50 <= f + 4 L
	aimSendShare     = 0.25 // durable single sends/s @32 >= 0.25 C
)

// pollGap is how long the poll step waits after the receiver's request
// was written before it sends, so the server has parsed the request and
// parked the poll: the aim is about a receiver that is already waiting.
const pollGap = 2 * time.Millisecond

func runSQS(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{
		Date:        cfg.Now().UTC(),
		Machine:     currentMachine(),
		Target:      cfg.Target,
		Service:     "sqs",
		Endpoint:    cfg.Endpoint,
		ObjectSize:  cfg.Size,
		StepSeconds: cfg.Duration.Seconds(),
		FsyncNote:   cfg.FsyncNote,
	}
	if cfg.Size > 256<<10 {
		return nil, fmt.Errorf("--size %s: SQS bench messages are at most 256 KiB", formatSize(cfg.Size))
	}
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, format+"\n", args...) }

	progress("measuring limits (before): f in %s, L, C for %v", cfg.FsyncDir, cfg.Duration)
	var err error
	if rep.LimitsBefore, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}

	tr := newTransport(slices.Max(cfg.Concurrency))
	defer tr.CloseIdleConnections()
	client := newSQSClient(cfg.Endpoint, cfg.AccessKey, cfg.SecretKey, cfg.Region, tr)
	rep.Queue = "sluice-bench-" + randomHex(4)
	url, err := client.createQueue(ctx, rep.Queue)
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", rep.Queue, err)
	}
	pollURL, err := client.createQueue(ctx, rep.Queue+"-poll")
	if err != nil {
		return nil, fmt.Errorf("create queue %s-poll: %w", rep.Queue, err)
	}
	// The queues are deleted at the end: unlike S3 objects, millions of
	// bench messages left behind would be in the user's way.
	defer func() {
		cctx := context.WithoutCancel(ctx)
		client.deleteQueue(cctx, url)
		client.deleteQueue(cctx, pollURL)
	}()

	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	}
	stepErr := runSQSSteps(ctx, cfg, client, url, pollURL, rep, progress)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if stepErr != nil {
		return nil, stepErr
	}

	progress("measuring limits (after)")
	if rep.LimitsAfter, err = measureLimits(ctx, cfg.FsyncDir, cfg.FsyncIterations, cfg.RoundTrips, cfg.Duration); err != nil {
		return nil, err
	}
	rep.Limits = meanLimits(rep.LimitsBefore, rep.LimitsAfter)
	rep.Aims = evaluateSQSAims(rep.Steps, rep.Limits)
	return rep, nil
}

func runSQSSteps(ctx context.Context, cfg Config, client *sqsClient, url, pollURL string, rep *Report, progress func(string, ...any)) error {
	ms := newMessageSet(smallBodies, cfg.Size, 1, url)
	pollMS := newMessageSet(1, cfg.Size, 2, pollURL)
	show := func(st Step) {
		drained := ""
		if st.Drained {
			drained = "  (queue drained)"
		}
		progress("%-12s @%-3d %9.0f req/s %9.0f msg/s  p50 %.3f ms  p99 %.3f ms  errors %d%s",
			st.Op, st.Concurrency, st.PerSecond, st.MessagesPerSecond, st.P50Ms, st.P99Ms, st.Errors, drained)
		rep.Steps = append(rep.Steps, st)
	}
	type stepFn func(ctx context.Context, client *sqsClient, url string, ms *messageSet, c int, d time.Duration) Step
	for _, fn := range []stepFn{sqsSend, sqsSendBatch, sqsReceiveDelete, sqsReceiveDeleteBatch} {
		for _, c := range cfg.Concurrency {
			st := fn(ctx, client, url, &ms, c, cfg.Duration)
			if err := ctx.Err(); err != nil {
				return err
			}
			show(st)
			if st.Requests == 0 {
				return fmt.Errorf("%s @%d: no request succeeded: %s", st.Op, c, st.FirstError)
			}
		}
	}
	st, err := sqsPoll(ctx, client, pollURL, &pollMS, cfg.PollSamples, 4*cfg.Duration)
	if err != nil {
		return err
	}
	show(st)
	return nil
}

// messageStep runs c workers for d with runWorkers and adds the message
// counts: each call of one returns how many messages its request carried.
func messageStep(op string, c int, d time.Duration, drain bool, one func(w, n int) (int, error)) Step {
	var msgs atomic.Int64
	var drained atomic.Bool
	st, _ := runWorkers(op, c, d, func(w int, deadline time.Time, res *worker) {
		for n := 0; !drained.Load() && time.Now().Before(deadline); n++ {
			start := time.Now()
			k, err := one(w, n)
			if err != nil {
				if errors.Is(err, context.Canceled) || res.fail(err) {
					return
				}
				continue
			}
			if k == 0 && drain {
				// Nothing left to receive: end the step for every worker
				// so the rate is over the time there was work.
				drained.Store(true)
				return
			}
			res.succeed(time.Since(start))
			msgs.Add(int64(k))
		}
	})
	st.Messages, st.Drained = int(msgs.Load()), drained.Load()
	if st.Seconds > 0 {
		st.MessagesPerSecond = float64(st.Messages) / st.Seconds
	}
	return st
}

func sqsSend(ctx context.Context, client *sqsClient, _ string, ms *messageSet, c int, d time.Duration) Step {
	return messageStep("send", c, d, false, func(w, n int) (int, error) {
		return 1, client.send(ctx, ms, (w*7+n)%len(ms.bodies))
	})
}

func sqsSendBatch(ctx context.Context, client *sqsClient, _ string, ms *messageSet, c int, d time.Duration) Step {
	return messageStep("send10", c, d, false, func(w, n int) (int, error) {
		return batchSize, client.sendBatch(ctx, ms, (w*7+n)%len(ms.bodies))
	})
}

func sqsReceiveDelete(ctx context.Context, client *sqsClient, url string, ms *messageSet, c int, d time.Duration) Step {
	return messageStep("recv+del", c, d, true, func(int, int) (int, error) {
		got, err := client.receive(ctx, url, ms, 1, 0)
		if err != nil || len(got) == 0 {
			return 0, err
		}
		return 1, client.deleteMessage(ctx, url, got[0].ReceiptHandle)
	})
}

func sqsReceiveDeleteBatch(ctx context.Context, client *sqsClient, url string, ms *messageSet, c int, d time.Duration) Step {
	return messageStep("recv10+del10", c, d, true, func(int, int) (int, error) {
		got, err := client.receive(ctx, url, ms, batchSize, 0)
		if err != nil || len(got) == 0 {
			return 0, err
		}
		return len(got), client.deleteBatch(ctx, url, got)
	})
}

// sqsPoll samples the send-to-waiting-receive latency n times (or until
// limit has passed): a receiver long-polls the empty queue, and once its
// request has been written and pollGap has passed, the message is sent;
// the sample is from the start of SendMessage to the receiver holding the
// message. The message is deleted outside the timing.
func sqsPoll(ctx context.Context, client *sqsClient, url string, set *messageSet, n int, limit time.Duration) (Step, error) {
	type result struct {
		at  time.Time
		msg []received
		err error
	}
	st := Step{Op: "poll", Concurrency: 1}
	var lat []time.Duration
	start := time.Now()
	for i := 0; i < n && time.Since(start) < limit; i++ {
		wrote := make(chan struct{})
		done := make(chan result, 1)
		pollCtx, cancel := context.WithCancel(ctx)
		rctx := httptrace.WithClientTrace(pollCtx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) },
		})
		go func() {
			msgs, err := client.receive(rctx, url, set, 1, 20)
			done <- result{at: time.Now(), msg: msgs, err: err}
		}()
		select {
		case <-wrote:
		case r := <-done:
			if r.err == nil {
				r.err = errors.New("long poll returned before it was written")
			}
			cancel()
			return st, fmt.Errorf("poll: %w", r.err)
		}
		time.Sleep(pollGap)
		sent := time.Now()
		sendErr := client.send(ctx, set, 0)
		if sendErr != nil {
			cancel() // nothing will arrive: end the poll now
		}
		r := <-done
		cancel()
		switch {
		case sendErr != nil:
			st.Errors++
			if st.FirstError == "" {
				st.FirstError = sendErr.Error()
			}
		case r.err != nil:
			st.Errors++
			if st.FirstError == "" {
				st.FirstError = r.err.Error()
			}
		case len(r.msg) != 1:
			return st, fmt.Errorf("poll: the waiting receive returned %d messages after a send, want 1", len(r.msg))
		default:
			lat = append(lat, r.at.Sub(sent))
			if err := client.deleteMessage(ctx, url, r.msg[0].ReceiptHandle); err != nil {
				return st, fmt.Errorf("poll: delete: %w", err)
			}
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if st.Errors >= consecutiveErrorLimit {
			break
		}
	}
	elapsed := time.Since(start)
	s := summarize(lat, elapsed)
	st.Requests, st.Messages, st.Seconds = s.Requests, s.Requests, elapsed.Seconds()
	st.PerSecond = perSecond(s.Requests, elapsed)
	st.MessagesPerSecond = st.PerSecond
	st.P50Ms, st.P99Ms = ms(s.P50), ms(s.P99)
	if st.Requests == 0 {
		return st, fmt.Errorf("poll: no sample: %s", st.FirstError)
	}
	return st, nil
}
