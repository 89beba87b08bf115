package function_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The language bootstraps run only where the interpreter exists; the
// end-to-end suite runs them for real.

func TestPythonBootstrap(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	e := newEnv(t, nil)
	src := []byte(`import os
def handler(event, context):
    print("hello from python")
    if event.get("fail"):
        raise ValueError("bad value")
    return {"got": event, "rid": context.aws_request_id, "name": context.function_name,
            "left": context.get_remaining_time_in_millis() > 0, "mem": context.memory_limit_in_mb}
`)
	e.create("py", "python3.12", "pkg/app.handler", makeZip(t, entry{"pkg/app.py", src, 0o644}, entry{"pkg/__init__.py", nil, 0o644}), nil)
	out := e.invoke("py", map[string]any{"a": 1})
	m := decode(t, out.Payload)
	if out.FunctionError != "" || m["rid"] != out.RequestID || m["name"] != "py" || m["left"] != true || m["mem"] != "128" {
		t.Fatalf("python result: %q %s", out.FunctionError, out.Payload)
	}
	out = e.invoke("py", map[string]any{"fail": true})
	m = decode(t, out.Payload)
	if out.FunctionError != "Unhandled" || m["errorType"] != "ValueError" || m["errorMessage"] != "bad value" {
		t.Fatalf("python error: %s", out.Payload)
	}
	e.create("pymissing", "python3.12", "nope.handler", makeZip(t, entry{"app.py", src, 0o644}), nil)
	out = e.invoke("pymissing", map[string]any{})
	if m := decode(t, out.Payload); m["errorType"] != "Runtime.ImportModuleError" {
		t.Fatalf("missing module: %s", out.Payload)
	}
	e.create("pynofn", "python3.12", "app.other", makeZip(t, entry{"app.py", src, 0o644}), nil)
	out = e.invoke("pynofn", map[string]any{})
	if m := decode(t, out.Payload); m["errorType"] != "Runtime.HandlerNotFound" {
		t.Fatalf("missing handler: %s", out.Payload)
	}
}

func TestNodeBootstrap(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node")
	}
	e := newEnv(t, nil)
	src := []byte(`exports.handler = async (event, context) => {
  console.log("hello from node");
  if (event.fail) throw new TypeError("bad type");
  return {got: event, rid: context.awsRequestId, name: context.functionName, left: context.getRemainingTimeInMillis() > 0};
};
exports.cb = (event, context, callback) => callback(null, {cb: true});
`)
	e.create("node", "nodejs20.x", "index.handler", makeZip(t, entry{"index.js", src, 0o644}), nil)
	out := e.invoke("node", map[string]any{"a": 1})
	m := decode(t, out.Payload)
	if out.FunctionError != "" || m["rid"] != out.RequestID || m["name"] != "node" || m["left"] != true {
		t.Fatalf("node result: %q %s", out.FunctionError, out.Payload)
	}
	out = e.invoke("node", map[string]any{"fail": true})
	if m := decode(t, out.Payload); out.FunctionError != "Unhandled" || m["errorType"] != "TypeError" || m["errorMessage"] != "bad type" {
		t.Fatalf("node error: %s", out.Payload)
	}
	e.create("nodecb", "nodejs20.x", "index.cb", makeZip(t, entry{"index.js", src, 0o644}), nil)
	if out := e.invoke("nodecb", map[string]any{}); string(out.Payload) != `{"cb":true}` {
		t.Fatalf("callback handler: %s", out.Payload)
	}
	e.create("nodemissing", "nodejs20.x", "nope.handler", makeZip(t, entry{"index.js", src, 0o644}), nil)
	out = e.invoke("nodemissing", map[string]any{})
	if !strings.Contains(string(out.Payload), "Runtime.ImportModuleError") {
		t.Fatalf("missing module: %s", out.Payload)
	}
}
