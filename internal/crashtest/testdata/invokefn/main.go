// Command invokefn is the crash harness's asynchronous-invocation function
// (an unmodified aws-lambda-go handler). Its payload says what to do:
//
//	{"id":"i1","mode":"ok","bucket":"b"}  write an object named id to bucket
//	{"id":"i2","mode":"fail"}             return an error (to OnFailure)
//	{"id":"i3","mode":"crash"}            SIGKILL the Sluice process that
//	                                      runs it (its parent), every time
package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type payload struct {
	ID     string `json:"id"`
	Mode   string `json:"mode"`
	Bucket string `json:"bucket"`
}

func handle(ctx context.Context, p payload) (string, error) {
	switch p.Mode {
	case "fail":
		return "", errors.New("failing " + p.ID)
	case "crash":
		// The server is this process's parent; killing it is a server
		// crash in the middle of the attempt.
		_ = syscall.Kill(os.Getppid(), syscall.SIGKILL)
		select {}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.ID), Body: strings.NewReader(p.ID)})
	return p.ID, err
}

func main() { lambda.Start(handle) }
