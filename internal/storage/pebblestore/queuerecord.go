package pebblestore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

// Message records are written in a binary form (encodeMsg) since the JSON
// of msgRecord cost a base64 encode of the body on every enqueue and a
// decode plus an encode on every lease: with SendMessage and
// ReceiveMessage of 1 KiB messages, a fifth of the server's CPU was
// encoding/json. Records written before, JSON, start with '{' and are
// still read (decodeMsg tells the two apart by the first byte); a record
// is rewritten in the binary form the next time it is written (a lease,
// Extend or Move).
//
// The form, after the format byte msgFormatV1:
//
//	uvarint len, ID; uvarint len, Body; uvarint n, then n times
//	(uvarint len, key; uvarint len, value) for Attributes, in no order;
//	byte flags (bit i set when time i of EnqueuedAt, VisibleAt, FirstLeased
//	is set); then varint unix nanos
//	of EnqueuedAt, VisibleAt, FirstLeased for each one set;
//	uvarint ReceiveCount; uvarint Gen.
//
// Times are UTC on the way out, as JSON gave them.
const msgFormatV1 = 0x01

var errBadRecord = errors.New("malformed message record")

// encodeMsg returns rec's binary record.
func encodeMsg(rec *msgRecord) []byte {
	n := 1 + 3*binary.MaxVarintLen64 + len(rec.ID) + len(rec.Body) + 1 + 3*binary.MaxVarintLen64 + 2*binary.MaxVarintLen64
	for k, v := range rec.Attributes {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, msgFormatV1)
	b = appendString(b, rec.ID)
	b = binary.AppendUvarint(b, uint64(len(rec.Body)))
	b = append(b, rec.Body...)
	b = binary.AppendUvarint(b, uint64(len(rec.Attributes)))
	for k, v := range rec.Attributes {
		b = appendString(b, k)
		b = appendString(b, v)
	}
	var flags byte
	times := [3]time.Time{rec.EnqueuedAt, rec.VisibleAt, rec.FirstLeased}
	for i, t := range times {
		if !t.IsZero() {
			flags |= 1 << i
		}
	}
	b = append(b, flags)
	for _, t := range times {
		if !t.IsZero() {
			b = binary.AppendVarint(b, t.UnixNano())
		}
	}
	b = binary.AppendUvarint(b, uint64(rec.ReceiveCount))
	b = binary.AppendUvarint(b, rec.Gen)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeMsg decodes a record of either form into rec. Nothing in rec
// refers to v afterwards (Pebble's values live only until their closer).
func decodeMsg(v []byte, rec *msgRecord) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, rec)
	}
	if len(v) == 0 || v[0] != msgFormatV1 {
		return errBadRecord
	}
	d := msgDecoder{b: v[1:]}
	*rec = msgRecord{}
	rec.ID = string(d.bytes())
	if body := d.bytes(); len(body) > 0 {
		rec.Body = append([]byte(nil), body...)
	}
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) { // each pair takes two bytes at least
			return errBadRecord
		}
		rec.Attributes = make(map[string]string, n)
		for range n {
			k := string(d.bytes())
			rec.Attributes[k] = string(d.bytes())
		}
	}
	flags := d.byte()
	for i, t := range [3]*time.Time{&rec.EnqueuedAt, &rec.VisibleAt, &rec.FirstLeased} {
		if flags&(1<<i) != 0 {
			*t = time.Unix(0, d.varint()).UTC()
		}
	}
	rec.ReceiveCount = int(d.uvarint())
	rec.Gen = d.uvarint()
	if d.err != nil || len(d.b) != 0 || flags>>3 != 0 {
		return errBadRecord
	}
	return nil
}

// msgDecoder reads the binary form; the first error sticks and later
// reads return zero values.
type msgDecoder struct {
	b   []byte
	err error
}

func (d *msgDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *msgDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *msgDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errBadRecord
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *msgDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errBadRecord
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
