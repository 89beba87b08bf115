package lambdaapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"sluice/internal/event"
	"sluice/internal/function"
	"sluice/internal/function/functest"
	"sluice/internal/storage"
)

// goBootstrap is package function's test function
// (../function/testdata/bootstrap), built once: the loop tests need a
// function that really runs.
var goBootstrap []byte

func TestMain(m *testing.M) {
	var err error
	if goBootstrap, err = functest.Build("../function/testdata/bootstrap"); err != nil {
		fmt.Fprintln(os.Stderr, "build test bootstrap:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// fakeLineage is the handler's event.LineageSource: requests signed with the
// root key belong to the chain set last, none before.
type fakeLineage struct {
	mu sync.Mutex
	l  event.Lineage
}

func (f *fakeLineage) set(l event.Lineage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.l = l
}

func (f *fakeLineage) Lineage(accessKeyID string) (event.Lineage, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if accessKeyID != rootKey || len(f.l.Chain) == 0 {
		return event.Lineage{}, false
	}
	return f.l, true
}

// chainOf is the lineage a function invocation at depth n hands the
// requests it makes: n invocations, itself the last.
func chainOf(n int) event.Lineage {
	l := event.Lineage{RequestID: "root-request", TraceID: "Root=1-00000000-000000000000000000000000"}
	for i := 1; i <= n; i++ {
		l.Chain = append(l.Chain, fmt.Sprintf("inv-%d", i))
	}
	return l
}

type destRecord struct {
	arn  string
	body []byte
}

// destQueues is the function service's QueueSender: what it sends goes
// to the channel.
type destQueues chan destRecord

func (d destQueues) EnqueueTx(_ storage.Tx, queueARN string, body []byte, _ map[string]string) error {
	d <- destRecord{arn: queueARN, body: append([]byte(nil), body...)}
	return nil
}

func (e *env) createGo(name string) {
	e.t.Helper()
	_, err := e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(roleARN), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipBinary(e.t, goBootstrap)},
	})
	if err != nil {
		e.t.Fatalf("CreateFunction(%s): %v", name, err)
	}
}

func zipBinary(t *testing.T, b []byte) []byte {
	t.Helper()
	return zipOf(t, string(b))
}

func recursiveDropped(t *testing.T, reg *prometheus.Registry, fn string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_function_recursive_invocations_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, "function", fn) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// TestInvokeRecursiveLoopSync: a RequestResponse Invoke made by the 16th
// invocation of a chain is refused with RecursiveInvocationException
// (400) while the target's RecursiveLoop is Terminate, counted and not
// run; the 15th's runs, and so does the 16th's under Allow.
func TestInvokeRecursiveLoopSync(t *testing.T) {
	e := newEnv(t)
	e.createGo("fn")
	echo := []byte(`{"op":"echo","text":"hi"}`)

	e.lineage.set(chainOf(function.MaxChainDepth))
	_, err := e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: echo})
	var rie *types.RecursiveInvocationException
	if !errors.As(err, &rie) {
		t.Fatalf("Invoke from depth 16 = %v, want *types.RecursiveInvocationException", err)
	}
	if aws.ToString(rie.Message) != function.RecursiveInvocationMessage {
		t.Fatalf("message = %q, want %q", aws.ToString(rie.Message), function.RecursiveInvocationMessage)
	}
	if code, status := apiErr(t, err); code != "RecursiveInvocationException" || status != 400 {
		t.Fatalf("Invoke from depth 16 = %s %d, want RecursiveInvocationException 400", code, status)
	}
	if got := recursiveDropped(t, e.reg, "fn"); got != 1 {
		t.Fatalf("recursive invocations dropped = %v, want 1", got)
	}
	// A missing function is still not found, whatever the chain.
	_, err = e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: echo})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("Invoke of a missing function from depth 16 = %v, want ResourceNotFoundException", err)
	}

	e.lineage.set(chainOf(function.MaxChainDepth - 1))
	out, err := e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: echo})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"text":"hi"`) {
		t.Fatalf("Invoke from depth 15 = %+v, %v, want the echo", out, err)
	}

	if _, err := e.client.PutFunctionRecursionConfig(e.ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("fn"),
		RecursiveLoop: types.RecursiveLoopAllow}); err != nil {
		t.Fatal(err)
	}
	e.lineage.set(chainOf(function.MaxChainDepth))
	out, err = e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: echo})
	if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"text":"hi"`) {
		t.Fatalf("Invoke from depth 16 with Allow = %+v, %v, want the echo", out, err)
	}
	if got := recursiveDropped(t, e.reg, "fn"); got != 1 {
		t.Fatalf("recursive invocations dropped = %v after the allowed and shallow ones, want still 1", got)
	}
}

// TestInvokeRecursiveLoopEvent: an Event Invoke made by the 16th
// invocation of a chain is accepted (202) and carries the chain, so the
// asynchronous worker stops it and sends it to the on-failure destination
// with RecursiveInvocationException instead of running it.
func TestInvokeRecursiveLoopEvent(t *testing.T) {
	e := newEnv(t)
	e.createGo("fn")
	const (
		onFailure = "arn:aws:sqs:us-east-1:000000000000:failures"
		onSuccess = "arn:aws:sqs:us-east-1:000000000000:successes"
	)
	if _, err := e.client.PutFunctionEventInvokeConfig(e.ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(onFailure)},
			OnSuccess: &types.OnSuccess{Destination: aws.String(onSuccess)}}}); err != nil {
		t.Fatal(err)
	}
	e.lineage.set(chainOf(function.MaxChainDepth))
	out, err := e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"echo","text":"17th"}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event Invoke from depth 16 = %+v, %v, want 202", out, err)
	}
	var got destRecord
	select {
	case got = <-e.dest:
	case <-time.After(20 * time.Second):
		t.Fatal("no record reached the on-failure destination within 20 s")
	}
	var rec struct {
		RequestPayload  json.RawMessage `json:"requestPayload"`
		ResponsePayload struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		} `json:"responsePayload"`
	}
	if err := json.Unmarshal(got.body, &rec); err != nil {
		t.Fatalf("record %s: %v", got.body, err)
	}
	if got.arn != onFailure || rec.ResponsePayload.ErrorType != "RecursiveInvocationException" ||
		rec.ResponsePayload.ErrorMessage != function.RecursiveInvocationMessage || !strings.Contains(string(rec.RequestPayload), "17th") {
		t.Fatalf("on-failure record to %s = %s, want the 17th event with RecursiveInvocationException", got.arn, got.body)
	}
	if n := recursiveDropped(t, e.reg, "fn"); n != 1 {
		t.Fatalf("recursive invocations dropped = %v, want 1", n)
	}

	// One invocation shallower, the event runs: its record goes to the
	// on-success destination, and the counter stays.
	e.lineage.set(chainOf(function.MaxChainDepth - 1))
	if _, err := e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"echo","text":"16th"}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case got = <-e.dest:
	case <-time.After(20 * time.Second):
		t.Fatal("no record reached a destination within 20 s")
	}
	if got.arn != onSuccess || !strings.Contains(string(got.body), "16th") {
		t.Fatalf("record to %s = %s, want the 16th event's success", got.arn, got.body)
	}
	if n := recursiveDropped(t, e.reg, "fn"); n != 1 {
		t.Fatalf("recursive invocations dropped = %v after the 16th ran, want still 1", n)
	}
}
