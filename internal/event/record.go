package event

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one S3 event record, as Sluice knows it before encoding. The
// encoder decides from Name which fields AWS sends; a field that does not
// belong to the type is left out even when set here.
type Record struct {
	Name   Name      // concrete type, e.g. ObjectCreatedPut ("s3:" form)
	Region string    // awsRegion: the server's region
	Time   time.Time // when the operation finished; written in UTC with ms

	// PrincipalID is userIdentity.principalId: the requester, e.g.
	// "AWS:AIDA..." for an IAM user or "AWS:AROA...:session" for a role.
	PrincipalID string
	SourceIP    string // requestParameters.sourceIPAddress

	// RequestID and HostID are the x-amz-request-id and x-amz-id-2 the
	// triggering response carried.
	RequestID string
	HostID    string

	ConfigurationID string // the Id of the matching notification rule

	Bucket      string // bucket name; the ARN is derived (arn:aws:s3:::name)
	BucketOwner string // bucket.ownerIdentity.principalId

	Key       string // the object key as stored (not encoded)
	Size      int64  // object size; written only for types that carry it
	ETag      string // with or without quotes; written without
	VersionID string // written only when not empty (versioned buckets)
	Sequencer string // see Sequence; written only for types that carry it
}

// ErrInvalidRecord is matched by every error Encode returns for a record it
// cannot write.
var ErrInvalidRecord = errors.New("invalid event record")

// Validate checks what the encoder needs: a concrete configurable type, a
// bucket, a key, and a sequencer where the type carries one.
func (r *Record) Validate() error {
	fail := func(why string) error { return errors.Join(ErrInvalidRecord, errors.New("event: "+why)) }
	if r.Name.IsWildcard() || !Configurable(r.Name) {
		return fail("record type " + strconv.Quote(string(r.Name)) + " is not a concrete event type")
	}
	if r.Bucket == "" {
		return fail("record has no bucket")
	}
	if r.Key == "" {
		return fail("record has no key")
	}
	if _, _, seq := r.Name.objectFields(); seq && r.Sequencer == "" {
		return fail(string(r.Name) + " record has no sequencer")
	}
	if r.Size < 0 {
		return fail("negative size")
	}
	return nil
}

// timeLayout is S3's eventTime: ISO-8601 UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Encode returns the message body S3 sends: {"Records":[...]} with the
// records in order, in AWS's field order and shape, without insignificant
// whitespace. It fails (ErrInvalidRecord) if any record fails Validate.
func Encode(records ...Record) ([]byte, error) {
	b := make([]byte, 0, 700*len(records)+16)
	b = append(b, `{"Records":[`...)
	for i := range records {
		if err := records[i].Validate(); err != nil {
			return nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = records[i].appendJSON(b)
	}
	b = append(b, "]}"...)
	return b, nil
}

// appendJSON writes one record. The member order is the one S3's
// content-structure page, the Lambda developer guide's example (seed 002)
// and aws-lambda-go's testdata share.
func (r *Record) appendJSON(b []byte) []byte {
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, r.Name.Version())
	b = append(b, `,"eventSource":"aws:s3","awsRegion":`...)
	b = appendString(b, r.Region)
	b = append(b, `,"eventTime":`...)
	b = appendString(b, r.Time.UTC().Format(timeLayout))
	b = append(b, `,"eventName":`...)
	b = appendString(b, r.Name.RecordName())
	b = append(b, `,"userIdentity":{"principalId":`...)
	b = appendString(b, r.PrincipalID)
	b = append(b, `},"requestParameters":{"sourceIPAddress":`...)
	b = appendString(b, r.SourceIP)
	b = append(b, `},"responseElements":{"x-amz-request-id":`...)
	b = appendString(b, r.RequestID)
	b = append(b, `,"x-amz-id-2":`...)
	b = appendString(b, r.HostID)
	b = append(b, `},"s3":{"s3SchemaVersion":"1.0","configurationId":`...)
	b = appendString(b, r.ConfigurationID)
	b = append(b, `,"bucket":{"name":`...)
	b = appendString(b, r.Bucket)
	b = append(b, `,"ownerIdentity":{"principalId":`...)
	b = appendString(b, r.BucketOwner)
	b = append(b, `},"arn":`...)
	b = appendString(b, "arn:aws:s3:::"+r.Bucket)
	b = append(b, `},"object":{"key":`...)
	b = appendString(b, EncodeKey(r.Key))
	size, etag, seq := r.Name.objectFields()
	if size {
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, r.Size, 10)
	}
	if etag {
		b = append(b, `,"eTag":`...)
		b = appendString(b, strings.Trim(r.ETag, `"`))
	}
	if r.VersionID != "" {
		b = append(b, `,"versionId":`...)
		b = appendString(b, r.VersionID)
	}
	if seq {
		b = append(b, `,"sequencer":`...)
		b = appendString(b, r.Sequencer)
	}
	return append(b, "}}}"...)
}

// appendString writes s as a JSON string the way AWS's JSON writers do:
// only '"', '\\' and control characters are escaped (encoding/json would
// also turn '<', '>' and '&' into \u003c..., which AWS does not), and
// invalid UTF-8 becomes U+FFFD so that the output is always valid JSON.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// TestMessage is the s3:TestEvent message S3 sends to queue and topic
// destinations when a configuration is saved (aws-facts.md section 5). It is
// flat: no Records wrapper.
type TestMessage struct {
	Bucket    string
	Time      time.Time
	RequestID string // the x-amz-request-id of the PUT ?notification
	HostID    string // the x-amz-id-2 of the PUT ?notification
}

// Encode writes the message in AWS's member order: Service, Event, Time,
// Bucket, RequestId, HostId.
func (m TestMessage) Encode() []byte {
	b := make([]byte, 0, 200)
	b = append(b, `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":`...)
	b = appendString(b, m.Time.UTC().Format(timeLayout))
	b = append(b, `,"Bucket":`...)
	b = appendString(b, m.Bucket)
	b = append(b, `,"RequestId":`...)
	b = appendString(b, m.RequestID)
	b = append(b, `,"HostId":`...)
	b = appendString(b, m.HostID)
	return append(b, '}')
}
