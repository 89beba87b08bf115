package function_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sluice/internal/function"
	"sluice/internal/function/functest"
	"sluice/internal/runtimeapi"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// goBootstrap is the test function (testdata/bootstrap), built once.
var goBootstrap []byte

func TestMain(m *testing.M) {
	var err error
	if goBootstrap, err = functest.Build("./testdata/bootstrap"); err != nil {
		fmt.Fprintln(os.Stderr, "build test bootstrap:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

type entry struct {
	name string
	data []byte
	mode os.FileMode
}

func makeZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func goZip(t testing.TB) []byte {
	return makeZip(t, entry{"bootstrap", goBootstrap, 0o755})
}

type env struct {
	t   *testing.T
	svc *function.Service
	ctx context.Context
	dir string
}

func newEnv(t *testing.T, mod func(*function.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := pebblestore.Open(pebblestore.Options{Dir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	bl, err := blobstore.Open(blobstore.Options{Dir: filepath.Join(dir, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := function.Config{Store: st, Blobs: bl, RuntimeDir: filepath.Join(dir, "rt"), Runtime: runtimeapi.Listen,
		QueueWait: 300 * time.Millisecond, InitTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := function.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	return &env{t: t, svc: svc, ctx: context.Background(), dir: dir}
}

func ptr[T any](v T) *T { return &v }

const role = "arn:aws:iam::000000000000:role/fn"

func (e *env) create(name, runtime, handler string, zip []byte, mod func(*function.CreateInput)) function.Configuration {
	e.t.Helper()
	in := function.CreateInput{FunctionName: name, Role: role, Runtime: runtime, Handler: handler, ZipFile: zip}
	if mod != nil {
		mod(&in)
	}
	c, err := e.svc.Create(e.ctx, in)
	if err != nil {
		e.t.Fatalf("Create(%s): %v", name, err)
	}
	return c
}

func (e *env) invoke(name string, payload any) function.InvokeOutput {
	e.t.Helper()
	b, _ := json.Marshal(payload)
	out, err := e.svc.Invoke(e.ctx, function.InvokeInput{Name: name, Payload: b, LogTail: true})
	if err != nil {
		e.t.Fatalf("Invoke(%s, %s): %v", name, b, err)
	}
	return out
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload %q is not a JSON object: %v", b, err)
	}
	return m
}

func (e *env) logs(name string) string {
	e.t.Helper()
	var b bytes.Buffer
	if err := e.svc.Logs(e.ctx, name, function.LogOptions{}, &b); err != nil {
		e.t.Fatal(err)
	}
	return b.String()
}
