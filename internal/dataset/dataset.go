// Package dataset reads face data sets from their own layouts into facet
// samples: the competition's train and eval folders, All-Age-Faces,
// UTKFace, one-folder-per-class image sets and plain CSV files.
//
// Loading never drops anything silently: every file or row that cannot
// become a sample is returned as a Problem with a reason, and hidden
// system files (._*, .DS_Store, Thumbs.db) are counted as Ignored.
package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// Kinds of data set, as written before the colon of a source spec.
const (
	KindCompetition = "competition"
	KindAAF         = "aaf"
	KindUTKFace     = "utkface"
	KindImageFolder = "imagefolder"
	KindCSV         = "csv"
)

// Kinds lists every kind, for help texts.
var Kinds = []string{KindCompetition, KindAAF, KindUTKFace, KindImageFolder, KindCSV}

// Reasons a file or row does not become a sample.
const (
	ReasonMissing     = "missing image"
	ReasonCount       = "wrong image count"
	ReasonDuplicate   = "duplicate image"
	ReasonFolderName  = "unparsable folder name"
	ReasonFileName    = "unparsable file name"
	ReasonStray       = "stray file"
	ReasonMismatch    = "csv and folder name disagree"
	ReasonBadRow      = "bad csv row"
	ReasonUnreadable  = "unreadable image"
	ReasonDuplicateID = "duplicate id"
)

// Problem is one file, folder or row that did not become a sample.
type Problem struct {
	Source string // the source spec it came from
	Item   string // the path, id or csv line concerned
	Reason string // one of the Reason constants
	Detail string // what exactly is wrong
}

func (p Problem) String() string {
	s := p.Item + ": " + p.Reason
	if p.Detail != "" {
		s += " (" + p.Detail + ")"
	}
	return s
}

// Result is what loading a source gives.
type Result struct {
	Samples  []table.Sample
	Problems []Problem
	Ignored  int // hidden system files skipped
}

func (r *Result) problem(src Source, item, reason, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Source: src.String(), Item: item, Reason: reason, Detail: fmt.Sprintf(format, args...)})
}

// Source is one data set to read: a kind, a path and, for imagefolder, the
// head its subfolders name.
type Source struct {
	Kind string
	Head label.Head // imagefolder only
	Path string
}

func (s Source) String() string {
	if s.Head != "" {
		return s.Kind + ":" + string(s.Head) + "=" + s.Path
	}
	return s.Kind + ":" + s.Path
}

// ParseSource reads a source spec: KIND:PATH, or imagefolder:HEAD=PATH
// where HEAD is mask, gender, age_group or label.
func ParseSource(spec string) (Source, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if !ok || path == "" {
		return Source{}, fmt.Errorf("source %q: want KIND:PATH with KIND one of %s", spec, strings.Join(Kinds, ", "))
	}
	src := Source{Kind: strings.ToLower(kind), Path: path}
	switch src.Kind {
	case KindCompetition, KindAAF, KindUTKFace, KindCSV:
	case KindImageFolder:
		head, p, ok := strings.Cut(path, "=")
		if !ok || p == "" {
			return Source{}, fmt.Errorf("source %q: want imagefolder:HEAD=PATH, e.g. imagefolder:mask=data/masks", spec)
		}
		src.Head, src.Path = label.Head(head), p
		switch src.Head {
		case label.HeadMask, label.HeadGender, label.HeadAgeGroup, label.HeadLabel:
		default:
			return Source{}, fmt.Errorf("source %q: imagefolder head %q is not one of mask, gender, age_group, label", spec, head)
		}
	default:
		return Source{}, fmt.Errorf("source %q: unknown kind %q (want one of %s)", spec, kind, strings.Join(Kinds, ", "))
	}
	return src, nil
}

// Load reads one source. Problems with single files or rows are in the
// result; the error is for a source that cannot be read at all.
func Load(src Source, bins label.Bins) (Result, error) {
	abs, err := filepath.Abs(src.Path)
	if err != nil {
		return Result{}, err
	}
	if _, err := os.Stat(abs); err != nil {
		return Result{}, fmt.Errorf("%s: %w", src, err)
	}
	var res Result
	switch src.Kind {
	case KindCompetition:
		err = loadCompetition(src, abs, bins, &res)
	case KindAAF:
		err = loadAAF(src, abs, bins, &res)
	case KindUTKFace:
		err = loadUTKFace(src, abs, bins, &res)
	case KindImageFolder:
		err = loadImageFolder(src, abs, bins, &res)
	case KindCSV:
		err = loadCSV(src, abs, bins, &res)
	default:
		err = fmt.Errorf("unknown kind %q", src.Kind)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", src, err)
	}
	return res, nil
}

// imageExts are the extensions read as images (lower case).
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".gif": true, ".webp": true}

// IsImageName reports whether a file name has an image extension.
func IsImageName(name string) bool { return imageExts[strings.ToLower(filepath.Ext(name))] }

// IsHidden reports system clutter that is never data: dot files (macOS
// ._ resource forks, .DS_Store) and Windows' Thumbs.db and desktop.ini.
func IsHidden(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	switch strings.ToLower(name) {
	case "thumbs.db", "desktop.ini":
		return true
	}
	return false
}

// walkFiles lists the regular files under root (recursively), as paths
// relative to root with forward slashes, sorted; hidden files and folders
// are counted in ignored.
func walkFiles(root string, ignored *int) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		if IsHidden(d.Name()) {
			*ignored++
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() || d.Type()&os.ModeSymlink != 0 {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
