package table

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// CheckID says whether id can name a file under an output folder, as
// facet-crop and facet-augment name their images by id: a relative,
// slash-separated path without empty, "." or ".." segments, backslashes
// or control characters. facet-prep leaves out rows whose id fails it, so
// a table it writes never holds an id a later stage refuses.
func CheckID(id string) error {
	if id == "" {
		return errors.New("empty id")
	}
	if strings.ContainsAny(id, "\\\x00") || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("id %q has a backslash or control character: refusing it as a path", id)
	}
	for _, seg := range strings.Split(id, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("id %q would escape the output folder: refusing it as a path", id)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(id)) {
		return fmt.Errorf("id %q would escape the output folder: refusing it as a path", id)
	}
	return nil
}
