// Command stsfn is an unmodified aws-lambda-go function for the server's
// function tests: it greets, fails on request, and with the SDK's default
// configuration (the credentials and AWS_ENDPOINT_URL its instance gets)
// asks STS who it is and writes an object to S3.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

type input struct {
	Name   string `json:"name"`
	Fail   bool   `json:"fail"`
	STS    bool   `json:"sts"`
	Bucket string `json:"bucket"`
}

func handle(ctx context.Context, in input) (map[string]string, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("hello from %s in %s\n", in.Name, lc.AwsRequestID)
	if in.Fail {
		return nil, errors.New("asked to fail")
	}
	out := map[string]string{"hello": in.Name, "function": lambdacontext.FunctionName, "request": lc.AwsRequestID}
	if !in.STS && in.Bucket == "" {
		return out, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if in.STS {
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, err
		}
		out["arn"] = aws.ToString(id.Arn)
	}
	if in.Bucket != "" {
		_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(in.Bucket), Key: aws.String("from-function"), Body: strings.NewReader("written by " + lambdacontext.FunctionName),
		})
		if err != nil {
			return nil, err
		}
		out["put"] = "ok"
	}
	return out, nil
}

func main() { lambda.Start(handle) }
