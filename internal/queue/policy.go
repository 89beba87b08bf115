package queue

import (
	"context"
	"fmt"

	"sluice/internal/policy"
)

// parsePolicy parses a queue Policy document with SQS's limits (8 KiB,
// 20 statements), so a document that would be refused or misread at
// delivery time is refused when it is set.
func (s *Service) parsePolicy(doc string) (*policy.Policy, error) {
	return policy.Parse([]byte(doc), policy.SQSLimits())
}

// Allows decides whether the AWS service principal (s3.amazonaws.com,
// sns.amazonaws.com) may send to the queue queueARN on behalf of
// sourceARN (a bucket or topic ARN) in sourceAccount, under the queue's
// Policy with IAM semantics (explicit deny, allow, default deny). A queue
// without a policy refuses, as on AWS; the Result's Reason says why. It
// is the check S3 notifications run when a configuration is saved and at
// delivery. ErrNoSuchQueue when the queue does not exist.
func (s *Service) Allows(ctx context.Context, queueARN, service, sourceARN, sourceAccount string) (policy.Result, error) {
	name, err := s.NameFromARN(queueARN)
	if err != nil {
		return policy.Result{}, err
	}
	e, err := s.queuePolicy(ctx, name)
	if err != nil {
		return policy.Result{}, err
	}
	if e.pol == nil {
		reason := e.reason
		if e.noPolicy {
			reason = fmt.Sprintf("queue %s has no Policy attribute allowing %s", name, service)
		}
		return policy.Result{Decision: policy.ImplicitDeny, Statement: -1, Reason: reason}, nil
	}
	return e.verdicts.evaluate(e.pol, verdictKey{queueARN, service, sourceARN, sourceAccount}), nil
}
