// Package runtimes holds Sluice's own language bootstraps (small Lambda
// Runtime API clients for python3.x and nodejs*, embedded in the binary)
// and writes them into Sluice's runtime directory, where instances run
// them with the machine's interpreter. It also installs the AWS SDK for
// JavaScript v3 clients from npm, which Node functions on Lambda find
// preinstalled (InstallNodeSDK; NODE_PATH points at them).
package runtimes

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed bootstrap.py
var pythonBootstrap []byte

//go:embed bootstrap.mjs
var nodeBootstrap []byte

// Paths are where Install put the bootstraps.
type Paths struct {
	Dir    string // LAMBDA_RUNTIME_DIR
	Python string // the Python bootstrap script
	Node   string // the Node bootstrap module
	// NodeModules is NODE_PATH: where InstallNodeSDK puts the @aws-sdk clients.
	NodeModules string
}

// PathsIn returns the layout under runtimeDir without writing anything.
func PathsIn(runtimeDir string) Paths {
	dir := filepath.Join(runtimeDir, "runtime")
	return Paths{Dir: dir, Python: filepath.Join(dir, "bootstrap.py"), Node: filepath.Join(dir, "bootstrap.mjs"),
		NodeModules: filepath.Join(runtimeDir, "node", "node_modules")}
}

// Install writes the bootstraps under runtimeDir/runtime, replacing files
// whose content differs (an upgraded Sluice brings new bootstraps). Files
// are written to a temporary name and renamed, so a running instance
// never reads a half-written bootstrap.
func Install(runtimeDir string) (Paths, error) {
	p := PathsIn(runtimeDir)
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return Paths{}, fmt.Errorf("runtimes: %w", err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{p.Python, pythonBootstrap}, {p.Node, nodeBootstrap}} {
		if old, err := os.ReadFile(f.path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		tmp := fmt.Sprintf("%s.%d.tmp", f.path, os.Getpid())
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return Paths{}, fmt.Errorf("runtimes: %w", err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			return Paths{}, fmt.Errorf("runtimes: %w", err)
		}
	}
	return p, nil
}

// DefaultNodeSDK are the @aws-sdk v3 clients InstallNodeSDK installs when
// given none: the services Sluice serves, plus the credential providers.
var DefaultNodeSDK = []string{
	"@aws-sdk/client-s3", "@aws-sdk/client-sqs", "@aws-sdk/client-sns",
	"@aws-sdk/client-lambda", "@aws-sdk/client-sts", "@aws-sdk/lib-storage",
}

// InstallNodeSDK runs `npm install` of packages (DefaultNodeSDK when
// empty) into runtimeDir/node, whose node_modules instances of nodejs*
// functions get as NODE_PATH, so `require("@aws-sdk/client-s3")` works as
// on Lambda. npm is looked up in PATH when empty. npm's output goes to out.
// It needs the npm registry; it is the one network step of Sluice's
// runtimes and runs only when asked (`sluice runtimes install-node-sdk`).
func InstallNodeSDK(ctx context.Context, runtimeDir, npm string, packages []string, out io.Writer) error {
	if npm == "" {
		var err error
		if npm, err = exec.LookPath("npm"); err != nil {
			return fmt.Errorf("runtimes: npm not found in PATH: %w", err)
		}
	}
	if len(packages) == 0 {
		packages = DefaultNodeSDK
	}
	dir := filepath.Join(runtimeDir, "node")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("runtimes: %w", err)
	}
	pj := filepath.Join(dir, "package.json")
	if _, err := os.Stat(pj); os.IsNotExist(err) {
		if err := os.WriteFile(pj, []byte(`{"name":"sluice-node-runtime","private":true}`+"\n"), 0o644); err != nil {
			return fmt.Errorf("runtimes: %w", err)
		}
	}
	args := append([]string{"install", "--no-audit", "--no-fund", "--prefix", dir}, packages...)
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("runtimes: npm install %v: %w", packages, err)
	}
	return nil
}
