package object

import (
	"encoding/binary"
	"hash"
)

// crc64NVMESlicing holds the slicing-by-8 tables of CRC-64/NVME. Read
// only after initialisation.
//
// hash/crc64 uses slicing-by-8 only for its own ISO and ECMA tables; with
// any other table it goes byte by byte below 2 KiB and rebuilds the eight
// tables on every Write from 2 KiB up. CRC-64/NVME is the checksum S3 gives
// every object PUT without one, so every PUT pays it: byte by byte it was
// about 4 % of a small PUT's server CPU.
var crc64NVMESlicing = func() *[8][256]uint64 {
	var t [8][256]uint64
	t[0] = *crc64NVMETable
	for i := range 256 {
		crc := t[0][i]
		for k := 1; k < 8; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][i] = crc
		}
	}
	return &t
}()

// crc64NVME is hash.Hash64 for CRC-64/NVME, equal to
// crc64.New(crc64NVMETable) (checksum_test.go compares them).
type crc64NVME struct{ crc uint64 }

func newCRC64NVME() hash.Hash64 { return &crc64NVME{} }

func (d *crc64NVME) Size() int      { return 8 }
func (d *crc64NVME) BlockSize() int { return 1 }
func (d *crc64NVME) Reset()         { d.crc = 0 }
func (d *crc64NVME) Sum64() uint64  { return d.crc }

func (d *crc64NVME) Sum(in []byte) []byte {
	return binary.BigEndian.AppendUint64(in, d.crc)
}

func (d *crc64NVME) Write(p []byte) (int, error) {
	d.crc = updateCRC64NVME(d.crc, p)
	return len(p), nil
}

func updateCRC64NVME(crc uint64, p []byte) uint64 {
	t := crc64NVMESlicing
	crc = ^crc
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ crc>>8
	}
	return ^crc
}
