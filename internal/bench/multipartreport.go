package bench

import (
	"bytes"
	"fmt"
	"io"
)

// writeMultipartText is WriteText for a multipart run (issue 4).
func (r *Report) writeMultipartText(w io.Writer) error {
	var b bytes.Buffer
	r.writeHeader(&b)
	m := r.Multipart
	fmt.Fprintf(&b, "target: %s at %s, bucket %s\n", r.Target, r.Endpoint, r.Bucket)
	fmt.Fprintf(&b, "object: %s, generated and verified as it streams; parts sent with UNSIGNED-PAYLOAD\n\n", formatSize(m.Size))

	fmt.Fprintf(&b, "plain file in %s (%s)\n", m.Disk.Dir, "write + fsync; cp(1) + fsync of the copy; read of the copy")
	fmt.Fprintf(&b, "%-24s %10s %10s %10s\n", "MB/s", "before", "after", "mean")
	row := func(name string, f func(DiskCopy) float64) {
		fmt.Fprintf(&b, "%-24s %10.1f %10.1f %10.1f\n", name, f(m.DiskBefore), f(m.DiskAfter), f(m.Disk))
	}
	row("write + fsync", func(d DiskCopy) float64 { return d.WriteMBPerSecond })
	row("cp + fsync", func(d DiskCopy) float64 { return d.CpMBPerSecond })
	row("read", func(d DiskCopy) float64 { return d.ReadMBPerSecond })

	ratio := func(v, base float64) string {
		if base <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", v/base)
	}
	fmt.Fprintf(&b, "\n%-10s %9s %6s %6s %9s %11s %11s %8s\n", "upload", "part", "parts", "conc.", "MB/s", "part p50 ms", "part p99 ms", "x cp")
	for _, u := range m.Uploads {
		fmt.Fprintf(&b, "%-10s %9s %6d %6d %9.1f %11.1f %11.1f %8s%s\n", "multipart", formatSize(u.PartSize), u.Parts, u.Concurrency,
			u.MBPerSecond, u.PartP50Ms, u.PartP99Ms, ratio(u.MBPerSecond, m.Disk.CpMBPerSecond), errSuffix(u.Error))
	}
	fmt.Fprintf(&b, "\n%-10s %9s %6s %6s %9s %11s %11s %8s\n", "read", "range", "GETs", "conc.", "MB/s", "p50 ms", "p99 ms", "x read")
	for _, rd := range m.Reads {
		name, rng := "ranged", formatSize(rd.RangeSize)
		if rd.RangeSize == 0 {
			name, rng = "whole", "-"
		}
		fmt.Fprintf(&b, "%-10s %9s %6d %6d %9.1f %11.1f %11.1f %8s%s\n", name, rng, rd.Requests, rd.Concurrency,
			rd.MBPerSecond, rd.P50Ms, rd.P99Ms, ratio(rd.MBPerSecond, m.Disk.ReadMBPerSecond), errSuffix(rd.Error))
	}
	b.WriteString("x cp: upload MB/s over the mean cp + fsync MB/s; x read: over the mean read of the copied file\n")

	if h := m.Huge; h != nil {
		fmt.Fprintf(&b, "\nhuge: multipart upload of %s in %s parts @%d: %.1f MB/s%s\n", formatSize(h.Size), formatSize(h.PartSize), h.Concurrency, h.MBPerSecond, errSuffix(h.Error))
		if h.RSSSource == "" {
			b.WriteString("server RSS: not known (give --server-pid for an external server)\n")
		} else {
			fmt.Fprintf(&b, "server RSS (%s): before %s, peak during the upload %s, after %s; growth %s\n",
				h.RSSSource, formatBytes(h.RSSBeforeBytes), formatBytes(h.RSSPeakBytes), formatBytes(h.RSSAfterBytes), formatBytes(h.RSSGrowthBytes))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
