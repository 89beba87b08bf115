package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// logs is `sluice logs NAME [--follow] [--tail BYTES]`: it prints a
// function's kept log (the START/END/REPORT lines and the function's own
// output) from the server's /_sluice/functions/NAME/logs endpoint, with
// the root credentials by HTTP Basic.
func logs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: sluice logs NAME [--follow] [--tail BYTES]")
		fs.PrintDefaults()
	}
	follow := fs.Bool("follow", false, "keep printing new log lines until interrupted")
	fs.BoolVar(follow, "f", false, "short for --follow")
	tail := fs.Int("tail", 0, "print only the last BYTES of the kept log first (0: all of it)")
	endpoint := fs.String("endpoint", env("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"), "the server's URL (AWS_ENDPOINT_URL)")
	data := fs.String("data", env("SLUICE_DATA", "sluice-data"), "data directory whose root credentials to use when AWS_ACCESS_KEY_ID is unset (SLUICE_DATA)")
	// The name may come before or after the flags (`sluice logs hello
	// --follow`, as the README shows), which flag.Parse alone does not
	// allow.
	var name string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if name == "" && !strings.HasPrefix(a, "-") {
			name = a
			continue
		}
		rest = append(rest, a)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	if name == "" {
		fs.Usage()
		return errors.New("logs: a function name is required")
	}
	key, secret, err := logCredentials(*data)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *follow {
		q.Set("follow", "true")
	}
	if *tail > 0 {
		q.Set("tail", strconv.Itoa(*tail))
	}
	u := strings.TrimRight(*endpoint, "/") + "/_sluice/functions/" + url.PathEscape(name) + "/logs"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(key, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("logs: %s (%s)", e.Error, resp.Status)
		}
		return fmt.Errorf("logs: %s", resp.Status)
	}
	_, err = io.Copy(stdout, resp.Body)
	if ctx.Err() != nil {
		return nil // interrupted while following: a normal end
	}
	return err
}

// logCredentials are AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the
// export line `sluice serve` prints), else the root credentials kept in
// the data directory.
func logCredentials(dataDir string) (string, string, error) {
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key != "" && secret != "" {
		return key, secret, nil
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "credentials.json"))
	if err != nil {
		return "", "", fmt.Errorf("logs: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the line sluice serve prints), or run in the directory that holds %s: %w", dataDir, err)
	}
	var c struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.AccessKeyID == "" {
		return "", "", fmt.Errorf("logs: %s/credentials.json is damaged", dataDir)
	}
	return c.AccessKeyID, c.SecretAccessKey, nil
}
