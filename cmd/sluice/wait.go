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
	"syscall"
	"time"
)

// errIncomplete makes `sluice wait` exit 1 when the timeout passed with
// records still pending, so scripts can tell.
var errIncomplete = errors.New("wait: timed out with records still pending")

// wait is `sluice wait REQUEST_ID [--timeout 10s]`: it blocks until every
// event record the request caused is delivered or finally failed, using
// the server's /_sluice/requests/REQUEST_ID/wait endpoint with the root
// credentials, prints the records as JSON and exits 0, or 1 on timeout.
// The request id is the x-amz-request-id response header of the S3
// request (boto3: response["ResponseMetadata"]["RequestId"];
// aws-sdk-go-v2: middleware.GetRequestIDMetadata(out.ResultMetadata);
// aws --debug shows it).
func wait(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: sluice wait REQUEST_ID [--timeout 10s]")
		fs.PrintDefaults()
	}
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait at most (at most 5m)")
	client := addClientFlags(fs)
	id, err := parseWithArg(fs, args)
	if err != nil {
		return err
	}
	if id == "" {
		fs.Usage()
		return errors.New("wait: a request id is required")
	}
	path := "requests/" + url.PathEscape(id) + "/wait?timeout=" + url.QueryEscape(timeout.String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	resp, err := client.get(ctx, path)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	var res struct {
		Complete bool   `json:"complete"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("wait: %s: %s", resp.Status, body)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wait: %s (%s)", res.Error, resp.Status)
	}
	if _, err := stdout.Write(body); err != nil {
		return err
	}
	if !res.Complete {
		return errIncomplete
	}
	return nil
}
