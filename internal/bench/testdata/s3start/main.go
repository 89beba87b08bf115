// Command s3start is the function of `sluice bench --service s3fn`: a Go
// bootstrap for provided.al2023 that, for every invocation, notes the wall
// clock the moment the Runtime API handed it the event, and reports each
// S3 record's object key with that time and its own process id to the
// bench's side channel (POST to BENCH_SINK, one line "pid unixnano key"
// per record), then answers {}. The bench runs on the same machine, so
// the timestamps are comparable with its own. Standard library only, so
// the bench builds it with `go build` and no module download.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

type s3Event struct {
	Records []struct {
		S3 struct {
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	sink := os.Getenv("BENCH_SINK")
	if api == "" || sink == "" {
		fmt.Fprintln(os.Stderr, "s3start: AWS_LAMBDA_RUNTIME_API and BENCH_SINK must be set")
		os.Exit(2)
	}
	pid := strconv.Itoa(os.Getpid())
	base := "http://" + api + "/2018-06-01/runtime/invocation/"
	client := &http.Client{}
	for {
		resp, err := client.Get(base + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "s3start: next:", err)
			os.Exit(1)
		}
		event, err := io.ReadAll(resp.Body)
		at := time.Now().UnixNano() // the function has started
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "s3start: next:", resp.Status, err)
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var ev s3Event
		answer := []byte("{}")
		path := "/response"
		if err := json.Unmarshal(event, &ev); err != nil || len(ev.Records) == 0 {
			answer = []byte(`{"errorMessage":"not an S3 event","errorType":"BenchError"}`)
			path = "/error"
		}
		var lines bytes.Buffer
		for _, r := range ev.Records {
			fmt.Fprintf(&lines, "%s %d %s\n", pid, at, r.S3.Object.Key)
		}
		if lines.Len() > 0 && !report(client, sink, lines.Bytes()) {
			// The bench would count the event as lost: fail the
			// invocation so that it shows as a function error too.
			answer = []byte(`{"errorMessage":"the bench's side channel did not answer","errorType":"BenchError"}`)
			path = "/error"
		}
		resp, err = client.Post(base+id+path, "application/json", bytes.NewReader(answer))
		if err != nil {
			fmt.Fprintln(os.Stderr, "s3start: response:", err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// report posts lines to the side channel, trying a few times (a busy
// machine may reset a connection).
func report(client *http.Client, sink string, lines []byte) bool {
	for try := range 5 {
		r, err := client.Post(sink, "text/plain", bytes.NewReader(lines))
		if err == nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode == http.StatusNoContent {
				return true
			}
			err = fmt.Errorf("HTTP %d", r.StatusCode)
		}
		fmt.Fprintln(os.Stderr, "s3start: sink:", err)
		time.Sleep(time.Duration(10<<try) * time.Millisecond)
	}
	return false
}
