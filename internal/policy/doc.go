// Package policy parses, builds, serialises and evaluates resource policies
// (the access policies of queues, topics, functions and buckets) with IAM's
// semantics, so that "may S3 send events from bucket B to queue Q" gets the
// answer AWS would give, and says why.
//
// # Evaluation
//
// Evaluate follows IAM's logic for a single resource policy: an explicit
// Deny in any matching statement wins; otherwise an Allow in a matching
// statement allows; otherwise the request is implicitly denied. A statement
// matches when its Principal (or NotPrincipal), Action (or NotAction),
// Resource (or NotResource) and every condition match. The Result names the
// deciding statement, or for an implicit deny explains why the Allow
// statement that came closest did not match (principal, action, resource, or
// the condition with its expected and actual values), so that an S3 error can
// carry the reason after AWS's own text.
//
// Matching rules, as documented in the IAM User Guide (reference_policies_
// elements_*.html and reference_policies_condition_operators.html):
//   - Actions: "service:Action" with '*' and '?' wildcards, case-insensitive.
//   - Resources: "*" or an ARN pattern; each of the six colon-separated
//     sections is matched separately with '*' and '?' (the last section
//     holds the rest, colons included), case-sensitive. A statement with
//     neither Resource nor NotResource applies to the resource the policy
//     is attached to (Sluice is lenient here; SNS and S3 require Resource).
//   - Principals: "*" and {"AWS":"*"} match everyone, anonymous callers and
//     service principals included; {"Service":"s3.amazonaws.com"} matches
//     that service; {"AWS":"123456789012"} or
//     {"AWS":"arn:aws:iam::123456789012:root"} match every IAM principal of
//     that account; any other AWS ARN matches that principal exactly, and a
//     role ARN also matches its assumed-role sessions. Federated and
//     CanonicalUser principals are kept but never match (Sluice has no such
//     callers).
//   - Conditions: operators are ANDed, keys within an operator are ANDed,
//     the values of one key are ORed. Keys are case-insensitive, values are
//     case-sensitive unless the operator ends in IgnoreCase. A key absent
//     from the request makes a positive operator false and a negated one
//     (StringNotEquals, ArnNotLike, ...) true; the IfExists suffix makes a
//     missing key true. ForAnyValue: needs one request value to match,
//     ForAllValues: needs every request value to match (and is true for a
//     missing key). ArnEquals behaves as ArnLike, as IAM documents.
//   - Policy variables (${aws:username}) are not substituted: they compare
//     literally.
//
// # Parsing
//
// Parse accepts the IAM policy grammar: Version ("2012-10-17" or
// "2008-10-17", optional), Id, and Statement as one object or an array. It
// refuses, with a *MalformedError naming the problem, anything AWS would
// refuse and that changes meaning if guessed: unknown elements (element
// names are case-sensitive), an Effect other than Allow or Deny, a statement
// without Principal/NotPrincipal or without Action/NotAction, both an
// element and its Not form, an action without a service prefix, a resource
// that is neither "*" nor an ARN, an invalid AWS principal, duplicate Sids,
// and unknown condition operators. Refusing an unknown operator at parse
// time (rather than evaluating it as "no match") is what IAM does for
// identity and bucket policies ("Invalid Condition type"), and it means a
// typo never silently turns an Allow into a Deny at delivery time. Where a
// JSON object repeats a key, the last value wins, as in AWS's JSON parser.
//
// Documents are bounded: each caller passes the Limits of its service (see
// SQSLimits, SNSLimits, LambdaLimits, S3Limits for the sources).
//
// # Serialising
//
// Marshal writes the AWS JSON shape and keeps what the document said: a
// single string stays a string and an array stays an array, Statement stays
// an object or an array, condition values keep their JSON types, and
// elements and conditions keep their order. Builders (NewStatement, New,
// Policy.Add) produce exactly the statements Lambda AddPermission writes.
package policy
