// Package dataset reads face data sets from their own layouts into facet
// samples: the competition's train and eval folders, All-Age-Faces,
// UTKFace, one-folder-per-class image sets, plain CSV files and tables of
// annotated face boxes.
//
// Loading never drops anything silently: every file or row that cannot
// become a sample is returned as a Problem with a reason, and hidden
// system files (._*, .DS_Store, Thumbs.db) are counted as Ignored.
package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

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
	KindBoxes       = "boxes"
)

// Kinds lists every kind, for help texts.
var Kinds = []string{KindCompetition, KindAAF, KindUTKFace, KindImageFolder, KindCSV, KindBoxes}

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
	ReasonUnsafeID    = "unsafe id"
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
	Ignored  int      // hidden system files skipped
	Outputs  []string // facet output folders skipped (see WalkFiles)
}

func (r *Result) problem(src Source, item, reason, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Source: src.String(), Item: item, Reason: reason, Detail: fmt.Sprintf(format, args...)})
}

// Source is one data set to read: a kind, a path, for imagefolder the
// head its subfolders name, and optionally a name of its own.
type Source struct {
	Name string // "" for the kind's own; else the source column and the head of ids and persons
	Kind string
	Head label.Head // imagefolder only
	Path string
}

func (s Source) String() string {
	spec := s.Kind + ":" + s.Path
	if s.Head != "" {
		spec = s.Kind + ":" + string(s.Head) + "=" + s.Path
	}
	if s.Name != "" {
		spec = s.Name + "=" + spec
	}
	return spec
}

// maxNameLen bounds a source name.
const maxNameLen = 64

// ParseSource reads a source spec: [NAME=]KIND:PATH, or
// [NAME=]imagefolder:HEAD=PATH where HEAD is mask, gender, age_group or
// label. A NAME is an "=" before the first ":" (so the "=" of
// imagefolder:mask=DIR, after the colon, is the head's): letters, digits,
// '.', '_' and '-', starting with a letter or digit, and not a kind.
func ParseSource(spec string) (Source, error) {
	var name string
	if colon, eq := strings.Index(spec, ":"), strings.Index(spec, "="); eq >= 0 && (colon < 0 || eq < colon) {
		name, spec = spec[:eq], spec[eq+1:]
		if err := checkName(name); err != nil {
			return Source{}, fmt.Errorf("source %q: %w", name+"="+spec, err)
		}
	}
	kind, path, ok := strings.Cut(spec, ":")
	if !ok || path == "" {
		return Source{}, fmt.Errorf("source %q: want [NAME=]KIND:PATH with KIND one of %s", spec, strings.Join(Kinds, ", "))
	}
	src := Source{Name: name, Kind: strings.ToLower(kind), Path: path}
	switch src.Kind {
	case KindCompetition, KindAAF, KindUTKFace, KindCSV, KindBoxes:
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

// checkName accepts a source name: it becomes a path segment of ids (and
// so of crop files), hence no separators, and it must not pass for a kind.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name before '=' (want NAME=KIND:PATH, e.g. more=utkface:faces/more)")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("name of %d bytes, want at most %d", len(name), maxNameLen)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("name %q: want letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	if slices.Contains(Kinds, strings.ToLower(name)) {
		return fmt.Errorf("name %q is a kind: pick another, or give KIND:PATH alone", name)
	}
	return nil
}

// rename gives the samples of a named source their name: in the source
// column, and at the head of ids and persons, where it takes the place of
// the kind (utkface/x.jpg becomes NAME/x.jpg) or, for ids without it
// (competition, csv), goes in front. So two sources with the same file
// names keep distinct ids as long as their names differ.
func rename(src Source, samples []table.Sample) {
	if src.Name == "" {
		return
	}
	head := func(s string) string {
		if rest, ok := strings.CutPrefix(s, src.Kind+"/"); ok {
			return src.Name + "/" + rest
		}
		return src.Name + "/" + s
	}
	for i := range samples {
		s := &samples[i]
		s.Source, s.ID, s.Person = src.Name, head(s.ID), head(s.Person)
	}
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
	case KindBoxes:
		err = loadBoxes(src, abs, bins, &res)
	default:
		err = fmt.Errorf("unknown kind %q", src.Kind)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", src, err)
	}
	rename(src, res.Samples)
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

// Walk is what WalkFiles found under a folder.
type Walk struct {
	Files    []string // regular files (and links), relative to the folder with forward slashes, sorted
	Ignored  int      // hidden system files and folders skipped
	BadNames []string // files and folders whose names are not UTF-8, relative, escaped (EscapeName); left out
	Outputs  []string // folders holding a facet output mark (IsOutput), relative; left out
}

// WalkFiles lists the files under root (recursively) that can become
// rows. It leaves out hidden files and folders (IsHidden), folders a
// facet program writes its output to (a crop folder inside the photos'
// folder must not be read as more photos on the next run), and names
// that are not valid UTF-8, which ids and paths, utf8 columns, cannot
// hold.
func WalkFiles(root string) (Walk, error) {
	var w Walk
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		skip := func() error {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case IsHidden(d.Name()):
			w.Ignored++
			return skip()
		case !utf8.ValidString(d.Name()):
			w.BadNames = append(w.BadNames, EscapeName(rel))
			return skip()
		case d.IsDir() && IsOutput(path):
			w.Outputs = append(w.Outputs, rel)
			return filepath.SkipDir
		}
		if d.Type().IsRegular() || d.Type()&os.ModeSymlink != 0 {
			w.Files = append(w.Files, rel)
		}
		return nil
	})
	sort.Strings(w.Files)
	return w, err
}

// walkFiles is WalkFiles for a loader: what it leaves out goes into res
// (hidden files counted, bad names as problems, output folders listed).
func walkFiles(src Source, root string, res *Result) ([]string, error) {
	w, err := WalkFiles(root)
	res.Ignored += w.Ignored
	for _, name := range w.BadNames {
		res.problem(src, name, ReasonFileName, "%s", notUTF8)
	}
	res.Outputs = append(res.Outputs, w.Outputs...)
	return w.Files, err
}

// notUTF8 is the detail of a problem with a name that is not UTF-8.
const notUTF8 = "the name is not valid UTF-8 (shown with its bytes escaped): rename it"

// EscapeName writes a file name that may not be UTF-8 so it can be shown
// and stored as text: as Go quotes a string, without the quotes (a byte
// 0xff reads \xff), which strconv.Unquote reverses.
func EscapeName(name string) string {
	q := strconv.Quote(name)
	return q[1 : len(q)-1]
}
