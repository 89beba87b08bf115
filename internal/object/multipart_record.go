package object

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"

	"sluice/internal/storage"
)

// A multipart object's record (record.go, format 1) has no Blob and no
// inline bytes: its header counts its parts ("parts": N) and the bytes
// after the header are N segments, one per part in part order:
//
//	uvarint(len(blob id)), blob id, uvarint(offset), uvarint(length)
//
// Binary rather than JSON so that a 10,000-part record stays a few hundred
// kilobytes and decodes without reflection. A segment is bytes
// [offset, offset+length) of its blob; several segments may name one blob
// (parts copied from one source).
type segment struct {
	Blob   storage.BlobID
	Offset int64
	Length int64
}

func appendSegments(b []byte, segs []segment) []byte {
	for _, s := range segs {
		b = binary.AppendUvarint(b, uint64(len(s.Blob)))
		b = append(b, s.Blob...)
		b = binary.AppendUvarint(b, uint64(s.Offset))
		b = binary.AppendUvarint(b, uint64(s.Length))
	}
	return b
}

// decodeSegments reads n segments that must fill b exactly and add up to
// size bytes.
func decodeSegments(b []byte, n int, size int64) ([]segment, error) {
	if n > MaxPartNumber {
		return nil, fmt.Errorf("%w: %d parts", errBadRecord, n)
	}
	segs := make([]segment, 0, n)
	var total int64
	next := func() (uint64, bool) {
		v, w := binary.Uvarint(b)
		if w <= 0 {
			return 0, false
		}
		b = b[w:]
		return v, true
	}
	for range n {
		l, ok := next()
		if !ok || l > uint64(len(b)) {
			return nil, errBadRecord
		}
		id := storage.BlobID(b[:l])
		b = b[l:]
		off, ok1 := next()
		length, ok2 := next()
		if !ok1 || !ok2 || off > MaxPutSize*2 || length > MaxPartSize {
			return nil, errBadRecord
		}
		segs = append(segs, segment{Blob: id, Offset: int64(off), Length: int64(length)})
		total += int64(length)
	}
	if len(b) != 0 || total != size {
		return nil, fmt.Errorf("%w: parts hold %d bytes, header says %d", errBadRecord, total, size)
	}
	return segs, nil
}

// unrefRecord drops every blob reference the record holds as owner.
func unrefRecord(tx storage.Tx, rec *record, owner []byte) error {
	if rec.Blob != "" {
		return tx.UnrefBlob(rec.Blob, owner)
	}
	for _, s := range rec.Parts {
		if err := tx.UnrefBlob(s.Blob, owner); err != nil {
			return err
		}
	}
	return nil
}

// segmentOf returns the one blob segment that holds bytes [off, off+n) of
// the object, if there is one (never for an inline object).
func (r *record) segmentOf(off, n int64) (segment, bool) {
	if r.Blob != "" {
		return segment{Blob: r.Blob, Offset: off, Length: n}, true
	}
	var start int64
	for _, s := range r.Parts {
		end := start + s.Length
		if off >= start && off < end {
			if off+n > end {
				return segment{}, false
			}
			return segment{Blob: s.Blob, Offset: s.Offset + off - start, Length: n}, true
		}
		start = end
	}
	return segment{}, false
}

// openRange returns a reader of bytes [off, off+n) of the record's object,
// already clamped to its size. A multipart object's blobs are opened one
// at a time as the reader reaches them, so memory and open files do not
// grow with the number of parts; the first is opened here, so that a blob
// missing at once is reported now (GetObject retries that case).
func (s *Service) openRange(rec *record, off, n int64) (io.ReadCloser, error) {
	switch {
	case rec.Blob == "" && len(rec.Parts) == 0:
		return io.NopCloser(bytes.NewReader(rec.Inline[off : off+n])), nil
	case rec.Blob != "":
		b, err := s.blobs.Open(rec.Blob)
		if err != nil {
			return nil, fmt.Errorf("open blob %s: %w", rec.Blob, err)
		}
		return &blobReader{SectionReader: io.NewSectionReader(b, off, n), blob: b}, nil
	}
	pr := &partsReader{blobs: s.blobs, segs: rec.Parts, off: off, left: n}
	if err := pr.openNext(); err != nil {
		return nil, err
	}
	return pr, nil
}

// partsReader reads a range of a multipart object across its segments.
type partsReader struct {
	blobs storage.Blobs
	segs  []segment
	off   int64 // object offset of the next byte to read
	left  int64 // bytes still to read
	cur   storage.Blob
	sec   *io.SectionReader
}

// openNext opens the segment holding off (nothing when no byte is left).
func (p *partsReader) openNext() error {
	if p.left == 0 {
		return nil
	}
	var start int64
	for _, s := range p.segs {
		end := start + s.Length
		if p.off < end {
			b, err := p.blobs.Open(s.Blob)
			if err != nil {
				return fmt.Errorf("open blob %s: %w", s.Blob, err)
			}
			p.cur = b
			p.sec = io.NewSectionReader(b, s.Offset+p.off-start, min(end-p.off, p.left))
			return nil
		}
		start = end
	}
	return fmt.Errorf("%w: range beyond the parts", errBadRecord)
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.left == 0 {
			return 0, io.EOF
		}
		if p.sec == nil {
			if err := p.openNext(); err != nil {
				return 0, err
			}
		}
		n, err := p.sec.Read(b)
		p.off += int64(n)
		p.left -= int64(n)
		if err == io.EOF {
			p.cur.Close()
			p.cur, p.sec = nil, nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (p *partsReader) Close() error {
	if p.cur == nil {
		return nil
	}
	err := p.cur.Close()
	p.cur, p.sec = nil, nil
	return err
}

// decodeChecksum returns the raw digest of a stored checksum.
func decodeChecksum(c Checksum) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(c.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: checksum %q", errBadRecord, c.Value)
	}
	return b, nil
}

// crcValue reads a big-endian CRC digest (4 or 8 bytes).
func crcValue(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// encodeCRC is the base64 of a CRC in its algorithm's width.
func encodeCRC(alg ChecksumAlgorithm, v uint64) string {
	w := crcWidth(alg) / 8
	b := make([]byte, w)
	for i := w - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return base64.StdEncoding.EncodeToString(b)
}

func crcWidth(alg ChecksumAlgorithm) int {
	if alg == CRC64NVME {
		return 64
	}
	return 32
}

// crcPoly is the reflected polynomial of a CRC algorithm (as hash/crc32
// and hash/crc64 take it; see checksum.go).
func crcPoly(alg ChecksumAlgorithm) uint64 {
	switch alg {
	case CRC32:
		return 0xedb88320
	case CRC32C:
		return 0x82f63b78
	}
	return 0x9a6c9329ac4bc9b5
}

// combineCRC returns the CRC of A||B from crcA, crcB and len(B): S3's
// FULL_OBJECT checksum of a multipart object, made from its parts' CRCs
// without reading a byte. With first, crcB is the first part's CRC and is
// returned as it is. The method is zlib's crc32_combine (multiply crcA by
// x^(8*lenB) modulo the polynomial, then add crcB), which holds for every
// reflected CRC whose initial value equals its final XOR, as CRC32,
// CRC32C and CRC64NVME's do.
func combineCRC(alg ChecksumAlgorithm, crcA, crcB uint64, lenB int64, first bool) uint64 {
	if first {
		return crcB
	}
	w, poly := crcWidth(alg), crcPoly(alg)
	top := uint64(1) << (w - 1)
	mult := func(a, b uint64) uint64 { // a*b mod poly, reflected
		var p uint64
		for m := top; m != 0; m >>= 1 {
			if a&m != 0 {
				p ^= b
			}
			if b&1 != 0 {
				b = b>>1 ^ poly
			} else {
				b >>= 1
			}
		}
		return p
	}
	// x^(8*lenB) by squaring: sq holds x^(2^k), starting at x^8.
	xn := top // x^0
	sq := top >> 8
	for n := uint64(lenB); n != 0; n >>= 1 {
		if n&1 != 0 {
			xn = mult(sq, xn)
		}
		sq = mult(sq, sq)
	}
	return mult(xn, crcA) ^ crcB
}

// refRecord records owner's reference to every blob the record holds.
func refRecord(tx storage.Tx, rec *record, owner []byte) error {
	if rec.Blob != "" {
		return tx.RefBlob(rec.Blob, owner)
	}
	for _, s := range rec.Parts {
		if err := tx.RefBlob(s.Blob, owner); err != nil {
			return err
		}
	}
	return nil
}
