package sqsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"sluice/internal/auth"
	"sluice/internal/queue"
)

// apiError is an SQS error as both protocols render it: Type is the JSON
// protocol's __type shape name, Code the query protocol's code (also sent
// in the JSON protocol's x-amzn-query-error header, where botocore and
// go-v2 read it).
type apiError struct {
	Type    string
	Code    string
	Status  int
	Message string
	// Receiver marks a server fault (Type Receiver in the query error).
	Receiver bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errSpec is one row of the error table.
type errSpec struct {
	code   string
	status int
	// modeled: __type is namespaced "com.amazonaws.sqs#<Type>", as the
	// SQS model's error shapes are; common errors are plain.
	modeled bool
}

// errTable maps the JSON __type name to the query code and status
// (aws-wire 3.2: the AWS iOS SDK's SQS error table and amazonka's).
var errTable = map[string]errSpec{
	"QueueDoesNotExist":            {"AWS.SimpleQueueService.NonExistentQueue", 400, true},
	"QueueNameExists":              {"QueueAlreadyExists", 400, true},
	"QueueDeletedRecently":         {"AWS.SimpleQueueService.QueueDeletedRecently", 400, true},
	"ReceiptHandleIsInvalid":       {"ReceiptHandleIsInvalid", 400, true},
	"MessageNotInflight":           {"AWS.SimpleQueueService.MessageNotInflight", 400, true},
	"PurgeQueueInProgress":         {"AWS.SimpleQueueService.PurgeQueueInProgress", 403, true},
	"EmptyBatchRequest":            {"AWS.SimpleQueueService.EmptyBatchRequest", 400, true},
	"TooManyEntriesInBatchRequest": {"AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, true},
	"BatchEntryIdsNotDistinct":     {"AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, true},
	"InvalidBatchEntryId":          {"AWS.SimpleQueueService.InvalidBatchEntryId", 400, true},
	"BatchRequestTooLong":          {"AWS.SimpleQueueService.BatchRequestTooLong", 400, true},
	"InvalidAttributeName":         {"InvalidAttributeName", 400, true},
	"InvalidAttributeValue":        {"InvalidAttributeValue", 400, true},
	"InvalidMessageContents":       {"InvalidMessageContents", 400, true},
	"InvalidIdFormat":              {"InvalidIdFormat", 400, true},
	"OverLimit":                    {"OverLimit", 403, true},
	"UnsupportedOperation":         {"AWS.SimpleQueueService.UnsupportedOperation", 400, true},
	"ResourceNotFoundException":    {"ResourceNotFoundException", 400, true},
	"InvalidParameterValue":        {"InvalidParameterValue", 400, false},
	"MissingParameter":             {"MissingParameter", 400, false},
	"InvalidAction":                {"InvalidAction", 400, false},
	"AccessDenied":                 {"AccessDenied", 403, false},
	"RequestEntityTooLarge":        {"RequestEntityTooLarge", 413, false},
	"ServiceUnavailable":           {"ServiceUnavailable", 503, false},
	"InternalError":                {"InternalError", 500, false},
}

// newErr builds the error of table row typ with message msg.
func newErr(typ, format string, args ...any) *apiError {
	spec, ok := errTable[typ]
	if !ok {
		spec = errSpec{typ, 400, false}
	}
	return &apiError{Type: typ, Code: spec.code, Status: spec.status, Message: fmt.Sprintf(format, args...),
		Receiver: spec.status >= 500}
}

func (e *apiError) jsonType() string {
	if errTable[e.Type].modeled {
		return "com.amazonaws.sqs#" + e.Type
	}
	return e.Type
}

var errNoSuchQueue = func() *apiError {
	return newErr("QueueDoesNotExist", "The specified queue does not exist.")
}

func missing(name string) *apiError {
	return newErr("MissingParameter", "The request must contain the parameter %s.", name)
}

func invalidParam(format string, args ...any) *apiError {
	return newErr("InvalidParameterValue", format, args...)
}

// toAPIError maps a domain or authentication error to its SQS error; it
// is the one place where that mapping lives.
func toAPIError(err error) *apiError {
	var (
		ae      *apiError
		authErr *auth.Error
		exists  *queue.ExistsError
		attrN   *queue.AttributeNameError
		attrV   *queue.AttributeValueError
		param   *queue.ParameterError
		miss    *queue.MissingError
		content *queue.ContentsError
		unsupp  *queue.UnsupportedError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &authErr):
		q := authErr.ForService("sqs")
		return &apiError{Type: q.Code, Code: q.Code, Status: q.Status, Message: q.Message}
	case errors.Is(err, queue.ErrNoSuchQueue):
		return errNoSuchQueue()
	case errors.As(err, &exists):
		return newErr("QueueNameExists", "A queue already exists with the same name and a different value for attribute %s", exists.Attribute)
	case errors.As(err, &attrN):
		return newErr("InvalidAttributeName", "Unknown Attribute %s.", attrN.Name)
	case errors.As(err, &attrV):
		return newErr("InvalidAttributeValue", "Invalid value for the parameter %s. Reason: %s", attrV.Name, attrV.Reason)
	case errors.As(err, &param):
		return invalidParam("%s", param.Message)
	case errors.As(err, &miss):
		return missing(miss.Name)
	case errors.As(err, &content):
		return newErr("InvalidMessageContents", "%s", content.Message)
	case errors.As(err, &unsupp):
		return newErr("UnsupportedOperation", "%s", unsupp.Message)
	case errors.Is(err, queue.ErrInvalidReceipt):
		return newErr("ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
	case errors.Is(err, queue.ErrNotInflight):
		return newErr("MessageNotInflight", "Message does not exist or is not available for visibility timeout change.")
	case errors.Is(err, queue.ErrPurgeInProgress):
		return newErr("PurgeQueueInProgress", "Only one PurgeQueue operation on a queue is allowed every 60 seconds.")
	case errors.Is(err, queue.ErrNoSuchTask):
		return newErr("ResourceNotFoundException", "The resource that you specified for the TaskHandle parameter does not exist.")
	case errors.Is(err, queue.ErrShuttingDown):
		return newErr("ServiceUnavailable", "Sluice is shutting down.")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newErr("RequestCanceled", "The request was canceled.")
	}
	return &apiError{Type: "InternalError", Code: "InternalError", Status: http.StatusInternalServerError,
		Message: "We encountered an internal error. Please try again.", Receiver: true}
}
