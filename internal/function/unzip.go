package function

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sluice/internal/storage"
)

// errUnpack marks a package that cannot be unpacked safely.
var errUnpack = errors.New("unsafe or unreadable package")

// unpack extracts the zip blob into root. It refuses what checkZip
// refuses (zip-slip paths, links, devices) again here, because a blob is
// trusted no more than an upload, and it counts the bytes actually
// written, not the sizes the zip declares, against MaxUnzippedSize. Files
// are created with O_EXCL and O_NOFOLLOW under directories this function
// made itself, so nothing is written through a link. Modes come from the
// zip's Unix attributes; a bootstrap from a zip made on another system
// (no Unix attributes) is made executable, as Lambda's tooling advises.
func unpack(b storage.Blob, root string) error {
	zr, err := zip.NewReader(b, b.Size())
	if err != nil {
		return fmt.Errorf("%w: %v", errUnpack, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	var total int64
	for _, f := range zr.File {
		if err := checkEntry(f); err != nil {
			return fmt.Errorf("%w: %v", errUnpack, err)
		}
		name := filepath.FromSlash(strings.TrimSuffix(f.Name, "/"))
		dst := filepath.Join(root, name)
		if rel, err := filepath.Rel(root, dst); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%w: entry %q leaves the package directory", errUnpack, f.Name)
		}
		if f.Mode().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := f.Mode().Perm() | 0o400
		if f.CreatorVersion>>8 != 3 { // not made on Unix: no mode bits to trust
			mode = 0o644
			if name == "bootstrap" {
				mode = 0o755
			}
		}
		n, err := writeEntry(f, dst, mode, MaxUnzippedSize-total)
		total += n
		if err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(f *zip.File, dst string, mode os.FileMode, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", errUnpack, f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, mode)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", errUnpack, f.Name, err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("%w: %s: %v", errUnpack, f.Name, err)
	}
	if n > budget {
		return n, fmt.Errorf("%w: unzipped size must be smaller than %d bytes", errUnpack, MaxUnzippedSize)
	}
	return n, nil
}
