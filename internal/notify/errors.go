package notify

import "strconv"

// AWS error codes a configuration can fail with. Both are HTTP 400.
const (
	CodeInvalidArgument = "InvalidArgument"
	CodeMalformedXML    = "MalformedXML"
)

// Messages S3 uses (aws-facts.md section 4, AWS-recorded snapshots). The
// ones marked unconfirmed are Sluice's best reading, not seen in a
// recording.
const (
	msgMalformedXML      = "The XML you provided was not well-formed or did not validate against our published schema"
	msgUnknownEvent      = "The event is not supported for notifications" // unconfirmed
	msgFilterRuleName    = "filter rule name must be either prefix or suffix"
	msgTwoPrefixes       = "Cannot specify more than one prefix rule in a filter."                      // unconfirmed
	msgTwoSuffixes       = "Cannot specify more than one suffix rule in a filter."                      // unconfirmed
	msgFilterValueLength = "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation" // unconfirmed
	msgUnparseableARN    = "The ARN could not be parsed"                                                //
	msgOverlap           = "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type."
	msgDestinations      = "Unable to validate the following destination configurations"
	msgTooManyRules      = "Too many notification configurations: at most " // Sluice's own bound
	msgTooManyEvents     = "Too many events in one notification configuration: at most "
)

// Argument is one numbered ArgumentNameN/ArgumentValueN pair.
type Argument struct {
	Name  string
	Value string
}

// Error is a configuration S3 refuses, with everything the S3 error body
// needs: Code, Message, and either one ArgumentName/ArgumentValue pair or,
// for the destination check, the numbered pairs (ArgumentName1,
// ArgumentValue1, ...). The edge renders it; Error() is a short string.
type Error struct {
	Code          string
	Message       string
	ArgumentName  string
	ArgumentValue string
	// Arguments are the numbered pairs; when set, ArgumentName and
	// ArgumentValue are empty.
	Arguments []Argument
}

func (e *Error) Error() string {
	s := "notify: " + e.Code + ": " + e.Message
	if e.ArgumentName != "" {
		s += " (" + e.ArgumentName + ": " + strconv.Quote(e.ArgumentValue) + ")"
	}
	for i, a := range e.Arguments {
		s += " (" + strconv.Itoa(i+1) + ": " + a.Name + ": " + a.Value + ")"
	}
	return s
}

func malformed() *Error { return &Error{Code: CodeMalformedXML, Message: msgMalformedXML} }

func invalid(msg, name, value string) *Error {
	return &Error{Code: CodeInvalidArgument, Message: msg, ArgumentName: name, ArgumentValue: value}
}
