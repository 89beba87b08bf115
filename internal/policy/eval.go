package policy

import (
	"fmt"
	"strings"

	"sluice/internal/arn"
)

// Caller is the principal a request comes from. The zero Caller is
// anonymous.
type Caller struct {
	// Service is set when an AWS service calls on its own behalf, e.g.
	// "s3.amazonaws.com" delivering an event.
	Service string
	// ARN is an IAM principal: arn:aws:iam::123456789012:root, a user or
	// role ARN, or an STS assumed-role session ARN.
	ARN string
	// Account is the caller's account id; taken from ARN when empty.
	Account string
}

func (c Caller) account() string {
	if c.Account != "" {
		return c.Account
	}
	if a, err := arn.Parse(c.ARN); err == nil {
		return a.AccountID
	}
	return ""
}

func (c Caller) String() string {
	switch {
	case c.Service != "":
		return c.Service
	case c.ARN != "":
		return c.ARN
	case c.Account != "":
		return "account " + c.Account
	default:
		return "anonymous"
	}
}

// Request is what Evaluate decides on.
type Request struct {
	Caller   Caller
	Action   string // e.g. "sqs:SendMessage"
	Resource string // the ARN of the resource the policy is attached to
	// Context holds the condition keys of the request (aws:SourceArn,
	// aws:SourceAccount, ...). Keys are matched case-insensitively.
	Context map[string][]string
}

// ServiceRequest builds the request an AWS service makes when it delivers
// on behalf of a source: S3 sending an event from a bucket (sourceARN
// arn:aws:s3:::bucket, sourceAccount the bucket owner) or SNS delivering from
// a topic. It sets aws:SourceArn, aws:SourceAccount, aws:SourceOwner (the
// older key SNS examples use for the same account) and
// aws:PrincipalServiceName. Empty source values are left out of the context.
func ServiceRequest(service, action, resource, sourceARN, sourceAccount string) Request {
	ctx := map[string][]string{"aws:PrincipalServiceName": {service}}
	if sourceARN != "" {
		ctx["aws:SourceArn"] = []string{sourceARN}
	}
	if sourceAccount != "" {
		ctx["aws:SourceAccount"] = []string{sourceAccount}
		ctx["aws:SourceOwner"] = []string{sourceAccount}
	}
	return Request{Caller: Caller{Service: service}, Action: action, Resource: resource, Context: ctx}
}

// Decision is the outcome of an evaluation.
type Decision int

// The three outcomes. The zero value is ImplicitDeny, so a forgotten
// evaluation never allows.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	default:
		return "ImplicitDeny"
	}
}

// Result is a decision and its explanation.
type Result struct {
	Decision Decision
	// Statement is the index of the deciding statement for Allowed and
	// ExplicitDeny, and of the closest Allow statement for ImplicitDeny
	// (-1 when there is none).
	Statement int
	Sid       string
	// Reason explains the decision in one line, e.g.
	// "statement 0 (Sid s3): condition ArnLike aws:SourceArn
	// arn:aws:s3:*:*:other does not match arn:aws:s3:::photos".
	Reason string
}

// Allowed reports whether the request is allowed.
func (r Result) Allowed() bool { return r.Decision == Allowed }

// stage counts how far a statement got in matching a request, so that an
// implicit deny can report the statement that came closest.
const (
	stagePrincipal = iota
	stageAction
	stageResource
	stageCondition
	stageMatched
)

// Evaluate decides r under p with IAM's logic: an explicit Deny wins, then
// an Allow, else an implicit deny. A nil policy denies implicitly.
func (p *Policy) Evaluate(r Request) Result {
	if p == nil {
		return Result{Statement: -1, Reason: "there is no resource policy"}
	}
	ctx := make(map[string][]string, len(r.Context))
	for k, v := range r.Context {
		ctx[strings.ToLower(k)] = append(ctx[strings.ToLower(k)], v...)
	}
	allow := -1
	closest, closestStage, closestWhy := -1, -1, ""
	for i := range p.Statements {
		st := &p.Statements[i]
		stage, why := st.match(i, r, ctx)
		if stage == stageMatched {
			if st.Effect == Deny {
				return Result{Decision: ExplicitDeny, Statement: i, Sid: st.Sid, Reason: label(i, st.Sid) + " denies it"}
			}
			if st.Effect == Allow && allow < 0 {
				allow = i
			}
			continue
		}
		if st.Effect == Allow && stage > closestStage {
			closest, closestStage, closestWhy = i, stage, why
		}
	}
	if allow >= 0 {
		st := &p.Statements[allow]
		return Result{Decision: Allowed, Statement: allow, Sid: st.Sid, Reason: label(allow, st.Sid) + " allows it"}
	}
	if closest < 0 {
		if len(p.Statements) == 0 {
			return Result{Statement: -1, Reason: "the policy has no statements"}
		}
		return Result{Statement: -1, Reason: "the policy has no Allow statement"}
	}
	st := &p.Statements[closest]
	return Result{Statement: closest, Sid: st.Sid, Reason: closestWhy}
}

func label(i int, sid string) string {
	if sid == "" {
		return fmt.Sprintf("statement %d", i)
	}
	return fmt.Sprintf("statement %d (Sid %s)", i, sid)
}

// match returns stageMatched when st (statement i) applies to r, or the
// stage at which it failed and why.
func (st *Statement) match(i int, r Request, ctx map[string][]string) (int, string) {
	name := label(i, st.Sid)
	verb := "does not allow"
	if st.Effect == Deny {
		verb = "does not deny"
	}
	switch {
	case st.Principal != nil && !st.Principal.matches(r.Caller):
		return stagePrincipal, fmt.Sprintf("%s %s principal %s", name, verb, r.Caller)
	case st.NotPrincipal != nil && st.NotPrincipal.matches(r.Caller):
		return stagePrincipal, fmt.Sprintf("%s %s principal %s (NotPrincipal)", name, verb, r.Caller)
	}
	switch {
	case st.Action.Values != nil && !anyMatch(st.Action.Values, r.Action, actionMatch):
		return stageAction, fmt.Sprintf("%s %s action %s", name, verb, r.Action)
	case st.NotAction.Values != nil && anyMatch(st.NotAction.Values, r.Action, actionMatch):
		return stageAction, fmt.Sprintf("%s %s action %s (NotAction)", name, verb, r.Action)
	}
	switch {
	case st.Resource.Values != nil && !anyMatch(st.Resource.Values, r.Resource, arnLike):
		return stageResource, fmt.Sprintf("%s %s resource %s", name, verb, r.Resource)
	case st.NotResource.Values != nil && anyMatch(st.NotResource.Values, r.Resource, arnLike):
		return stageResource, fmt.Sprintf("%s %s resource %s (NotResource)", name, verb, r.Resource)
	}
	for _, c := range st.Condition {
		if ok, why := c.eval(ctx); !ok {
			return stageCondition, name + ": " + why
		}
	}
	return stageMatched, ""
}

func anyMatch(patterns []string, v string, match func(p, v string) bool) bool {
	for _, p := range patterns {
		if match(p, v) {
			return true
		}
	}
	return false
}

// actionMatch matches "service:Action" patterns case-insensitively, with
// '*' and '?' wildcards.
func actionMatch(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}

// matches reports whether the principal element names the caller.
func (p *Principal) matches(c Caller) bool {
	if p.Any {
		return true
	}
	for _, v := range p.AWS.Values {
		if v == "*" {
			return true
		}
	}
	if c.Service != "" {
		for _, v := range p.Service.Values {
			if strings.EqualFold(v, c.Service) {
				return true
			}
		}
		return false
	}
	acct := c.account()
	if acct == "" && c.ARN == "" {
		return false // anonymous: only "*" names it
	}
	for _, v := range p.AWS.Values {
		if arn.ValidAccountID(v) {
			if v == acct {
				return true
			}
			continue
		}
		a, err := arn.Parse(v)
		if err != nil {
			continue
		}
		if a.Service == "iam" && a.Resource == "root" {
			if a.AccountID == acct {
				return true
			}
			continue
		}
		if v == c.ARN || sessionOf(c.ARN, a) {
			return true
		}
	}
	return false
}

// sessionOf reports whether caller is an STS session of the role policy
// names: arn:aws:sts::A:assumed-role/R/session matches
// arn:aws:iam::A:role/[path/]R, as IAM resolves role principals.
func sessionOf(caller string, role arn.ARN) bool {
	if role.Service != "iam" || !strings.HasPrefix(role.Resource, "role/") {
		return false
	}
	c, err := arn.Parse(caller)
	if err != nil || c.Service != "sts" || c.AccountID != role.AccountID {
		return false
	}
	rest, ok := strings.CutPrefix(c.Resource, "assumed-role/")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, "/")
	roleName := role.Resource[strings.LastIndex(role.Resource, "/")+1:]
	return name != "" && name == roleName
}
