package policy

import (
	"errors"
	"fmt"

	"sluice/internal/arn"
)

// Versions of the policy language. Lambda writes VersionCurrent; S3's
// documentation examples use Version2008.
const (
	VersionCurrent = "2012-10-17"
	Version2008    = "2008-10-17"
)

// Effect is a statement's effect.
type Effect string

// The two effects. They are case-sensitive in the policy grammar.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed resource policy.
type Policy struct {
	Version    string // "" when the document had none
	ID         string // the "Id" element; "" when absent
	Statements []Statement
	// SingleStatement records that Statement was written as one object
	// rather than an array, so that Marshal writes it back the same way.
	SingleStatement bool
}

// Statement is one statement of a policy. An element that is absent has an
// empty Strings or a nil *Principal.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principal
	NotPrincipal *Principal
	Action       Strings
	NotAction    Strings
	Resource     Strings
	NotResource  Strings
	Condition    []Condition // in document order, grouped by operator when written
}

// Strings is a policy value that is a string or an array of strings.
type Strings struct {
	Values []string
	// Array records that the value was (or is to be) written as a JSON
	// array. A single value with Array false is written as a lone string,
	// as AWS writes Lambda's and most generated policies.
	Array bool
}

// One returns a single string value, written as a lone JSON string.
func One(s string) Strings { return Strings{Values: []string{s}} }

// List returns a value written as a JSON array.
func List(s ...string) Strings { return Strings{Values: s, Array: true} }

// Principal is the Principal or NotPrincipal element.
type Principal struct {
	Any           bool // the element was the string "*"
	AWS           Strings
	Service       Strings
	Federated     Strings
	CanonicalUser Strings
}

// Condition is one key of one condition operator:
// "Condition": {Operator: {Key: Values}}.
type Condition struct {
	Operator string // as written, e.g. "ArnLike", "ForAnyValue:StringEquals", "StringEqualsIfExists"
	Key      string // as written, e.g. "aws:SourceArn" or "AWS:SourceAccount"
	Values   []string
	Array    bool // Values was written as an array
	// literal marks values written as JSON numbers or booleans rather than
	// strings, so that Marshal writes them back unchanged. nil when every
	// value was a string.
	literal []bool
}

// Grant describes one permission in the terms that Lambda AddPermission and
// the SNS/SQS AddPermission tools take, and NewStatement turns it into the
// statement those APIs write.
type Grant struct {
	Sid    string
	Effect Effect // Allow when empty
	// Principal is a service principal ("s3.amazonaws.com"), an account id
	// ("123456789012", written as arn:aws:iam::123456789012:root as Lambda
	// does), an IAM ARN, or "*".
	Principal string
	Actions   []string // one action is written as a lone string
	Resource  string
	// SourceArn, when set, adds ArnLike on AWS:SourceArn; SourceAccount adds
	// StringEquals on AWS:SourceAccount (Lambda's key spelling and order).
	SourceArn     string
	SourceAccount string
	// Extra conditions are appended after the SourceAccount and SourceArn ones.
	Extra []Condition
}

// NewStatement builds the statement for g, in the shape of aws-wire 2.2:
//
//	{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},
//	 "Action":"lambda:InvokeFunction","Resource":"arn:...:function:fn",
//	 "Condition":{"StringEquals":{"AWS:SourceAccount":"..."},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b1"}}}
func NewStatement(g Grant) Statement {
	st := Statement{Sid: g.Sid, Effect: g.Effect, Principal: PrincipalFor(g.Principal)}
	if st.Effect == "" {
		st.Effect = Allow
	}
	if len(g.Actions) == 1 {
		st.Action = One(g.Actions[0])
	} else if len(g.Actions) > 1 {
		st.Action = List(g.Actions...)
	}
	if g.Resource != "" {
		st.Resource = One(g.Resource)
	}
	if g.SourceAccount != "" {
		st.Condition = append(st.Condition, Condition{Operator: "StringEquals", Key: "AWS:SourceAccount", Values: []string{g.SourceAccount}})
	}
	if g.SourceArn != "" {
		st.Condition = append(st.Condition, Condition{Operator: "ArnLike", Key: "AWS:SourceArn", Values: []string{g.SourceArn}})
	}
	st.Condition = append(st.Condition, g.Extra...)
	return st
}

// PrincipalFor turns the principal string of an AddPermission call into the
// Principal element AWS writes for it: "*" stays "*", a 12-digit account id
// becomes {"AWS":"arn:aws:iam::<id>:root"}, an ARN becomes {"AWS":arn}, and
// anything else is a service principal {"Service":s}.
func PrincipalFor(s string) *Principal {
	switch {
	case s == "*":
		return &Principal{Any: true}
	case arn.ValidAccountID(s):
		return &Principal{AWS: One(arn.Account(s).String())}
	case arn.IsARN(s):
		return &Principal{AWS: One(s)}
	default:
		return &Principal{Service: One(s)}
	}
}

// New returns an empty policy with the current version and the given Id
// (Lambda uses "default").
func New(id string) *Policy {
	return &Policy{Version: VersionCurrent, ID: id}
}

// ErrDuplicateSid is returned by Add when a statement with the same Sid is
// already in the policy (Lambda answers 409 ResourceConflictException).
var ErrDuplicateSid = errors.New("statement id already exists")

// Add appends st. A non-empty Sid must be new to the policy.
func (p *Policy) Add(st Statement) error {
	if st.Sid != "" {
		if _, ok := p.Find(st.Sid); ok {
			return fmt.Errorf("add statement %q: %w", st.Sid, ErrDuplicateSid)
		}
	}
	p.Statements = append(p.Statements, st)
	return nil
}

// Find returns the index of the statement with the given Sid.
func (p *Policy) Find(sid string) (int, bool) {
	for i := range p.Statements {
		if p.Statements[i].Sid == sid {
			return i, true
		}
	}
	return -1, false
}

// Remove deletes the statement with the given Sid and reports whether there
// was one.
func (p *Policy) Remove(sid string) bool {
	i, ok := p.Find(sid)
	if !ok {
		return false
	}
	p.Statements = append(p.Statements[:i:i], p.Statements[i+1:]...)
	return true
}
