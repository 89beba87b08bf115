package queue

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"sluice/internal/arn"
)

// Queue attribute names (SQS API reference, GetQueueAttributes and
// SetQueueAttributes).
const (
	AttrPolicy                      = "Policy"
	AttrVisibilityTimeout           = "VisibilityTimeout"
	AttrMaximumMessageSize          = "MaximumMessageSize"
	AttrMessageRetentionPeriod      = "MessageRetentionPeriod"
	AttrDelaySeconds                = "DelaySeconds"
	AttrReceiveMessageWaitTime      = "ReceiveMessageWaitTimeSeconds"
	AttrRedrivePolicy               = "RedrivePolicy"
	AttrRedriveAllowPolicy          = "RedriveAllowPolicy"
	AttrSqsManagedSseEnabled        = "SqsManagedSseEnabled"
	AttrKmsMasterKeyID              = "KmsMasterKeyId"
	AttrKmsDataKeyReusePeriod       = "KmsDataKeyReusePeriodSeconds"
	AttrFifoQueue                   = "FifoQueue"
	AttrContentBasedDeduplication   = "ContentBasedDeduplication"
	AttrQueueArn                    = "QueueArn"
	AttrCreatedTimestamp            = "CreatedTimestamp"
	AttrLastModifiedTimestamp       = "LastModifiedTimestamp"
	AttrApproximateNumberOfMessages = "ApproximateNumberOfMessages"
	AttrApproximateNotVisible       = "ApproximateNumberOfMessagesNotVisible"
	AttrApproximateDelayed          = "ApproximateNumberOfMessagesDelayed"
)

// intBounds are the settable numeric attributes with their default and
// bounds (SQS API reference, SetQueueAttributes; MaximumMessageSize's
// default and upper bound are 1 MiB since AWS raised them in 2025).
var intBounds = map[string]struct{ def, min, max int }{
	AttrVisibilityTimeout:      {30, 0, 43200},
	AttrMaximumMessageSize:     {1048576, 1024, 1048576},
	AttrMessageRetentionPeriod: {345600, 60, 1209600},
	AttrDelaySeconds:           {0, 0, 900},
	AttrReceiveMessageWaitTime: {0, 0, 20},
	AttrKmsDataKeyReusePeriod:  {300, 60, 86400},
}

// settable lists every attribute CreateQueue and SetQueueAttributes
// accept; the others are read-only (GetQueueAttributes only).
var settable = map[string]bool{
	AttrPolicy: true, AttrVisibilityTimeout: true, AttrMaximumMessageSize: true,
	AttrMessageRetentionPeriod: true, AttrDelaySeconds: true, AttrReceiveMessageWaitTime: true,
	AttrRedrivePolicy: true, AttrRedriveAllowPolicy: true, AttrSqsManagedSseEnabled: true,
	AttrKmsMasterKeyID: true, AttrKmsDataKeyReusePeriod: true, AttrFifoQueue: true,
	AttrContentBasedDeduplication: true,
}

// readable lists what GetQueueAttributes answers for "All", in AWS's
// order.
var readable = []string{
	AttrPolicy, AttrVisibilityTimeout, AttrMaximumMessageSize, AttrMessageRetentionPeriod,
	AttrApproximateNumberOfMessages, AttrApproximateNotVisible, AttrCreatedTimestamp,
	AttrLastModifiedTimestamp, AttrQueueArn, AttrApproximateDelayed, AttrDelaySeconds,
	AttrReceiveMessageWaitTime, AttrRedrivePolicy, AttrRedriveAllowPolicy,
	AttrSqsManagedSseEnabled, AttrKmsMasterKeyID, AttrKmsDataKeyReusePeriod,
}

var readableSet = func() map[string]bool {
	m := map[string]bool{AttrFifoQueue: true, AttrContentBasedDeduplication: true}
	for _, n := range readable {
		m[n] = true
	}
	return m
}()

// defaults are the stored attributes of a queue created with none.
// SqsManagedSseEnabled is true for new queues on AWS since 2022.
func defaults() map[string]string {
	m := map[string]string{AttrSqsManagedSseEnabled: "true"}
	for name, b := range intBounds {
		if name == AttrKmsDataKeyReusePeriod {
			continue // only reported once a KMS key is set
		}
		m[name] = strconv.Itoa(b.def)
	}
	return m
}

// RedrivePolicy is a queue's parsed RedrivePolicy attribute.
type RedrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// RedriveAllowPolicy is a dead-letter queue's parsed RedriveAllowPolicy.
type RedriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

// normalize validates one settable attribute and returns the value to
// store ("" removes it). Checks that need other queues (the dead-letter
// target exists and allows this source) are done by the caller.
func (s *Service) normalize(name, value string) (string, error) {
	if !settable[name] {
		return "", &AttributeNameError{Name: name}
	}
	if b, ok := intBounds[name]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || n < b.min || n > b.max {
			return "", &AttributeValueError{Name: name, Value: value,
				Reason: name + " must be an integer between " + strconv.Itoa(b.min) + " and " + strconv.Itoa(b.max)}
		}
		return strconv.Itoa(n), nil
	}
	switch name {
	case AttrFifoQueue:
		if value == "true" {
			return "", &UnsupportedError{Message: "Sluice does not support FIFO queues yet (S3 cannot send events to them)"}
		}
		if value != "false" {
			return "", &AttributeValueError{Name: name, Value: value, Reason: "FifoQueue must be true or false"}
		}
		return "", nil
	case AttrContentBasedDeduplication:
		return "", &AttributeNameError{Name: name} // FIFO-only attribute
	case AttrSqsManagedSseEnabled:
		if value != "true" && value != "false" {
			return "", &AttributeValueError{Name: name, Value: value, Reason: "SqsManagedSseEnabled must be true or false"}
		}
		return value, nil
	case AttrKmsMasterKeyID:
		return value, nil // accepted and reported; Sluice encrypts nothing
	case AttrPolicy:
		if value == "" {
			return "", nil
		}
		if _, err := s.parsePolicy(value); err != nil {
			return "", &AttributeValueError{Name: name, Value: value, Reason: err.Error()}
		}
		return value, nil
	case AttrRedrivePolicy:
		if value == "" {
			return "", nil
		}
		rp, err := parseRedrivePolicy(value)
		if err != nil {
			return "", &AttributeValueError{Name: name, Value: value, Reason: err.Error()}
		}
		out, _ := json.Marshal(rp)
		return string(out), nil
	case AttrRedriveAllowPolicy:
		if value == "" {
			return "", nil
		}
		rap, err := parseRedriveAllowPolicy(value)
		if err != nil {
			return "", &AttributeValueError{Name: name, Value: value, Reason: err.Error()}
		}
		out, _ := json.Marshal(rap)
		return string(out), nil
	}
	return value, nil
}

type reasonError string

func (e reasonError) Error() string { return string(e) }

// parseRedrivePolicy accepts maxReceiveCount as a number or a string
// (clients send both; aws-wire 3.3).
func parseRedrivePolicy(v string) (RedrivePolicy, error) {
	var raw struct {
		DeadLetterTargetArn *string         `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return RedrivePolicy{}, reasonError("Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount.")
	}
	if raw.DeadLetterTargetArn == nil {
		return RedrivePolicy{}, reasonError("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	if len(raw.MaxReceiveCount) == 0 {
		return RedrivePolicy{}, reasonError("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	countText := string(bytes.Trim(raw.MaxReceiveCount, `"`))
	n, err := strconv.Atoi(countText)
	if err != nil || n < 1 || n > 1000 {
		return RedrivePolicy{}, reasonError("Value " + countText + " for parameter maxReceiveCount is invalid. Reason: Must be an integer from 1 to 1000.")
	}
	a, err := arn.Parse(*raw.DeadLetterTargetArn)
	if err != nil || a.Service != "sqs" || a.Resource == "" {
		return RedrivePolicy{}, reasonError("Invalid value for deadLetterTargetArn.")
	}
	return RedrivePolicy{DeadLetterTargetArn: *raw.DeadLetterTargetArn, MaxReceiveCount: n}, nil
}

func parseRedriveAllowPolicy(v string) (RedriveAllowPolicy, error) {
	var p RedriveAllowPolicy
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, reasonError("Redrive allow policy is not a valid JSON map.")
	}
	switch p.RedrivePermission {
	case "allowAll", "denyAll":
		if len(p.SourceQueueArns) > 0 {
			return p, reasonError("sourceQueueArns may only be given with redrivePermission byQueue.")
		}
	case "byQueue":
		if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > 10 {
			return p, reasonError("byQueue needs between 1 and 10 sourceQueueArns.")
		}
	default:
		return p, reasonError("redrivePermission must be allowAll, denyAll or byQueue.")
	}
	return p, nil
}

// allowsSource reports whether a dead-letter queue's RedriveAllowPolicy
// (stored form; "" allows every queue) lets sourceARN use it.
func allowsSource(policy, sourceARN string) bool {
	if policy == "" {
		return true
	}
	p, err := parseRedriveAllowPolicy(policy)
	if err != nil {
		return false
	}
	switch p.RedrivePermission {
	case "allowAll":
		return true
	case "byQueue":
		for _, a := range p.SourceQueueArns {
			if a == sourceARN {
				return true
			}
		}
	}
	return false
}
