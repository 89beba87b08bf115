package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// setQualifier is the ForAnyValue:/ForAllValues: prefix of an operator.
type setQualifier int

const (
	setNone setQualifier = iota
	setAny
	setAll
)

// operator is a parsed condition operator.
type operator struct {
	base     string // canonical name without qualifier and IfExists, e.g. "StringLike"
	negated  bool   // StringNotEquals, ArnNotLike, NotIpAddress, ...: true when no value matches
	ifExists bool
	set      setQualifier
	null     bool
	// match reports whether one request value matches one policy value,
	// before negation.
	match func(policyValue, requestValue string) bool
	// check validates one policy value at parse time; nil accepts anything.
	check func(policyValue string) error
}

// parseOperator parses a condition operator as IAM documents them
// (reference_policies_condition_operators.html). Operator names are matched
// case-insensitively.
func parseOperator(op string) (operator, error) {
	name := op
	var o operator
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "foranyvalue:"):
		o.set, name = setAny, name[len("ForAnyValue:"):]
	case strings.HasPrefix(lower, "forallvalues:"):
		o.set, name = setAll, name[len("ForAllValues:"):]
	}
	if l := strings.ToLower(name); strings.HasSuffix(l, "ifexists") && len(l) > len("ifexists") {
		o.ifExists, name = true, name[:len(name)-len("IfExists")]
	}
	equal := func(p, v string) bool { return p == v }
	switch strings.ToLower(name) {
	case "stringequals":
		o.base, o.match = "StringEquals", equal
	case "stringnotequals":
		o.base, o.match, o.negated = "StringNotEquals", equal, true
	case "stringequalsignorecase":
		o.base, o.match = "StringEqualsIgnoreCase", strings.EqualFold
	case "stringnotequalsignorecase":
		o.base, o.match, o.negated = "StringNotEqualsIgnoreCase", strings.EqualFold, true
	case "stringlike":
		o.base, o.match = "StringLike", glob
	case "stringnotlike":
		o.base, o.match, o.negated = "StringNotLike", glob, true
	case "arnequals", "arnlike":
		// IAM documents ArnEquals and ArnLike as the same test.
		o.base, o.match = canonicalArnOp(name, false), arnLike
	case "arnnotequals", "arnnotlike":
		o.base, o.match, o.negated = canonicalArnOp(name, true), arnLike, true
	case "numericequals":
		o.base, o.match, o.check = "NumericEquals", numeric(func(c int) bool { return c == 0 }), checkNumber
	case "numericnotequals":
		o.base, o.match, o.check, o.negated = "NumericNotEquals", numeric(func(c int) bool { return c == 0 }), checkNumber, true
	case "numericlessthan":
		o.base, o.match, o.check = "NumericLessThan", numeric(func(c int) bool { return c < 0 }), checkNumber
	case "numericlessthanequals":
		o.base, o.match, o.check = "NumericLessThanEquals", numeric(func(c int) bool { return c <= 0 }), checkNumber
	case "numericgreaterthan":
		o.base, o.match, o.check = "NumericGreaterThan", numeric(func(c int) bool { return c > 0 }), checkNumber
	case "numericgreaterthanequals":
		o.base, o.match, o.check = "NumericGreaterThanEquals", numeric(func(c int) bool { return c >= 0 }), checkNumber
	case "dateequals":
		o.base, o.match, o.check = "DateEquals", date(func(c int) bool { return c == 0 }), checkDate
	case "datenotequals":
		o.base, o.match, o.check, o.negated = "DateNotEquals", date(func(c int) bool { return c == 0 }), checkDate, true
	case "datelessthan":
		o.base, o.match, o.check = "DateLessThan", date(func(c int) bool { return c < 0 }), checkDate
	case "datelessthanequals":
		o.base, o.match, o.check = "DateLessThanEquals", date(func(c int) bool { return c <= 0 }), checkDate
	case "dategreaterthan":
		o.base, o.match, o.check = "DateGreaterThan", date(func(c int) bool { return c > 0 }), checkDate
	case "dategreaterthanequals":
		o.base, o.match, o.check = "DateGreaterThanEquals", date(func(c int) bool { return c >= 0 }), checkDate
	case "bool":
		o.base, o.match, o.check = "Bool", strings.EqualFold, checkBool
	case "binaryequals":
		o.base, o.match = "BinaryEquals", equal
	case "ipaddress":
		o.base, o.match, o.check = "IpAddress", ipMatch, checkIP
	case "notipaddress":
		o.base, o.match, o.check, o.negated = "NotIpAddress", ipMatch, checkIP, true
	case "null":
		if o.ifExists {
			return operator{}, fmt.Errorf("invalid condition operator %q (Null takes no IfExists)", op)
		}
		o.base, o.null, o.check = "Null", true, checkBool
	default:
		return operator{}, fmt.Errorf("unknown condition operator %q", op)
	}
	return o, nil
}

func canonicalArnOp(name string, negated bool) string {
	like := strings.HasSuffix(strings.ToLower(name), "like")
	switch {
	case negated && like:
		return "ArnNotLike"
	case negated:
		return "ArnNotEquals"
	case like:
		return "ArnLike"
	default:
		return "ArnEquals"
	}
}

// checkValues validates the policy values of c at parse time.
func checkValues(c Condition) error {
	o, err := parseOperator(c.Operator)
	if err != nil {
		return err
	}
	if o.check == nil {
		return nil
	}
	for _, v := range c.Values {
		if err := o.check(v); err != nil {
			return fmt.Errorf("condition %s %s: %v", c.Operator, c.Key, err)
		}
	}
	return nil
}

// eval evaluates c against the request context, whose keys are lower-case.
// It returns whether the condition holds and, when it does not, why.
func (c Condition) eval(ctx map[string][]string) (bool, string) {
	o, err := parseOperator(c.Operator)
	if err != nil {
		// Only a Condition built in code can get here; Parse refuses it.
		return false, fmt.Sprintf("condition %s: %v", c.Operator, err)
	}
	got := ctx[strings.ToLower(c.Key)]
	present := len(got) > 0
	if o.null {
		for _, want := range c.Values {
			if strings.EqualFold(want, "true") != present {
				return true, ""
			}
		}
		if present {
			return false, fmt.Sprintf("condition Null %s %s does not hold: %s is %s", c.Key, showList(c.Values), c.Key, showList(got))
		}
		return false, fmt.Sprintf("condition Null %s %s does not hold: %s is not in the request", c.Key, showList(c.Values), c.Key)
	}
	if !present {
		ok := o.ifExists || o.set == setAll || o.set == setNone && o.negated
		if ok {
			return true, ""
		}
		return false, fmt.Sprintf("condition %s %s %s does not match: %s is not in the request", c.Operator, c.Key, showList(c.Values), c.Key)
	}
	positive := func(v string) bool {
		for _, p := range c.Values {
			if o.match(p, v) {
				return true
			}
		}
		return false
	}
	var ok bool
	switch o.set {
	case setNone:
		any := false
		for _, v := range got {
			if positive(v) {
				any = true
				break
			}
		}
		ok = any != o.negated
	case setAny:
		for _, v := range got {
			if positive(v) != o.negated {
				ok = true
				break
			}
		}
	case setAll:
		ok = true
		for _, v := range got {
			if positive(v) == o.negated {
				ok = false
				break
			}
		}
	}
	if ok {
		return true, ""
	}
	return false, fmt.Sprintf("condition %s %s %s does not match %s", c.Operator, c.Key, showList(c.Values), showList(got))
}

func showList(v []string) string {
	if len(v) == 1 {
		return v[0]
	}
	return "[" + strings.Join(v, ", ") + "]"
}

// glob matches s against a pattern in which '*' matches any run of
// characters (possibly empty) and '?' exactly one. It is linear in practice:
// only the last '*' is backtracked to.
func glob(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	pi, vi := 0, 0
	star, mark := -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// arnLike matches an ARN against an ARN pattern: "each of the six
// colon-delimited components of the ARN is checked separately and each can
// include multi-character match wildcards (*) or single-character match
// wildcards (?)" (IAM condition operators, ARN condition operators). The
// sixth component is the rest of the string, colons included. A pattern of
// just "*" matches any value; a value that is not an ARN matches nothing
// else.
func arnLike(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	vp := strings.SplitN(value, ":", 6)
	if len(pp) != 6 || len(vp) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], vp[i]) {
			return false
		}
	}
	return true
}

func numeric(cmp func(int) bool) func(p, v string) bool {
	return func(p, v string) bool {
		pf, err1 := strconv.ParseFloat(p, 64)
		vf, err2 := strconv.ParseFloat(v, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch {
		case vf < pf:
			return cmp(-1)
		case vf > pf:
			return cmp(1)
		default:
			return cmp(0)
		}
	}
}

func checkNumber(p string) error {
	if _, err := strconv.ParseFloat(p, 64); err != nil {
		return fmt.Errorf("%q is not a number", p)
	}
	return nil
}

// parseDate accepts the forms IAM documents for date conditions: ISO 8601
// (RFC 3339, or a bare date) and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}

func date(cmp func(int) bool) func(p, v string) bool {
	return func(p, v string) bool {
		pt, ok1 := parseDate(p)
		vt, ok2 := parseDate(v)
		if !ok1 || !ok2 {
			return false
		}
		return cmp(vt.Compare(pt))
	}
}

func checkDate(p string) error {
	if _, ok := parseDate(p); !ok {
		return fmt.Errorf("%q is not a date (want ISO 8601 or epoch seconds)", p)
	}
	return nil
}

func checkBool(p string) error {
	if !strings.EqualFold(p, "true") && !strings.EqualFold(p, "false") {
		return fmt.Errorf("%q is not true or false", p)
	}
	return nil
}

func parseIPPrefix(p string) (netip.Prefix, error) {
	if strings.Contains(p, "/") {
		pr, err := netip.ParsePrefix(p)
		return pr.Masked(), err
	}
	a, err := netip.ParseAddr(p)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func ipMatch(p, v string) bool {
	pr, err := parseIPPrefix(p)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	return pr.Contains(a.Unmap())
}

func checkIP(p string) error {
	if _, err := parseIPPrefix(p); err != nil {
		return fmt.Errorf("%q is not an IP address or CIDR block", p)
	}
	return nil
}
