package sqsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/queue"
	"sluice/internal/storage/pebblestore"
)

// benchSQS is the SQS handler over Pebble on disk, as the server builds
// it, without the network: the benchmarks measure the server's own CPU
// per request, which `sluice bench --service sqs` sees only mixed with
// its client's and the kernel's.
func benchSQS(b *testing.B) *Handler {
	b.Helper()
	st, err := pebblestore.Open(pebblestore.Options{Dir: b.TempDir(), Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	qs := queue.New(queue.Config{Store: st, Clock: clock.Real{}})
	b.Cleanup(func() {
		qs.Close()
		st.Close()
	})
	if err := qs.Create(context.Background(), "q", nil, nil); err != nil {
		b.Fatal(err)
	}
	return New(Config{
		Queues: qs,
		Verifier: &auth.Verifier{
			Keys:  auth.NewStaticKeyring(auth.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}),
			Clock: clock.Real{},
		},
		PublicURL: "http://127.0.0.1:9000",
	})
}

// signedJSON returns one signed AWS JSON 1.0 request; the benchmarks
// serve clones of it (the signature covers the body, which is the same).
func signedJSON(b *testing.B, action, body string) *http.Request {
	b.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9000/", nil)
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	r.Header.Set("X-Amzn-Query-Mode", "true")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}, r,
		hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	r.ContentLength = int64(len(body))
	return r
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSendMessageParallel is durable SendMessage of 1 KiB, 32 in
// flight (16 goroutines per CPU on two cores), as the bench's send step
// at concurrency 32: commits share WAL syncs, so cpu-ns/op (the process's
// CPU, Pebble's WAL writer included) is the server's cost per send.
func BenchmarkSendMessageParallel(b *testing.B) {
	h := benchSQS(b)
	body := `{"QueueUrl":"http://127.0.0.1:9000/000000000000/q","MessageBody":"` + strings.Repeat("x", 1024) + `"}`
	tmpl := signedJSON(b, "SendMessage", body)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32 / runtime.GOMAXPROCS(0))
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := serveSigned(h, tmpl, body)
			if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"MD5OfMessageBody"`)) {
				b.Errorf("SendMessage: status %d: %s", w.Code, w.Body.Bytes())
				return
			}
			n.Add(1)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkReceiveDelete is ReceiveMessage (one message, no wait) then
// DeleteMessage, one pair per op, on a queue filled before the timer.
func BenchmarkReceiveDelete(b *testing.B) {
	h := benchSQS(b)
	const qurl = "http://127.0.0.1:9000/000000000000/q"
	send := `{"QueueUrl":"` + qurl + `","MessageBody":"` + strings.Repeat("x", 1024) + `"}`
	st := signedJSON(b, "SendMessage", send)
	for range b.N {
		w := serveSigned(h, st, send)
		if w.Code != http.StatusOK {
			b.Fatalf("SendMessage: %d %s", w.Code, w.Body.Bytes())
		}
	}
	recv := `{"QueueUrl":"` + qurl + `","MaxNumberOfMessages":1}`
	rt := signedJSON(b, "ReceiveMessage", recv)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for range b.N {
		w := serveSigned(h, rt, recv)
		raw := w.Body.Bytes()
		i := bytes.Index(raw, []byte(`"ReceiptHandle":"`))
		if w.Code != http.StatusOK || i < 0 {
			b.Fatalf("ReceiveMessage: %d %s", w.Code, raw)
		}
		handle := raw[i+len(`"ReceiptHandle":"`):]
		handle = handle[:bytes.IndexByte(handle, '"')]
		del := `{"QueueUrl":"` + qurl + `","ReceiptHandle":"` + string(handle) + `"}`
		w = serveSigned(h, signedJSON(b, "DeleteMessage", del), del)
		if w.Code != http.StatusOK {
			b.Fatalf("DeleteMessage: %d %s", w.Code, w.Body.Bytes())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSendToWaitingReceive is the bench's poll step without the
// network: a ReceiveMessage waits in a long poll on an empty queue, then
// a SendMessage is served; an op is from the start of the send to the
// receive's response being written. It reports the p50 (p50-ns) and the
// send's own latency (send-p50-ns): the difference is the wake path.
func BenchmarkSendToWaitingReceive(b *testing.B) {
	h := benchSQS(b)
	const qurl = "http://127.0.0.1:9000/000000000000/q"
	send := `{"QueueUrl":"` + qurl + `","MessageBody":"` + strings.Repeat("x", 1024) + `"}`
	st := signedJSON(b, "SendMessage", send)
	recv := `{"QueueUrl":"` + qurl + `","MaxNumberOfMessages":1,"WaitTimeSeconds":20}`
	rt := signedJSON(b, "ReceiveMessage", recv)
	wake := make([]time.Duration, 0, b.N)
	sends := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		done := make(chan time.Time, 1)
		r := rt.Clone(rt.Context())
		r.Body = io.NopCloser(strings.NewReader(recv))
		w := httptest.NewRecorder()
		go func() {
			h.ServeHTTP(w, r)
			done <- time.Now()
		}()
		time.Sleep(2 * time.Millisecond) // the receive is waiting by then
		s := st.Clone(st.Context())
		s.Body = io.NopCloser(strings.NewReader(send))
		sw := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(sw, s)
		sends = append(sends, time.Since(t0))
		end := <-done
		wake = append(wake, end.Sub(t0))
		if sw.Code != http.StatusOK || w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"ReceiptHandle"`)) {
			b.Fatalf("send %d %s; receive %d %s", sw.Code, sw.Body.Bytes(), w.Code, w.Body.Bytes())
		}
	}
	b.StopTimer()
	slices.Sort(wake)
	slices.Sort(sends)
	b.ReportMetric(float64(wake[len(wake)/2]), "p50-ns")
	b.ReportMetric(float64(sends[len(sends)/2]), "send-p50-ns")
}

// serveSigned serves a copy of the signed request tmpl with body (the
// body its signature covers) and returns the recorded answer.
func serveSigned(h *Handler, tmpl *http.Request, body string) *httptest.ResponseRecorder {
	r := tmpl.Clone(tmpl.Context())
	r.Body = io.NopCloser(strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// benchFilledQueue is a handler whose queue "q" holds ten 1 KiB messages
// per op, its URL, and a signed ReceiveMessage of up to ten (all system
// attributes) with its body.
func benchFilledQueue(b *testing.B) (h *Handler, qurl, recv string, rt *http.Request) {
	h = benchSQS(b)
	qurl = "http://127.0.0.1:9000/000000000000/q"
	batch := make([]queue.SendInput, 10)
	for i := range batch {
		batch[i] = queue.SendInput{Body: strings.Repeat("x", 1024)}
	}
	for range b.N {
		if _, _, err := h.q.SendBatch(context.Background(), "q", batch); err != nil {
			b.Fatal(err)
		}
	}
	recv = `{"QueueUrl":"` + qurl + `","MaxNumberOfMessages":10,"AttributeNames":["All"]}`
	return h, qurl, recv, signedJSON(b, "ReceiveMessage", recv)
}

// BenchmarkReceiveDeleteBatch is the consumer side of issue 6:
// ReceiveMessage of up to ten (no wait) then DeleteMessageBatch of what
// it got, one pair per op, on a queue filled before the timer with ten
// messages per op. cpu-ns/op includes signing the DeleteMessageBatch
// request (its body differs every time).
func BenchmarkReceiveDeleteBatch(b *testing.B) {
	h, qurl, recv, rt := benchFilledQueue(b)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for range b.N {
		w := serveSigned(h, rt, recv)
		raw := w.Body.Bytes()
		if w.Code != http.StatusOK {
			b.Fatalf("ReceiveMessage: %d %s", w.Code, raw)
		}
		var del strings.Builder
		del.WriteString(`{"QueueUrl":"` + qurl + `","Entries":[`)
		n := 0
		for {
			i := bytes.Index(raw, []byte(`"ReceiptHandle":"`))
			if i < 0 {
				break
			}
			raw = raw[i+len(`"ReceiptHandle":"`):]
			handle := raw[:bytes.IndexByte(raw, '"')]
			if n > 0 {
				del.WriteByte(',')
			}
			fmt.Fprintf(&del, `{"Id":"m%d","ReceiptHandle":"%s"}`, n, handle)
			n++
		}
		if n != 10 {
			b.Fatalf("ReceiveMessage: %d messages, want 10: %s", n, w.Body.Bytes())
		}
		del.WriteString(`]}`)
		w = serveSigned(h, signedJSON(b, "DeleteMessageBatch", del.String()), del.String())
		if w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"Failed":[{`)) {
			b.Fatalf("DeleteMessageBatch: %d %s", w.Code, w.Body.Bytes())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkReceiveMessage10 is ReceiveMessage of ten (no wait, all
// system attributes) alone, on a queue filled before the timer: a lease
// rides on the next synced commit, so this is the receive path's own CPU
// without a WAL sync per op.
func BenchmarkReceiveMessage10(b *testing.B) {
	h, _, recv, rt := benchFilledQueue(b)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for range b.N {
		w := serveSigned(h, rt, recv)
		if w.Code != http.StatusOK || bytes.Count(w.Body.Bytes(), []byte(`"ReceiptHandle"`)) != 10 {
			b.Fatalf("ReceiveMessage: %d %s", w.Code, w.Body.Bytes())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
