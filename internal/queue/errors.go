package queue

import (
	"errors"
	"fmt"
)

// Sentinel errors. The sqsapi package maps each to its SQS error code in
// one table.
var (
	// ErrNoSuchQueue: the queue does not exist (QueueDoesNotExist).
	ErrNoSuchQueue = errors.New("queue: no such queue")
	// ErrInvalidReceipt: a receipt handle Sluice never issued for this
	// queue (ReceiptHandleIsInvalid).
	ErrInvalidReceipt = errors.New("queue: invalid receipt handle")
	// ErrNotInflight: ChangeMessageVisibility on a message whose lease is
	// over (MessageNotInflight).
	ErrNotInflight = errors.New("queue: message not in flight")
	// ErrPurgeInProgress: a second purge within 60 seconds
	// (PurgeQueueInProgress).
	ErrPurgeInProgress = errors.New("queue: purge in progress")
	// ErrNoSuchTask: CancelMessageMoveTask with an unknown task handle
	// (ResourceNotFoundException).
	ErrNoSuchTask = errors.New("queue: no such message move task")
	// ErrShuttingDown: the service is closing; long polls end empty.
	ErrShuttingDown = errors.New("queue: shutting down")
)

// ExistsError: CreateQueue for a name that exists with a different value
// of Attribute (QueueNameExists / QueueAlreadyExists).
type ExistsError struct{ Name, Attribute string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("queue: %s exists with a different value of %s", e.Name, e.Attribute)
}

// AttributeNameError: an attribute name SQS does not know
// (InvalidAttributeName).
type AttributeNameError struct{ Name string }

func (e *AttributeNameError) Error() string { return "queue: unknown attribute " + e.Name }

// AttributeValueError: a queue attribute value out of its bounds or
// malformed (InvalidAttributeValue).
type AttributeValueError struct{ Name, Value, Reason string }

func (e *AttributeValueError) Error() string {
	return fmt.Sprintf("queue: invalid value for attribute %s: %s", e.Name, e.Reason)
}

// ParameterError: a request parameter with a bad value
// (InvalidParameterValue), with AWS's message.
type ParameterError struct{ Message string }

func (e *ParameterError) Error() string { return "queue: " + e.Message }

// MissingError: a required parameter is absent (MissingParameter).
type MissingError struct{ Name string }

func (e *MissingError) Error() string { return "queue: missing parameter " + e.Name }

// ContentsError: a body with characters outside the XML range SQS
// accepts (InvalidMessageContents).
type ContentsError struct{ Message string }

func (e *ContentsError) Error() string { return "queue: " + e.Message }

// UnsupportedError: a feature Sluice does not offer (FIFO queues), or an
// operation the queue's state forbids (UnsupportedOperation).
type UnsupportedError struct{ Message string }

func (e *UnsupportedError) Error() string { return "queue: " + e.Message }

func paramErr(format string, args ...any) error {
	return &ParameterError{Message: fmt.Sprintf(format, args...)}
}
