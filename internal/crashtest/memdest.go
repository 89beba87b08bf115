package crashtest

import (
	"context"
	"errors"

	"sluice/internal/arn"
	"sluice/internal/dispatch"
	"sluice/internal/event"
	"sluice/internal/notify"
	"sluice/internal/queue"
	"sluice/internal/storage"
)

// memS3Service is the principal S3 delivers notifications as.
const memS3Service = "s3.amazonaws.com"

// memDestinations is dispatch.Destinations over the in-process target's
// queue service, wired as internal/server wires it (notifications.go):
// an allowed queue receives the record in the object's own transaction.
// The in-process target runs no functions, so a function destination does
// not exist.
type memDestinations struct {
	queues  *queue.Service
	account string
}

func (d memDestinations) Check(ctx context.Context, kind notify.Kind, dest, bucket string) (notify.Verdict, error) {
	if kind != event.Queue {
		return notify.Verdict{Status: notify.Missing, Reason: "the in-process crash target serves queues only"}, nil
	}
	res, err := d.queues.Allows(ctx, dest, memS3Service, arn.Bucket(bucket).String(), d.account)
	if errors.Is(err, queue.ErrNoSuchQueue) {
		return notify.Verdict{Status: notify.Missing, Reason: "no such queue"}, nil
	}
	if err != nil {
		return notify.Verdict{}, err
	}
	if res.Allowed() {
		return notify.Verdict{Status: notify.Deliverable}, nil
	}
	return notify.Verdict{Status: notify.Refused, Reason: res.Reason}, nil
}

func (d memDestinations) EnqueueTx(tx storage.Tx, queueARN string, body []byte) error {
	name, err := d.queues.NameFromARN(queueARN)
	if err == nil {
		_, err = d.queues.EnqueueTx(tx, name, body, memS3Service, nil)
	}
	if errors.Is(err, queue.ErrNoSuchQueue) {
		return dispatch.ErrNoSuchDestination
	}
	return err
}

func (d memDestinations) InvokeTx(storage.Tx, string, []byte, event.Lineage, string, string) error {
	return dispatch.ErrNoSuchDestination
}
