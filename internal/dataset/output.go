package dataset

import (
	"fmt"
	"os"
	"path/filepath"
)

// OutputMark is the file a facet program leaves in a folder it writes
// images to (facet-crop's --out). Folder scans (WalkFiles: facet-prep's
// aaf, utkface and imagefolder sources, facet-crop --in) skip a folder
// holding it, so crops written inside the photos' folder are never read
// back as photos, and never cropped again on the next run. Being a dot
// file, the mark is itself hidden from every scan.
const OutputMark = ".facet-output"

// MarkOutput creates dir if needed and marks it as program's output. An
// existing mark is left as it is; a new one is created exclusively, so
// no link planted in its place is followed.
func MarkOutput(dir, program string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if IsOutput(dir) {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, OutputMark), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s writes here; facet-prep and facet-crop --in skip this folder\n", program)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// IsOutput reports whether dir holds an OutputMark.
func IsOutput(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, OutputMark))
	return err == nil
}
