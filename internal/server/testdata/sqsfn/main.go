// Command sqsfn is an unmodified aws-lambda-go function for the event
// source mapping tests: it decodes the SQS event with aws-lambda-go's
// events.SQSEvent and, for each record, writes the record as JSON to the
// bucket "seen" under its messageId; a body containing "fail" is reported
// in batchItemFailures, a body containing "boom" fails the whole batch.
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

func handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return resp, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, r := range ev.Records {
		if strings.Contains(r.Body, "boom") {
			return resp, errors.New("boom")
		}
		if strings.Contains(r.Body, "fail") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			continue
		}
		b, _ := json.Marshal(r)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("seen"), Key: aws.String(r.MessageId),
			Body: bytes.NewReader(b)}); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

func main() { lambda.Start(handle) }
