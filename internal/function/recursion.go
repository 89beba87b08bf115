package function

import (
	"context"
	"errors"

	"sluice/internal/event"
	"sluice/internal/storage"
)

// Recursive loop detection (DESIGN, Functions; aws-facts 6). Every queued
// asynchronous invocation carries the lineage of the request that caused
// it, and a request made with a function instance's credentials carries
// the lineage of the invocation it serves, one longer. An event whose
// chain already holds MaxChainDepth invocations would be the next one:
// with the function's recursion configuration at Terminate (the default)
// it is not run but sent to the failure destination, as Lambda does ("If
// a function is invoked by the same triggering event more than 16 times,
// Lambda will stop the next invocation and sends the event to a
// Dead-Letter Queue or on-failure destination, if configured"). Retries
// of one event share its lineage, so they do not count. The setting is
// PutFunctionRecursionConfig's RecursiveLoop; it lives under
// "Fr/<name>", beside the function record, and goes with it on Delete.

// MaxChainDepth is how many invocations one chain may run; the next is
// stopped.
const MaxChainDepth = 16

// AtLoopLimit reports whether an event caused by lineage l would be
// invocation MaxChainDepth+1 of its chain: the one a Terminate setting
// stops. Every path that starts an invocation asks it.
func AtLoopLimit(l event.Lineage) bool { return len(l.Chain) >= MaxChainDepth }

// The values of RecursiveLoop.
const (
	RecursiveLoopAllow     = "Allow"
	RecursiveLoopTerminate = "Terminate"
)

// The error a stopped invocation reports (botocore's text for Lambda's
// RecursiveInvocationException).
const (
	recursiveErrType = "RecursiveInvocationException"
	recursiveErrMsg  = "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation."
)

// RecursiveInvocationMessage is the message of the
// RecursiveInvocationException a synchronous Invoke that would continue a
// stopped chain answers with, the same text the failure destination's
// record carries, so both read alike.
const RecursiveInvocationMessage = recursiveErrMsg

const recursionPrefix = "Fr/"

func recursionKey(name string) []byte { return []byte(recursionPrefix + name) }

// getRecursiveLoop reads the function's RecursiveLoop setting, Terminate
// when none was put.
func getRecursiveLoop(tx storage.ReadTx, name string) (string, error) {
	v, err := tx.Get(recursionKey(name))
	if errors.Is(err, storage.ErrNotFound) {
		return RecursiveLoopTerminate, nil
	}
	if err != nil {
		return "", err
	}
	return string(v), nil
}

func deleteRecursionTx(tx storage.Tx, name string) error {
	return tx.Delete(recursionKey(name))
}

func validateRecursiveLoop(v string) error {
	switch v {
	case RecursiveLoopAllow, RecursiveLoopTerminate:
		return nil
	case "":
		return newErr(ErrValidation, "1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: Member must not be null")
	}
	return newErr(ErrValidation, "1 validation error detected: Value '%s' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]", v)
}

// PutRecursionConfig is PutFunctionRecursionConfig: it sets the function's
// RecursiveLoop (Allow or Terminate) and returns it. ErrValidation for any
// other value (checked first, as Lambda validates the request before it
// looks the function up), ErrNotFound when there is no such function (or
// a qualifier other than $LATEST is given).
func (s *Service) PutRecursionConfig(ctx context.Context, fn, loop string) (string, error) {
	if err := validateRecursiveLoop(loop); err != nil {
		return "", err
	}
	name, err := s.resolve(fn, "")
	if err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		return tx.Set(recursionKey(name), []byte(loop))
	})
	if err != nil {
		return "", err
	}
	return loop, nil
}

// GetRecursionConfig is GetFunctionRecursionConfig: the function's
// RecursiveLoop, Terminate unless Allow was put. ErrNotFound when there
// is no such function.
func (s *Service) GetRecursionConfig(ctx context.Context, fn string) (string, error) {
	name, err := s.resolve(fn, "")
	if err != nil {
		return "", err
	}
	var loop string
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		if _, err := s.get(tx, name); err != nil {
			return err
		}
		var err error
		loop, err = getRecursiveLoop(tx, name)
		return err
	})
	return loop, err
}

// StopsRecursion reports whether an event caused by lineage l must not run
// fn (a name or an ARN, qualified or not): its chain already holds
// MaxChainDepth invocations and the function's RecursiveLoop is Terminate.
// The setting is read only for such a chain, so the usual event costs
// nothing. An event source mapping asks it for each SQS message (Lambda
// does not invoke the function for a message whose chain ran 16
// invocations; the message stays in the queue). Errors: ErrValidation
// for a malformed fn, ErrNotFound for another region's or account's
// ARN, storage errors.
func (s *Service) StopsRecursion(ctx context.Context, fn string, l event.Lineage) (bool, error) {
	if !AtLoopLimit(l) {
		return false, nil
	}
	// The setting is the function's, whatever version or alias runs.
	name, _, err := s.resolveQualified(fn, "")
	if err != nil {
		return false, err
	}
	var loop string
	err = s.store.View(ctx, func(tx storage.ReadTx) error {
		var err error
		loop, err = getRecursiveLoop(tx, name)
		return err
	})
	if err != nil {
		return false, err
	}
	return loop != RecursiveLoopAllow, nil
}

// CountRecursionStopped adds n events that were not passed to fn as a
// recursive loop by someone other than the asynchronous queue (an event
// source mapping) to sluice_function_recursive_invocations_dropped_total,
// under the function's name as the queue's own stops are. A malformed fn
// counts nothing.
func (s *Service) CountRecursionStopped(fn string, n int) {
	name, _, err := s.resolveQualified(fn, "")
	if err != nil || n <= 0 {
		return
	}
	s.async.m.recursive.WithLabelValues(name).Add(float64(n))
}
