package lambdaapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"sluice/internal/auth"
	"sluice/internal/eventsource"
	"sluice/internal/function"
)

// apiError is a Lambda error: the code goes in X-Amzn-ErrorType, the
// message in the body (aws-wire 2.3).
type apiError struct {
	Code    string
	Status  int
	Message string
	Reason  string // TooManyRequestsException's Reason
	cause   error
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// statusOf is the error table: each Lambda error code and its HTTP status
// (Lambda API reference "Errors"; aws-wire 2.3).
var statusOf = map[string]int{
	"ResourceNotFoundException":      http.StatusNotFound,
	"ResourceConflictException":      http.StatusConflict,
	"InvalidParameterValueException": http.StatusBadRequest,
	"ValidationException":            http.StatusBadRequest,
	"InvalidRequestContentException": http.StatusBadRequest,
	"RequestTooLargeException":       http.StatusRequestEntityTooLarge,
	"TooManyRequestsException":       http.StatusTooManyRequests,
	"PreconditionFailedException":    http.StatusPreconditionFailed,
	"PolicyLengthExceededException":  http.StatusBadRequest,
	"CodeStorageExceededException":   http.StatusBadRequest,
	"UnsupportedMediaTypeException":  http.StatusUnsupportedMediaType,
	"ServiceException":               http.StatusInternalServerError,
	"UnknownOperationException":      http.StatusNotFound,
	"NotImplemented":                 http.StatusNotImplemented,
	"RecursiveInvocationException":   http.StatusBadRequest,
}

// kinds maps the function domain's sentinels to their codes.
var kinds = []struct {
	kind error
	code string
}{
	{function.ErrNotFound, "ResourceNotFoundException"},
	{function.ErrConflict, "ResourceConflictException"},
	{function.ErrInvalidParameter, "InvalidParameterValueException"},
	{function.ErrValidation, "ValidationException"},
	{function.ErrInvalidRequestContent, "InvalidRequestContentException"},
	{function.ErrRequestTooLarge, "RequestTooLargeException"},
	{function.ErrTooManyRequests, "TooManyRequestsException"},
	{function.ErrPreconditionFailed, "PreconditionFailedException"},
	{function.ErrPolicyLengthExceeded, "PolicyLengthExceededException"},
	{function.ErrCodeStorageExceeded, "CodeStorageExceededException"},
	{function.ErrClosed, "ServiceException"},
}

// mappingKinds maps the event source mapping domain's sentinels.
var mappingKinds = []struct {
	kind error
	code string
}{
	{eventsource.ErrNotFound, "ResourceNotFoundException"},
	{eventsource.ErrConflict, "ResourceConflictException"},
	{eventsource.ErrInvalidParameter, "InvalidParameterValueException"},
	{eventsource.ErrValidation, "ValidationException"},
}

func newErr(code, format string, args ...any) *apiError {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &apiError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// toAPIError maps any error to its Lambda error; the one place where that
// mapping lives.
func toAPIError(err error) *apiError {
	var (
		ae      *apiError
		authErr *auth.Error
		fe      *function.Error
		ee      *eventsource.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &authErr):
		l := authErr.ForService("lambda")
		return &apiError{Code: l.Code, Status: l.Status, Message: l.Message}
	case errors.As(err, &fe):
		for _, k := range kinds {
			if errors.Is(fe.Kind, k.kind) {
				e := newErr(k.code, "%s", fe.Message)
				e.Reason = fe.Reason
				return e
			}
		}
	case errors.As(err, &ee):
		for _, k := range mappingKinds {
			if errors.Is(ee.Kind, k.kind) {
				return newErr(k.code, "%s", ee.Message)
			}
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Code: "RequestCanceled", Status: 499, Message: "The request was canceled."}
	}
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			return newErr(k.code, "%s", err.Error())
		}
	}
	return &apiError{Code: "ServiceException", Status: http.StatusInternalServerError,
		Message: "An internal error occurred.", cause: err}
}
