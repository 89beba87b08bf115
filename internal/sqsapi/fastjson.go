package sqsapi

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeSendFast decodes the SendMessage request most clients send, a
// JSON object of QueueUrl and MessageBody whose strings need no
// unescaping, without encoding/json: its reflection and the validation
// pass before it were the largest part of the handler's own CPU per
// send. For anything else (another member, a key in another case, an
// escape sequence, a control character, invalid UTF-8, a value that is
// not a string, malformed JSON) it returns ok false and the caller uses
// encoding/json, so every answer for those, errors included, is as
// before. When ok, the result is what json.Unmarshal gives (the fuzz
// test FuzzDecodeSendFast checks it).
func decodeSendFast(b []byte) (queueURL, body string, ok bool) {
	i := skipWS(b, 0)
	if i == len(b) || b[i] != '{' {
		return "", "", false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return "", "", skipWS(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return "", "", false
		}
		i = skipWS(b, j)
		if i == len(b) || b[i] != ':' {
			return "", "", false
		}
		val, j, ok := plainString(b, skipWS(b, i+1))
		if !ok {
			return "", "", false
		}
		switch string(key) {
		case "QueueUrl":
			queueURL = string(val)
		case "MessageBody":
			body = string(val)
		default:
			return "", "", false
		}
		i = skipWS(b, j)
		if i == len(b) {
			return "", "", false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return queueURL, body, skipWS(b, i+1) == len(b)
		default:
			return "", "", false
		}
	}
}

// plainString reads a JSON string at b[i] that has no escapes and no
// control characters and is valid UTF-8; it returns its contents and the
// index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// appendSendResult appends SendMessage's JSON 1.0 response, byte for byte
// what json.Marshal gives for the same struct (TestAppendSendResult): the
// values are a UUID and hex digests, which need no escaping; anything
// else goes through jsonString.
func appendSendResult(b []byte, id, md5Body, md5Attrs string) []byte {
	b = append(b, `{"MessageId":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"MD5OfMessageBody":`...)
	b = appendJSONString(b, md5Body)
	if md5Attrs != "" {
		b = append(b, `,"MD5OfMessageAttributes":`...)
		b = appendJSONString(b, md5Attrs)
	}
	return append(b, '}')
}

// appendJSONString quotes s as encoding/json does when s is plain ASCII
// with nothing to escape (letters, digits, '-', '+', '/', '=', ...);
// otherwise it defers to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(b, jsonString(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// jsonAppender is a response with a hand-written JSON 1.0 encoding;
// writeOK uses it instead of encoding/json (the query protocol still
// renders the struct).
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// sendResult is SendMessage's response.
type sendResult struct {
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

func (r *sendResult) appendJSON(b []byte) []byte {
	return appendSendResult(b, r.MessageId, r.MD5OfMessageBody, r.MD5OfMessageAttributes)
}
