package function_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice/internal/function"
)

func TestInvokeEchoWarmReuse(t *testing.T) {
	e := newEnv(t, nil)
	e.create("echo", "provided.al2023", "bootstrap", goZip(t), nil)
	out := e.invoke("echo", map[string]any{"op": "echo", "text": "hi"})
	if out.FunctionError != "" {
		t.Fatalf("FunctionError = %q, payload %s", out.FunctionError, out.Payload)
	}
	m := decode(t, out.Payload)
	if m["text"] != "hi" || m["request_id"] != out.RequestID {
		t.Fatalf("payload %v, request id %s", m, out.RequestID)
	}
	if m["arn"] != "arn:aws:lambda:us-east-1:000000000000:function:echo" {
		t.Fatalf("invoked function arn = %v", m["arn"])
	}
	out2 := e.invoke("echo", map[string]any{"op": "echo", "text": "again"})
	if decode(t, out2.Payload)["pid"] != m["pid"] {
		t.Fatalf("second invoke ran in pid %v, first in %v: warm instance not reused", decode(t, out2.Payload)["pid"], m["pid"])
	}
	if total, idle := e.svc.Instances("echo"); total != 1 || idle != 1 {
		t.Fatalf("instances = %d total, %d idle; want 1, 1", total, idle)
	}
	tail, err := base64.StdEncoding.DecodeString(out2.LogResult)
	if err != nil {
		t.Fatal(err)
	}
	report := regexp.MustCompile(`(?m)^REPORT RequestId: ` + out2.RequestID + `\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t$`)
	for _, want := range []string{"START RequestId: " + out2.RequestID + " Version: $LATEST\n", "echo says again\n", "END RequestId: " + out2.RequestID + "\n"} {
		if !strings.Contains(string(tail), want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}
	if !report.Match(tail) {
		t.Errorf("log tail has no REPORT line of Lambda's format:\n%s", tail)
	}
	if strings.Contains(string(tail), out.RequestID) {
		t.Errorf("log tail of the second invoke holds the first's lines:\n%s", tail)
	}
	logs := e.logs("echo")
	if !strings.Contains(logs, "START RequestId: "+out.RequestID) || !strings.Contains(logs, "END RequestId: "+out2.RequestID) {
		t.Errorf("function log lacks both invocations:\n%s", logs)
	}
	if !regexp.MustCompile(`REPORT RequestId: ` + out.RequestID + `.*Init Duration: \d+\.\d\d ms`).MatchString(logs) {
		t.Errorf("cold start REPORT has no Init Duration:\n%s", logs)
	}
}

func TestInvokeEnvironment(t *testing.T) {
	e := newEnv(t, func(c *function.Config) {
		c.EndpointURL = "http://127.0.0.1:9999"
		c.Credentials = func(_ context.Context, s function.Session) (function.Credentials, error) {
			return function.Credentials{AccessKeyID: "ASIA" + s.FunctionName, SecretAccessKey: "secret", SessionToken: "tok"}, nil
		}
	})
	e.create("envfn", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) {
		in.Environment = map[string]string{"GREETING": "hello"}
		in.MemorySize = ptr(256)
		in.Timeout = ptr(7)
	})
	out := e.invoke("envfn", map[string]any{"op": "env"})
	m := decode(t, out.Payload)
	want := map[string]string{
		"GREETING": "hello", "AWS_LAMBDA_FUNCTION_NAME": "envfn", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9999", "AWS_ACCESS_KEY_ID": "ASIAenvfn", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN": "tok", "_HANDLER": "bootstrap", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "TZ": ":UTC",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("env %s = %v, want %q", k, m[k], v)
		}
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "AWS_LAMBDA_MAX_CONCURRENCY"} {
		if _, ok := m[k]; ok {
			t.Errorf("env has %s; it must never be set", k)
		}
	}
	if !strings.HasPrefix(fmt.Sprint(m["AWS_LAMBDA_RUNTIME_API"]), "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %v", m["AWS_LAMBDA_RUNTIME_API"])
	}
	if !strings.HasPrefix(fmt.Sprint(m["_X_AMZN_TRACE_ID"]), "Root=1-") {
		t.Errorf("_X_AMZN_TRACE_ID = %v, want the trace id Sluice handed out", m["_X_AMZN_TRACE_ID"])
	}
	// The deadline aws-lambda-go parsed is the 7 s timeout from now.
	var left int
	fmt.Sscan(fmt.Sprint(m["deadline_in_ms"]), &left)
	if left < 5000 || left > 7000 {
		t.Errorf("remaining time = %d ms, want about 7000", left)
	}
	cur, ok := e.svc.CurrentInvocation("ASIAenvfn")
	if !ok || cur.FunctionName != "envfn" || cur.RequestID != "" {
		t.Errorf("CurrentInvocation(idle instance) = %+v, %v", cur, ok)
	}
}

func TestInvokeFunctionErrorAndPanic(t *testing.T) {
	e := newEnv(t, nil)
	e.create("err", "provided.al2023", "bootstrap", goZip(t), nil)
	out := e.invoke("err", map[string]any{"op": "error", "text": "bad"})
	if out.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled", out.FunctionError)
	}
	m := decode(t, out.Payload)
	if m["errorMessage"] != "boom: bad" || m["errorType"] != "errorString" {
		t.Fatalf("error payload = %s", out.Payload)
	}
	// A panic posts the error and exits: the next invoke gets a new instance.
	pid := decode(t, e.invoke("err", map[string]any{"op": "echo"}).Payload)["pid"]
	out = e.invoke("err", map[string]any{"op": "panic", "text": "p"})
	if out.FunctionError != "Unhandled" || !strings.Contains(string(out.Payload), "panic: p") {
		t.Fatalf("panic: FunctionError %q, payload %s", out.FunctionError, out.Payload)
	}
	next := e.invoke("err", map[string]any{"op": "echo", "text": "after"})
	if next.FunctionError != "" {
		t.Fatalf("invoke after panic failed: %s", next.Payload)
	}
	if decode(t, next.Payload)["pid"] == pid {
		t.Fatalf("invoke after a panic ran in the old process %v", pid)
	}
}

func TestInvokeTimeout(t *testing.T) {
	e := newEnv(t, nil)
	e.create("slow", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) { in.Timeout = ptr(1) })
	start := time.Now()
	out := e.invoke("slow", map[string]any{"op": "sleep", "ms": 5000})
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout answered after %v", d)
	}
	m := decode(t, out.Payload)
	if out.FunctionError != "Unhandled" || m["errorType"] != "Sandbox.Timedout" ||
		!strings.HasSuffix(fmt.Sprint(m["errorMessage"]), "Task timed out after 1.00 seconds") {
		t.Fatalf("timeout result: %q %s", out.FunctionError, out.Payload)
	}
	tail, _ := base64.StdEncoding.DecodeString(out.LogResult)
	if !strings.Contains(string(tail), out.RequestID+" Task timed out after 1.00 seconds") || !strings.Contains(string(tail), "Status: timeout") {
		t.Fatalf("log tail:\n%s", tail)
	}
	// The instance was killed; the function still works.
	ok := e.invoke("slow", map[string]any{"op": "sleep", "ms": 1})
	if ok.FunctionError != "" {
		t.Fatalf("after timeout: %s", ok.Payload)
	}
}

func TestInvokeCrashReplaced(t *testing.T) {
	e := newEnv(t, nil)
	e.create("crash", "provided.al2023", "bootstrap", goZip(t), nil)
	out := e.invoke("crash", map[string]any{"op": "exit"})
	m := decode(t, out.Payload)
	if out.FunctionError != "Unhandled" || m["errorType"] != "Runtime.ExitError" ||
		m["errorMessage"] != "RequestId: "+out.RequestID+" Error: Runtime exited with error: exit status 2" {
		t.Fatalf("crash result: %q %s", out.FunctionError, out.Payload)
	}
	if r := e.invoke("crash", map[string]any{"op": "echo"}); r.FunctionError != "" {
		t.Fatalf("after crash: %s", r.Payload)
	}
}

func TestInvokeForkAndExitCleansGroup(t *testing.T) {
	e := newEnv(t, nil)
	e.create("fork", "provided.al2023", "bootstrap", goZip(t), nil)
	out := e.invoke("fork", map[string]any{"op": "fork"})
	if out.FunctionError != "Unhandled" {
		t.Fatalf("fork result: %s", out.Payload)
	}
	tail, _ := base64.StdEncoding.DecodeString(out.LogResult)
	var child int
	for _, l := range strings.Split(string(tail), "\n") {
		if n, _ := fmt.Sscanf(l, "child %d", &child); n == 1 {
			break
		}
	}
	if child == 0 {
		t.Fatalf("no child pid in log:\n%s", tail)
	}
	deadline := time.Now().Add(3 * time.Second)
	for syscallAlive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("forked child %d survives its instance", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInvokeConcurrentInstancesAndThrottle(t *testing.T) {
	e := newEnv(t, func(c *function.Config) { c.MaxInstances = 3 })
	e.create("conc", "provided.al2023", "bootstrap", goZip(t), nil)
	var wg sync.WaitGroup
	pids := make([]any, 3)
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pids[i] = decode(t, e.invoke("conc", map[string]any{"op": "sleep", "ms": 600}).Payload)["pid"]
		}()
	}
	wg.Wait()
	seen := map[any]bool{}
	for _, p := range pids {
		seen[p] = true
	}
	if len(seen) != 3 {
		t.Fatalf("3 concurrent invokes ran in %d processes (%v), want 3", len(seen), pids)
	}
	// Reserved concurrency 1: a second concurrent invoke waits QueueWait
	// (300 ms) and is throttled.
	if _, err := e.svc.PutConcurrency(e.ctx, "conc", 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.invoke("conc", map[string]any{"op": "sleep", "ms": 1500})
	}()
	time.Sleep(200 * time.Millisecond)
	_, err := e.svc.Invoke(e.ctx, function.InvokeInput{Name: "conc", Payload: []byte(`{"op":"echo"}`)})
	var fe *function.Error
	if !errors.Is(err, function.ErrTooManyRequests) || !errors.As(err, &fe) || fe.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("second invoke at reserved concurrency 1: err = %v", err)
	}
	<-done
	if _, err := e.svc.PutConcurrency(e.ctx, "conc", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Invoke(e.ctx, function.InvokeInput{Name: "conc"}); !errors.Is(err, function.ErrTooManyRequests) {
		t.Fatalf("invoke at reserved concurrency 0: err = %v", err)
	}
}
