package crashtest

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

// checkVisibility is the visibility timeout of the receives a check makes
// on a process target: short, so that messages a failed receive leased
// come back soon.
const checkVisibility = 3 * time.Second

// receiveForCheck is ReceiveMessage for a check's drain. The harness's
// client has the SDK's retries off (a retried write would blur
// "acknowledged"), so a transport failure reaches the caller as is, and
// one is known to happen on a loaded machine: a 200 whose body read fails
// with "use of closed network connection" (net/http closes the
// connection under the response, aws/aws-sdk-go-v2#2737; the SDK retries
// net.ErrClosed since #2949 for that reason). The server may have leased
// messages for that lost response, so simply asking again would see an
// empty queue and a check would report those messages lost. Instead a
// failed receive waits out checkVisibility and asks again (three times at
// most); an AWS error answer is returned at once.
func receiveForCheck(ctx context.Context, q *sqs.Client, url string) (*sqs.ReceiveMessageOutput, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(checkVisibility + 500*time.Millisecond):
			}
		}
		var out *sqs.ReceiveMessageOutput
		out, err = q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			VisibilityTimeout: int32(checkVisibility / time.Second)})
		var apiErr smithy.APIError
		if err == nil || errors.As(err, &apiErr) {
			return out, err
		}
	}
	return nil, err
}

// deleteForCheck is DeleteMessage for a check, asked again once after a
// transport failure (deleting with the same receipt twice is harmless).
func deleteForCheck(ctx context.Context, q *sqs.Client, url string, handle *string) error {
	_, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: handle})
	var apiErr smithy.APIError
	if err != nil && !errors.As(err, &apiErr) {
		_, err = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: handle})
	}
	return err
}
