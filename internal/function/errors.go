package function

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the Service returns for bad input or a
// refused operation is an *Error that matches one of these with errors.Is;
// the lambdaapi package maps each to its AWS error code and status in one
// table (aws-wire 2.3), and uses Error.Message as the AWS message.
var (
	ErrNotFound              = errors.New("function: not found")               // ResourceNotFoundException, 404
	ErrConflict              = errors.New("function: conflict")                // ResourceConflictException, 409
	ErrInvalidParameter      = errors.New("function: invalid parameter value") // InvalidParameterValueException, 400
	ErrValidation            = errors.New("function: validation error")        // ValidationException, 400 (a value outside the API model's constraints)
	ErrInvalidRequestContent = errors.New("function: invalid request content") // InvalidRequestContentException, 400
	ErrRequestTooLarge       = errors.New("function: request too large")       // RequestTooLargeException, 413
	ErrTooManyRequests       = errors.New("function: too many requests")       // TooManyRequestsException, 429
	ErrPreconditionFailed    = errors.New("function: precondition failed")     // PreconditionFailedException, 412
	ErrPolicyLengthExceeded  = errors.New("function: policy length exceeded")  // PolicyLengthExceededException, 400
	ErrCodeStorageExceeded   = errors.New("function: code storage exceeded")   // CodeStorageExceededException, 400
	ErrClosed                = errors.New("function: service closed")          // ServiceException, 500

	// ErrUndelivered is returned (wrapped) by RuntimeEndpoint.Serve when
	// its context ended before the process took the invocation with GET
	// .../next: the function never saw it, so it may run elsewhere.
	ErrUndelivered = errors.New("function: invocation not taken by the runtime")
)

// Error is a refused operation with the message AWS gives for it.
type Error struct {
	Kind    error  // one of the sentinels above
	Message string // AWS's message text, e.g. "Function not found: arn:..."
	// Reason is set for ErrTooManyRequests: ReservedFunctionConcurrentInvocationLimitExceeded
	// or ConcurrentInvocationLimitExceeded (the body's "Reason" field).
	Reason string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *Error {
	return newErr(ErrInvalidParameter, format, args...)
}
