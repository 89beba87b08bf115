package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sluice/internal/function/runtimes"
)

// runtimesCmd is `sluice runtimes install-node-sdk [PACKAGE...]`: it
// installs the @aws-sdk v3 clients (by default those of the services
// Sluice serves) from npm into Sluice's runtime directory, whose
// node_modules every nodejs* function instance gets as NODE_PATH, so that
// `require("@aws-sdk/client-s3")` works as it does on Lambda. It is the one
// step of Sluice's runtimes that needs the network (the npm registry).
func runtimesCmd(args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "Usage: sluice runtimes install-node-sdk [--runtime-dir DIR] [--npm PATH] [PACKAGE...]")
	}
	if len(args) == 0 || args[0] != "install-node-sdk" {
		usage()
		return errors.New("runtimes: the only subcommand is install-node-sdk")
	}
	fs := flag.NewFlagSet("runtimes install-node-sdk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	data := env("SLUICE_DATA", "sluice-data")
	dir := fs.String("runtime-dir", env("SLUICE_RUNTIME_DIR", filepath.Join(data, "runtime")),
		"Sluice's runtime directory, as `sluice serve` uses it (SLUICE_RUNTIME_DIR; default <SLUICE_DATA>/runtime)")
	npm := fs.String("npm", "", "the npm to run (default: npm from PATH)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runtimes.InstallNodeSDK(ctx, abs, *npm, fs.Args(), stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "installed into %s; nodejs functions started from now on can require them\n", filepath.Join(abs, "node", "node_modules"))
	return nil
}
