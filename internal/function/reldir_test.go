package function_test

import (
	"os"
	"path/filepath"
	"testing"

	"sluice/internal/function"
)

// A relative runtime directory (from `sluice serve --data data`, or the
// default ./sluice-data) still runs functions: instances start with their
// task directory as working directory, so a relative bootstrap path would
// be resolved against the wrong directory (fork/exec ...: no such file).
func TestRelativeRuntimeDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *function.Config) {
		rel, err := filepath.Rel(wd, c.RuntimeDir)
		if err != nil || filepath.IsAbs(rel) {
			t.Skipf("no relative path from %s to %s", wd, c.RuntimeDir)
		}
		c.RuntimeDir = rel
	})
	e.create("rel", "provided.al2023", "bootstrap", goZip(t), nil)
	out := e.invoke("rel", map[string]any{"op": "echo", "text": "hi"})
	if out.FunctionError != "" {
		t.Fatalf("FunctionError = %q, payload %s", out.FunctionError, out.Payload)
	}
	if m := decode(t, out.Payload); m["text"] != "hi" {
		t.Fatalf("payload %v, want the echo of hi", m)
	}
}
