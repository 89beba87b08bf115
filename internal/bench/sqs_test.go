package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestEvaluateSQSAims(t *testing.T) {
	lim := Limits{FsyncP50Ms: 0.2, LoopbackP50Ms: 0.03, PostCeiling: 40000}
	cases := []struct {
		name       string
		steps      []Step
		poll, send string
	}{
		{"both pass", []Step{{Op: "poll", Concurrency: 1, P50Ms: 0.31}, {Op: "send", Concurrency: 32, PerSecond: 10000}}, "PASS", "PASS"},
		{"both miss", []Step{{Op: "poll", Concurrency: 1, P50Ms: 0.33}, {Op: "send", Concurrency: 32, PerSecond: 9999}}, "MISS", "MISS"},
		{"errors miss", []Step{{Op: "poll", Concurrency: 1, P50Ms: 0.1, Errors: 1}, {Op: "send", Concurrency: 32, PerSecond: 20000, Errors: 2}}, "MISS", "MISS"},
		{"not run", []Step{{Op: "send", Concurrency: 8, PerSecond: 20000}}, "n/a", "n/a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			aims := evaluateSQSAims(tc.steps, lim)
			if len(aims) != 2 || aims[0].Status != tc.poll || aims[1].Status != tc.send {
				t.Fatalf("aims = %+v, want poll %s, send %s", aims, tc.poll, tc.send)
			}
			if want := 0.2 + 4*0.03; aims[0].Bound != want {
				t.Errorf("poll bound = %v, want f + 4L = %v", aims[0].Bound, want)
			}
		})
	}
}

func TestParseFlagsSQS(t *testing.T) {
	o, err := ParseFlags([]string{"--service", "sqs"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if o.Service != "sqs" || len(o.Concurrency) != 3 || o.Concurrency[2] != 32 {
		t.Fatalf("options = %+v, want sqs at 1,8,32", o)
	}
	if o, err = ParseFlags([]string{"--service", "sqs", "--concurrency", "4"}, new(bytes.Buffer)); err != nil || len(o.Concurrency) != 1 || o.Concurrency[0] != 4 {
		t.Fatalf("explicit concurrency: %+v, %v", o.Concurrency, err)
	}
	if _, err := ParseFlags([]string{"--service", "sns"}, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), "--service") {
		t.Fatalf("--service sns: err = %v", err)
	}
}

// TestRunSQSAgainstSluice runs the SQS mode against the real server with
// tiny steps: every row is there with no failed request, received
// messages were checked against their MD5s inside the tool, and the
// queues are gone afterwards.
func TestRunSQSAgainstSluice(t *testing.T) {
	srv, dir := runSluice(t)
	root := srv.RootCredentials()
	cfg := tinyConfig(t, srv.URL(), root.SecretAccessKey)
	cfg.AccessKey, cfg.Target = root.AccessKeyID, "in-process sluice"
	cfg.Service, cfg.PollSamples = "sqs", 20
	cfg.FsyncDir = dir
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())
	want := []string{"send", "send", "send10", "send10", "recv+del", "recv+del", "recv10+del10", "recv10+del10", "poll"}
	if len(rep.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(rep.Steps), len(want))
	}
	for i, s := range rep.Steps {
		if s.Op != want[i] || s.Requests == 0 || s.Errors != 0 || s.Messages == 0 {
			t.Errorf("step %d = %+v, want a clean %s", i, s, want[i])
		}
		if s.Op == "send10" && s.Messages != 10*s.Requests {
			t.Errorf("send10: %d messages in %d requests", s.Messages, s.Requests)
		}
	}
	if p := rep.Steps[len(rep.Steps)-1]; p.Requests != 20 || p.P50Ms <= 0 {
		t.Errorf("poll = %+v, want 20 samples", p)
	}
	if len(rep.Aims) != 2 || rep.Aims[0].Status == "n/a" {
		t.Errorf("aims = %+v", rep.Aims)
	}
	for _, row := range []string{"f  append", "recv10+del10", "send-to-waiting-receive p50 ="} {
		if !strings.Contains(text.String(), row) {
			t.Errorf("report lacks %q", row)
		}
	}
	client := sqs.New(sqs.Options{
		BaseEndpoint: aws.String(srv.URL()),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, ""),
	})
	for _, name := range []string{rep.Queue, rep.Queue + "-poll"} {
		_, err := client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if !errors.As(err, new(*types.QueueDoesNotExist)) {
			t.Errorf("GetQueueUrl %s after the run: %v, want QueueDoesNotExist", name, err)
		}
	}
}
