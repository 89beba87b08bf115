package server

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// processCPU is this process's user plus system CPU time so far.
func processCPU(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIdleLongPollsCostNoCPUAndShutdownAnswersThem is issue 5's "hundreds
// of idle long polls cost no CPU; shutdown answers them promptly" against
// the real server: 300 ReceiveMessage calls with WaitTimeSeconds 20 on an
// empty queue. Over an idle window the whole process (server and the 300
// waiting clients) uses a small fraction of one core, and when the server
// shuts down every poll gets an answer (an empty receive) long before its
// 20 s are up.
func TestIdleLongPollsCostNoCPUAndShutdownAnswersThem(t *testing.T) {
	const (
		polls  = 300
		window = 1500 * time.Millisecond
		// An idle wait is channels only; what the runtime does meanwhile
		// (GC of the last requests' garbage, timers of other parts) must
		// stay far below the window.
		maxShare = 0.10
		prompt   = 5 * time.Second
	)
	srv := start(t, Config{ShutdownTimeout: 15 * time.Second})
	root := srv.RootCredentials()
	tr := &http.Transport{MaxIdleConnsPerHost: polls, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
		Credentials:      credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, ""),
		HTTPClient:       &http.Client{Transport: tr},
		RetryMaxAttempts: 1,
	})
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("idle")})
	if err != nil {
		t.Fatal(err)
	}

	type answer struct {
		at   time.Time
		msgs int
		err  error
	}
	answers := make(chan answer, polls)
	var wrote sync.WaitGroup
	wrote.Add(polls)
	for range polls {
		var once sync.Once
		pctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(wrote.Done) },
		})
		go func() {
			out, err := client.ReceiveMessage(pctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20})
			a := answer{at: time.Now(), err: err}
			if out != nil {
				a.msgs = len(out.Messages)
			}
			answers <- a
		}()
	}
	wrote.Wait()

	cpu0, wall0 := processCPU(t), time.Now()
	select {
	case a := <-answers:
		t.Fatalf("a long poll returned during the idle window: %d messages, err %v", a.msgs, a.err)
	case <-time.After(window):
	}
	cpu, wall := processCPU(t)-cpu0, time.Since(wall0)
	share := float64(cpu) / float64(wall)
	t.Logf("%d idle long polls: %v CPU over %v (%.2f%% of one core)", polls, cpu, wall.Round(time.Millisecond), 100*share)
	if share > maxShare {
		t.Errorf("%d idle long polls used %v CPU in %v (%.1f%% of one core), want under %.0f%%", polls, cpu, wall, 100*share, 100*maxShare)
	}

	stopAt := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	deadline := time.After(prompt)
	var last time.Duration
	for i := range polls {
		select {
		case a := <-answers:
			if a.err != nil || a.msgs != 0 {
				t.Fatalf("poll %d at shutdown: %d messages, err %v; want an empty answer", i, a.msgs, a.err)
			}
			last = max(last, a.at.Sub(stopAt))
		case <-deadline:
			t.Fatalf("only %d of %d long polls answered within %v of shutdown", i, polls, prompt)
		}
	}
	t.Logf("all %d long polls answered within %v of shutdown", polls, last.Round(time.Millisecond))
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
}
