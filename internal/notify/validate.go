package notify

import (
	"context"
	"fmt"
	"strings"

	"sluice/internal/arn"
	"sluice/internal/event"
	"sluice/internal/policy"
)

// Status is the outcome of checking one destination.
type Status int

const (
	// Deliverable: the destination exists and its resource policy lets
	// s3.amazonaws.com deliver events from the bucket.
	Deliverable Status = iota
	// Missing: no such queue, topic or function (or not one Sluice hosts).
	Missing
	// Refused: it exists, but its policy does not let S3 deliver from the
	// bucket.
	Refused
)

func (s Status) String() string {
	switch s {
	case Deliverable:
		return "deliverable"
	case Missing:
		return "missing"
	case Refused:
		return "refused"
	default:
		return fmt.Sprintf("Status(%d)", int(s))
	}
}

// Verdict is a destination's Status and, unless Deliverable, Sluice's
// precise reason (which policy statement or condition refused, or what
// does not exist), appended after AWS's own text in the error.
type Verdict struct {
	Status Status
	Reason string
}

// Destinations answers, for the configuration being saved, whether each
// destination exists and accepts events from the bucket. The integration
// implements it over the queue, topic and function services, typically with
// PolicyVerdict; a kind whose service does not exist yet answers Missing.
type Destinations interface {
	// Check returns the destination's Verdict. kind and destination come
	// from the configuration, and destination has already been parsed as
	// an ARN of that kind (arn.ParseQueue, ParseTopic or ParseFunction).
	// It returns an error only when it cannot tell (for example a storage
	// failure); Validate then fails with that error, which is not an
	// *Error (the edge answers it as an internal error).
	Check(ctx context.Context, kind Kind, destination, bucket string) (Verdict, error)
}

// ValidateOptions configures Validate.
type ValidateOptions struct {
	Bucket string
	// SkipDestinationValidation is the x-amz-skip-destination-validation
	// header: destinations that are missing or refuse do not fail the PUT.
	// ARN syntax is still checked (AWS-recorded snapshot "invalid_skip").
	// Destinations are still asked, so that Report says which ones exist
	// (the test event goes to those).
	SkipDestinationValidation bool
	// Destinations checks destinations. Nil means no destination exists.
	Destinations Destinations
}

// Report is what Validate learnt about each distinct destination.
type Report struct {
	verdicts map[destKey]Verdict
}

// Verdict returns the verdict for a destination and whether it was checked.
func (r *Report) Verdict(kind Kind, destination string) (Verdict, bool) {
	if r == nil {
		return Verdict{}, false
	}
	v, ok := r.verdicts[destKey{kind, destination}]
	return v, ok
}

// Exists reports whether the destination was checked and exists (it may
// still refuse).
func (r *Report) Exists(kind Kind, destination string) bool {
	v, ok := r.Verdict(kind, destination)
	return ok && v.Status != Missing
}

// Validate checks a decoded configuration in S3's fixed order, returning the
// first failure as an *Error:
//
//  1. event names (InvalidArgument, ArgumentName Event);
//  2. filter rules: names other than prefix or suffix in any case
//     ("filter rule name must be either prefix or suffix", ArgumentName
//     FilterRule.Name), more than one prefix or suffix, values longer than
//     MaxFilterValueSize bytes; the names are then made "Prefix"/"Suffix";
//  3. ARN syntax of every destination, in rule order: the first one that
//     arn.Parse refuses ("The ARN could not be parsed", ArgumentName
//     Queue, Topic or CloudFunction, ArgumentValue the string);
//  4. overlap: two rules that share an event type after wildcards are
//     expanded and whose filters can both match one key (see Overlap);
//  5. destinations: each distinct destination is checked once, in rule
//     order; all that are missing or refuse are reported together as
//     numbered ArgumentNameN/ArgumentValueN pairs ("Unable to validate the
//     following destination configurations"), unless
//     SkipDestinationValidation.
//
// c is modified only by step 2's normalisation. The Report is returned even
// when step 5 fails.
func Validate(ctx context.Context, c *Configuration, opts ValidateOptions) (*Report, error) {
	for i := range c.Rules {
		for _, e := range c.Rules[i].Events {
			if !event.Configurable(e) {
				return nil, invalid(msgUnknownEvent, "Event", string(e))
			}
		}
	}
	for i := range c.Rules {
		if err := normaliseFilter(&c.Rules[i]); err != nil {
			return nil, err
		}
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if _, err := arn.Parse(r.ARN); err != nil {
			return nil, invalid(msgUnparseableARN, argumentName(r.Kind), r.ARN)
		}
	}
	for i := range c.Rules {
		for j := i + 1; j < len(c.Rules); j++ {
			if a, b, ok := Overlap(&c.Rules[i], &c.Rules[j]); ok {
				return nil, invalid(msgOverlap, "Event", string(a)+", "+string(b))
			}
		}
	}
	return checkDestinations(ctx, c, opts)
}

func normaliseFilter(r *Rule) error {
	var prefixes, suffixes int
	for k := range r.Filter {
		f := &r.Filter[k]
		switch {
		case strings.EqualFold(f.Name, "prefix"):
			prefixes++
			if prefixes > 1 {
				return invalid(msgTwoPrefixes, "FilterRule.Name", f.Name)
			}
		case strings.EqualFold(f.Name, "suffix"):
			suffixes++
			if suffixes > 1 {
				return invalid(msgTwoSuffixes, "FilterRule.Name", f.Name)
			}
		default:
			return invalid(msgFilterRuleName, "FilterRule.Name", f.Name)
		}
		if len(f.Value) > MaxFilterValueSize {
			return invalid(msgFilterValueLength, "FilterRule.Value", f.Value)
		}
	}
	for k := range r.Filter {
		r.Filter[k].Name = canonicalFilterName(r.Filter[k].Name)
	}
	return nil
}

func canonicalFilterName(name string) string {
	switch {
	case strings.EqualFold(name, "prefix"):
		return "Prefix"
	case strings.EqualFold(name, "suffix"):
		return "Suffix"
	default:
		return name
	}
}

// Overlap reports whether rules a and b are ambiguous, as S3 defines it
// (seed 003, "Examples of Notification Configurations with Invalid
// Prefix/Suffix Overlapping"): they share an event type once wildcards are
// expanded, their prefixes overlap (one starts with the other; a missing
// prefix overlaps every prefix) and their suffixes overlap (one ends with
// the other; likewise). That is exactly when some key would match both
// rules: the longer prefix followed by the longer suffix. Overlapping
// prefixes are fine when the suffixes cannot overlap, and the other way
// round. It returns the first pair of configured event names that collide.
func Overlap(a, b *Rule) (event.Name, event.Name, bool) {
	if !overlaps(a.Prefix(), b.Prefix(), strings.HasPrefix) || !overlaps(a.Suffix(), b.Suffix(), strings.HasSuffix) {
		return "", "", false
	}
	for _, ea := range a.Events {
		for _, eb := range b.Events {
			for _, x := range event.Expand(ea) {
				if event.Covers(eb, x) {
					return ea, eb, true
				}
			}
		}
	}
	return "", "", false
}

func overlaps(x, y string, has func(s, part string) bool) bool {
	return has(x, y) || has(y, x)
}

// The texts S3 puts in ArgumentValueN (aws-facts.md section 4).
func destinationText(kind Kind, status Status, destination string) string {
	switch {
	case kind == event.Function:
		return "Not authorized to invoke function [" + destination + "]"
	case status == Missing:
		return "The destination " + kind.String() + " does not exist"
	default:
		return "Permissions on the destination " + kind.String() + " do not allow S3 to publish notifications from this bucket"
	}
}

func checkDestinations(ctx context.Context, c *Configuration, opts ValidateOptions) (*Report, error) {
	rep := &Report{verdicts: map[destKey]Verdict{}}
	var failed []Argument
	for i := range c.Rules {
		r := &c.Rules[i]
		k := destKey{r.Kind, r.ARN}
		if _, done := rep.verdicts[k]; done {
			continue
		}
		v, err := checkOne(ctx, r.Kind, r.ARN, opts)
		if err != nil {
			return nil, err
		}
		rep.verdicts[k] = v
		if v.Status == Deliverable {
			continue
		}
		text := destinationText(r.Kind, v.Status, r.ARN)
		if v.Reason != "" {
			text += ": " + v.Reason
		}
		name := r.ARN
		if r.Kind == event.Function {
			// AWS-recorded: "arn:aws:lambda:...:function:my-lambda, null".
			name += ", null"
		}
		failed = append(failed, Argument{Name: name, Value: text})
	}
	if len(failed) > 0 && !opts.SkipDestinationValidation {
		return rep, &Error{Code: CodeInvalidArgument, Message: msgDestinations, Arguments: failed}
	}
	return rep, nil
}

func checkOne(ctx context.Context, kind Kind, destination string, opts ValidateOptions) (Verdict, error) {
	var err error
	switch kind {
	case event.Queue:
		_, err = arn.ParseQueue(destination)
	case event.Topic:
		_, err = arn.ParseTopic(destination)
	default:
		_, err = arn.ParseFunction(destination)
	}
	if err != nil {
		// An ARN, but not one of a resource of this kind (another service,
		// no account, an invalid name): nothing by that name can exist.
		return Verdict{Status: Missing, Reason: "not a " + kind.String() + " ARN (" + reasonOf(err) + ")"}, nil
	}
	if opts.Destinations == nil {
		return Verdict{Status: Missing, Reason: "no " + kind.String() + "s are served"}, nil
	}
	return opts.Destinations.Check(ctx, kind, destination, opts.Bucket)
}

func reasonOf(err error) string {
	if pe, ok := err.(*arn.ParseError); ok {
		return pe.Reason
	}
	return err.Error()
}

// PolicyVerdict decides, for a destination that exists, whether its
// resource policy p lets S3 deliver events from bucket: it evaluates the
// request S3 makes (principal s3.amazonaws.com; action sqs:SendMessage,
// sns:Publish or lambda:InvokeFunction on destination; aws:SourceArn
// arn:aws:s3:::bucket; aws:SourceAccount bucketOwner when known) with IAM's
// logic, and on refusal returns the policy package's explanation as the
// reason. A nil policy refuses, as AWS does for a queue in the same account
// with no policy (aws-wire.md section 3.4).
func PolicyVerdict(p *policy.Policy, kind Kind, destination, bucket, bucketOwner string) Verdict {
	action := map[Kind]string{event.Queue: "sqs:SendMessage", event.Topic: "sns:Publish", event.Function: "lambda:InvokeFunction"}[kind]
	if p == nil {
		return Verdict{Status: Refused, Reason: "the " + kind.String() + " has no resource policy; it needs one that allows s3.amazonaws.com " +
			action + " with aws:SourceArn arn:aws:s3:::" + bucket}
	}
	req := policy.ServiceRequest("s3.amazonaws.com", action, destination, arn.Bucket(bucket).String(), bucketOwner)
	res := p.Evaluate(req)
	if res.Allowed() {
		return Verdict{Status: Deliverable}
	}
	return Verdict{Status: Refused, Reason: res.Reason}
}
