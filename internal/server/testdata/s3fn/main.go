// Command s3fn is an unmodified aws-lambda-go function for the S3 to
// function tests: it decodes the event with aws-lambda-go's events.S3Event
// and writes each record as JSON to the bucket "seen" under the record's
// bucket and key; a key containing "fail" makes it return an error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func handle(ctx context.Context, ev events.S3Event) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, r := range ev.Records {
		if strings.Contains(r.S3.Object.Key, "fail") {
			return errors.New("refusing " + r.S3.Object.Key)
		}
		b, _ := json.Marshal(r)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("seen"),
			Key: aws.String(r.S3.Bucket.Name + "/" + r.S3.Object.Key), Body: bytes.NewReader(b)}); err != nil {
			return err
		}
	}
	return nil
}

func main() { lambda.Start(handle) }
