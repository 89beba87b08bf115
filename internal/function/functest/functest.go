// Package functest builds Go Lambda functions for tests, the way Lambda's
// documentation builds them for provided.al2023: a static executable named
// bootstrap, with the lambda.norpc tag, zipped with its exec bit.
package functest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds the Go package pkg (a path as `go build` takes it,
// relative to the working directory) and returns the executable.
func Build(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "functest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %v\n%s", pkg, err, out)
	}
	return os.ReadFile(bin)
}

// BuildZip builds pkg and returns a function package: a zip holding the
// executable as bootstrap, mode 0755.
func BuildZip(pkg string) ([]byte, error) {
	exe, err := Build(pkg)
	if err != nil {
		return nil, err
	}
	return Zip(exe)
}

// Zip returns a function package holding exe (an executable or a script)
// as bootstrap, mode 0755, as provided.al2023 wants it.
func Zip(exe []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(exe); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
