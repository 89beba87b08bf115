package function_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"sluice/internal/function"
)

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, nil)
	good := goZip(t)
	cases := []struct {
		name string
		in   function.CreateInput
		want error
		msg  string
	}{
		{"not a zip", function.CreateInput{FunctionName: "a", Role: role, Runtime: "provided.al2023", Handler: "x", ZipFile: []byte("hello")},
			function.ErrInvalidParameter, "Could not unzip uploaded file"},
		{"zip slip", function.CreateInput{FunctionName: "a", Role: role, Runtime: "provided.al2023", Handler: "x",
			ZipFile: makeZip(t, entry{"../evil", []byte("x"), 0o644})}, function.ErrInvalidParameter, "leaves the package directory"},
		{"symlink", function.CreateInput{FunctionName: "a", Role: role, Runtime: "provided.al2023", Handler: "x",
			ZipFile: makeZip(t, entry{"link", []byte("/etc/passwd"), 0o777 | 1<<27})}, function.ErrInvalidParameter, "symbolic link"},
		{"no handler", function.CreateInput{FunctionName: "a", Role: role, Runtime: "python3.12", ZipFile: good},
			function.ErrInvalidParameter, "Runtime and Handler are mandatory"},
		{"old runtime", function.CreateInput{FunctionName: "a", Role: role, Runtime: "python3.8", Handler: "a.b", ZipFile: good},
			function.ErrInvalidParameter, "no longer supported"},
		{"reserved env", function.CreateInput{FunctionName: "a", Role: role, Runtime: "provided.al2023", Handler: "x", ZipFile: good,
			Environment: map[string]string{"AWS_REGION": "x"}}, function.ErrInvalidParameter, "Reserved keys used in this request: AWS_REGION"},
		{"bad role", function.CreateInput{FunctionName: "a", Role: "nope", Runtime: "provided.al2023", Handler: "x", ZipFile: good},
			function.ErrValidation, "at 'role'"},
		{"timeout", function.CreateInput{FunctionName: "a", Role: role, Runtime: "provided.al2023", Handler: "x", ZipFile: good, Timeout: ptr(901)},
			function.ErrInvalidParameter, "Timeout"},
		{"bad name", function.CreateInput{FunctionName: "a b", Role: role, Runtime: "provided.al2023", Handler: "x", ZipFile: good},
			function.ErrValidation, "functionName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Create(e.ctx, tc.in)
			var fe *function.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) || !strings.Contains(fe.Message, tc.msg) {
				t.Fatalf("Create: err = %v, want %v with %q", err, tc.want, tc.msg)
			}
		})
	}
}

func TestCRUDAndPolicy(t *testing.T) {
	e := newEnv(t, nil)
	c := e.create("fn", "provided.al2023", "bootstrap", goZip(t), nil)
	if c.State != "Active" || c.LastUpdateStatus != "Successful" || c.CodeSize == 0 || len(c.CodeSha256) != 44 ||
		c.Timeout != 3 || c.MemorySize != 128 || c.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:fn" {
		t.Fatalf("configuration = %+v", c)
	}
	if _, err := e.svc.Create(e.ctx, function.CreateInput{FunctionName: "fn", Role: role, Runtime: "provided.al2023", Handler: "x", ZipFile: goZip(t)}); !errors.Is(err, function.ErrConflict) {
		t.Fatalf("second Create: %v", err)
	}
	if _, err := e.svc.Get(e.ctx, "nope", ""); !errors.Is(err, function.ErrNotFound) || !strings.Contains(err.Error(), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope") {
		t.Fatalf("Get(missing): %v", err)
	}
	if _, err := e.svc.Get(e.ctx, "arn:aws:lambda:us-east-1:000000000000:function:fn", ""); err != nil {
		t.Fatalf("Get by ARN: %v", err)
	}
	up, err := e.svc.UpdateConfiguration(e.ctx, "fn", function.UpdateConfigInput{Timeout: ptr(10), RevisionId: c.RevisionId})
	if err != nil || up.Timeout != 10 || up.RevisionId == c.RevisionId {
		t.Fatalf("UpdateConfiguration: %+v %v", up, err)
	}
	if _, err := e.svc.UpdateConfiguration(e.ctx, "fn", function.UpdateConfigInput{Timeout: ptr(11), RevisionId: c.RevisionId}); !errors.Is(err, function.ErrPreconditionFailed) {
		t.Fatalf("stale RevisionId: %v", err)
	}
	st, err := e.svc.AddPermission(e.ctx, "fn", function.PermissionInput{StatementId: "s3", Action: "lambda:InvokeFunction",
		Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::b1", SourceAccount: "000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:fn","Condition":{"StringEquals":{"AWS:SourceAccount":"000000000000"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b1"}}}`
	if st != want {
		t.Fatalf("statement:\n got %s\nwant %s", st, want)
	}
	if _, err := e.svc.AddPermission(e.ctx, "fn", function.PermissionInput{StatementId: "s3", Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com"}); !errors.Is(err, function.ErrConflict) {
		t.Fatalf("duplicate sid: %v", err)
	}
	res, err := e.svc.Allows(e.ctx, c.FunctionArn, "s3.amazonaws.com", "arn:aws:s3:::b1", "000000000000")
	if err != nil || !res.Allowed() {
		t.Fatalf("Allows(b1) = %+v, %v", res, err)
	}
	if res, _ := e.svc.Allows(e.ctx, c.FunctionArn, "s3.amazonaws.com", "arn:aws:s3:::other", "000000000000"); res.Allowed() {
		t.Fatalf("Allows(other bucket) = %+v", res)
	}
	doc, _, err := e.svc.GetPolicy(e.ctx, "fn", "")
	var p map[string]any
	if err != nil || json.Unmarshal([]byte(doc), &p) != nil || p["Id"] != "default" {
		t.Fatalf("GetPolicy = %s, %v", doc, err)
	}
	if err := e.svc.RemovePermission(e.ctx, "fn", "", "s3", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.GetPolicy(e.ctx, "fn", ""); !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("GetPolicy after removal: %v", err)
	}
	if err := e.svc.TagResource(e.ctx, c.FunctionArn, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := e.svc.ListTags(e.ctx, c.FunctionArn); tags["k"] != "v" {
		t.Fatalf("tags = %v", tags)
	}
	list, next, err := e.svc.List(e.ctx, "", 0)
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("List = %d, %q, %v", len(list), next, err)
	}
	if err := e.svc.Delete(e.ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(e.ctx, "fn", ""); !errors.Is(err, function.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}

func TestBadPackagesAtInvoke(t *testing.T) {
	e := newEnv(t, nil)
	e.create("noexec", "provided.al2023", "bootstrap", makeZip(t, entry{"bootstrap", goBootstrap, 0o644}), nil)
	out := e.invoke("noexec", map[string]any{})
	if out.FunctionError != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.InvalidEntrypoint") || !strings.Contains(string(out.Payload), "not executable") {
		t.Fatalf("non-executable bootstrap: %s", out.Payload)
	}
	e.create("nobs", "provided.al2023", "bootstrap", makeZip(t, entry{"other", []byte("x"), 0o755}), nil)
	out = e.invoke("nobs", map[string]any{})
	if !strings.Contains(string(out.Payload), "Couldn't find valid bootstrap") {
		t.Fatalf("missing bootstrap: %s", out.Payload)
	}
	// A bootstrap that never calls /next is stopped after InitTimeout.
	e2 := newEnv(t, func(c *function.Config) { c.InitTimeout = 500 * time.Millisecond })
	e2.create("hang", "provided.al2023", "bootstrap", makeZip(t, entry{"bootstrap", []byte("#!/bin/sh\nsleep 30\n"), 0o755}), nil)
	out = e2.invoke("hang", map[string]any{})
	if !strings.Contains(string(out.Payload), "Sandbox.Timedout") {
		t.Fatalf("hanging init: %s", out.Payload)
	}
	if total, _ := e2.svc.Instances("hang"); total > 1 {
		t.Fatalf("instances after init timeout = %d", total)
	}
}

func TestBigOutputBounded(t *testing.T) {
	e := newEnv(t, func(c *function.Config) { c.LogBytes = 64 << 10 })
	e.create("big", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) { in.Timeout = ptr(20) })
	out := e.invoke("big", map[string]any{"op": "big", "bytes": 50 << 20})
	if out.FunctionError != "" || string(out.Payload) != `"done"` {
		t.Fatalf("big output: %q %s", out.FunctionError, out.Payload)
	}
	if l := len(e.logs("big")); l > 64<<10 {
		t.Fatalf("kept log is %d bytes, bound 64 KiB", l)
	}
	if !strings.Contains(e.logs("big"), "REPORT RequestId: "+out.RequestID) {
		t.Fatal("REPORT line missing after big output")
	}
}

func TestMemoryLimit(t *testing.T) {
	e := newEnv(t, nil)
	t.Logf("memory enforcement on this machine: %s", e.svc.MemoryEnforcement())
	e.create("mem", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) { in.Timeout = ptr(20) })
	ok := e.invoke("mem", map[string]any{"op": "alloc", "mb": 20})
	if ok.FunctionError != "" {
		t.Fatalf("20 MB in 128 MB: %s", ok.Payload)
	}
	out := e.invoke("mem", map[string]any{"op": "alloc", "mb": 400})
	if out.FunctionError != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.OutOfMemory") {
		t.Fatalf("400 MB in 128 MB: %q %s", out.FunctionError, out.Payload)
	}
	if r := e.invoke("mem", map[string]any{"op": "echo"}); r.FunctionError != "" {
		t.Fatalf("after OOM: %s", r.Payload)
	}
}
