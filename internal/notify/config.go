package notify

import (
	"strings"

	"sluice/internal/event"
)

// Kind is the kind of a destination: event.Queue, event.Topic or
// event.Function.
type Kind = event.DestinationKind

// FilterRule is one <FilterRule>. Name is kept as the request spelled it
// until Validate, which turns it into "Prefix" or "Suffix" (S3 accepts the
// names in any case and returns them capitalised).
type FilterRule struct {
	Name  string
	Value string
}

// Rule is one TopicConfiguration, QueueConfiguration or
// CloudFunctionConfiguration.
type Rule struct {
	ID     string
	Kind   Kind
	ARN    string       // the Topic, Queue or CloudFunction element, as given
	Events []event.Name // as given (wildcards kept), in order
	Filter []FilterRule // in order; empty when there is no <Filter>
}

// Prefix returns the rule's prefix filter value ("" matches every key).
func (r *Rule) Prefix() string { return r.filterValue("prefix") }

// Suffix returns the rule's suffix filter value ("" matches every key).
func (r *Rule) Suffix() string { return r.filterValue("suffix") }

func (r *Rule) filterValue(name string) string {
	for _, f := range r.Filter {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Configuration is a bucket's whole notification configuration. The zero
// value (no rules, no EventBridge) is the empty configuration that turns
// notifications off.
type Configuration struct {
	// Rules in the order GET returns them: topics, then queues, then
	// functions, each in the order the PUT gave them.
	Rules []Rule
	// EventBridge is true when <EventBridgeConfiguration/> was given.
	// Sluice accepts and returns it but delivers nothing for it.
	EventBridge bool
}

// Empty reports whether c has neither rules nor EventBridge, i.e. whether
// storing it means "no configuration".
func (c *Configuration) Empty() bool { return c == nil || len(c.Rules) == 0 && !c.EventBridge }

// Target is one destination a matching rule sends a record to.
type Target struct {
	ConfigurationID string // the rule's Id: the record's s3.configurationId
	Kind            Kind
	ARN             string
}

// Match returns the destinations that receive a record of the concrete event
// type name for key, one per matching rule, in rule order. A rule matches
// when one of its events covers name (s3:ObjectCreated:* covers
// s3:ObjectCreated:Put) and the key starts with its prefix and ends with its
// suffix, compared literally, byte for byte: '*' and '?' in a key or a
// filter are ordinary characters (CONVENTIONS.md). Prefix and suffix may
// overlap in the key ("ab" matches prefix "ab" and suffix "b"), as in S3.
func Match(c *Configuration, name event.Name, key string) []Target {
	if c == nil {
		return nil
	}
	var out []Target
	for i := range c.Rules {
		r := &c.Rules[i]
		if !r.covers(name) {
			continue
		}
		if !strings.HasPrefix(key, r.Prefix()) || !strings.HasSuffix(key, r.Suffix()) {
			continue
		}
		out = append(out, Target{ConfigurationID: r.ID, Kind: r.Kind, ARN: r.ARN})
	}
	return out
}

func (r *Rule) covers(name event.Name) bool {
	for _, e := range r.Events {
		if event.Covers(e, name) {
			return true
		}
	}
	return false
}

// TestTargets returns the destinations that get the s3:TestEvent message when
// c is saved: each distinct queue and topic of c that exists, in rule order,
// never a function (S3 sends the test message to SNS and SQS only,
// aws-facts.md section 5). Existence comes from Validate's Report
// (Report.Exists); a destination the report does not know is left out.
func TestTargets(c *Configuration, r *Report) []Target {
	if c == nil || r == nil {
		return nil
	}
	var out []Target
	seen := map[destKey]bool{}
	for i := range c.Rules {
		rule := &c.Rules[i]
		k := destKey{rule.Kind, rule.ARN}
		if rule.Kind == event.Function || seen[k] {
			continue
		}
		seen[k] = true
		if r.Exists(rule.Kind, rule.ARN) {
			out = append(out, Target{Kind: rule.Kind, ARN: rule.ARN})
		}
	}
	return out
}

type destKey struct {
	kind Kind
	arn  string
}
