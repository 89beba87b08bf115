package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestRunAgainstSluice is the tool's smoke test against the real server in
// this process, with tiny steps: every row is reported, no request fails,
// and what the tool wrote reads back, through aws-sdk-go-v2, as the bytes
// it PUT.
func TestRunAgainstSluice(t *testing.T) {
	srv, dir := runSluice(t)

	root := srv.RootCredentials()
	cfg := tinyConfig(t, srv.URL(), root.SecretAccessKey)
	cfg.AccessKey, cfg.Target = root.AccessKeyID, "in-process sluice"
	cfg.FsyncDir, cfg.SpaceDir = dir, dir
	cfg.HugeSize = 4 << 20
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + text.String())

	for i, want := range []struct {
		op string
		c  int
	}{{"PUT", 1}, {"GET", 1}, {"PUT", 2}, {"GET", 2}} {
		if i >= len(rep.Steps) {
			t.Fatalf("only %d steps", len(rep.Steps))
		}
		s := rep.Steps[i]
		if s.Op != want.op || s.Concurrency != want.c || s.Requests == 0 || s.Errors != 0 {
			t.Errorf("step %d = %+v, want a clean %s @%d", i, s, want.op, want.c)
		}
	}
	if len(rep.Large) != 2 || rep.Large[0].Errors+rep.Large[1].Errors != 0 || rep.Large[1].Count != cfg.LargeCount {
		t.Errorf("large = %+v", rep.Large)
	}
	if rep.Huge == nil || rep.Huge.RSSBeforeBytes == 0 {
		t.Errorf("huge = %+v", rep.Huge)
	}
	for _, row := range []string{"f  append", "L  loopback", "C  loopback", "PUT             1", "GET             1", "PUT             2", "GET             2", "huge 4 MiB", "PUT p50 @1 ="} {
		if !strings.Contains(text.String(), row) {
			t.Errorf("report lacks %q", row)
		}
	}

	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL()),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, ""),
	})
	bodies := newBodySet(smallBodies, cfg.Size, 1)
	// The first object of worker 0 at concurrency 1 and of worker 1 at
	// concurrency 2, with the bodies smallPut gives them.
	for _, o := range []struct{ c, w, body int }{{1, 0, 0}, {2, 1, 7}} {
		key := smallKey(o.c, o.w, 0)
		out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(rep.Bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, bodies.bodies[o.body]) {
			t.Errorf("GetObject %s: %d bytes, %v; not the body the tool PUT", key, len(got), err)
		}
	}
	// Large and huge objects are cleaned up.
	for _, key := range []string{"large/0", "huge/0"} {
		_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(rep.Bucket), Key: aws.String(key)})
		var nf *types.NotFound
		if !errors.As(err, &nf) {
			t.Errorf("HeadObject %s after the run: %v, want NotFound", key, err)
		}
	}
}
