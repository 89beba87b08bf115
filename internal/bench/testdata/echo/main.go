// Command echo is the function of `sluice bench --service lambda`: a Go
// bootstrap for provided.al2023 that answers every invocation with its
// event, unchanged. It speaks the Lambda Runtime API the way aws-lambda-go
// does (a keep-alive net/http client: GET .../next, POST .../response), but
// with the standard library only, so the bench can build it with `go build`
// and no module download.
//
// The same binary is the bench's two baselines:
//
//   - with no AWS_LAMBDA_RUNTIME_API it exits at once with status 2, as
//     aws-lambda-go does outside Lambda: starting it is a bare fork+exec of
//     the bootstrap (the Go runtime's start included);
//   - with the argument "serve" it serves empty 200s on 127.0.0.1, prints
//     its address and runs until its stdin closes: the other end of the
//     cross-process loopback round trip, the cost of one Runtime API hop.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "serve" {
		serve()
		return
	}
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		fmt.Fprintln(os.Stderr, "echo: AWS_LAMBDA_RUNTIME_API is not set")
		os.Exit(2)
	}
	base := "http://" + api + "/2018-06-01/runtime/invocation/"
	client := &http.Client{}
	for {
		resp, err := client.Get(base + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo: next:", err)
			os.Exit(1)
		}
		event, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "echo: next:", resp.Status, err)
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		resp, err = client.Post(base+id+"/response", "application/json", bytes.NewReader(event))
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo: response:", err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func serve() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo serve:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		// The bench closes stdin when it is done (or dies): never outlive it.
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
}
