// Command bootstrap is the test function of package function: an
// unmodified aws-lambda-go function whose behaviour is chosen by the
// event's "op" field.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op    string `json:"op"`
	Ms    int    `json:"ms"`
	Bytes int    `json:"bytes"`
	MB    int    `json:"mb"`
	Text  string `json:"text"`
}

var hold [][]byte

func handle(ctx context.Context, e event) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	switch e.Op {
	case "echo":
		fmt.Println("echo says", e.Text)
		return map[string]any{"text": e.Text, "request_id": lc.AwsRequestID, "arn": lc.InvokedFunctionArn, "pid": os.Getpid()}, nil
	case "error":
		return nil, errors.New("boom: " + e.Text)
	case "panic":
		panic("panic: " + e.Text)
	case "sleep":
		time.Sleep(time.Duration(e.Ms) * time.Millisecond)
		return map[string]any{"slept": e.Ms, "pid": os.Getpid()}, nil
	case "env":
		m := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		dl, _ := ctx.Deadline()
		m["deadline_in_ms"] = fmt.Sprint(time.Until(dl).Milliseconds())
		return m, nil
	case "big":
		line := strings.Repeat("x", 1023) + "\n"
		for n := 0; n < e.Bytes; n += len(line) {
			os.Stdout.WriteString(line)
		}
		return "done", nil
	case "alloc":
		for i := 0; i < e.MB; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			hold = append(hold, b)
		}
		return map[string]int{"allocated": e.MB}, nil
	case "fork":
		cmd := exec.Command("sleep", "300")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		fmt.Println("child", cmd.Process.Pid)
		os.Exit(3)
	case "exit":
		os.Exit(2)
	}
	return nil, fmt.Errorf("unknown op %q", e.Op)
}

func main() { lambda.Start(handle) }
