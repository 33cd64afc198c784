package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/table"
)

// The flags every program has (NewFlags adds them).
const (
	flagHelp    = "help"
	flagQuiet   = "quiet"
	flagVersion = "version"
)

// NewFlags is a program's flag set. doc is the program's doc.go (embedded
// with //go:embed): its package comment is the help text (see Help),
// which -h/--help prints on stdout with the flags before its "Examples:"
// paragraph. The set has -h/--help, -q/--quiet and --version besides the
// program's own flags; Parse acts on them. Messages of the parsing itself
// (a deprecated flag name) go to stderr.
func NewFlags(name, doc string, stdout, stderr io.Writer) *pflag.FlagSet {
	text, err := Help(doc, name)
	if err != nil {
		panic(err) // the program's doc.go is wrong: its tests say so
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() { fmt.Fprint(stdout, withFlags(text, flagList(fs))) }
	program, _, _ := strings.Cut(name, " ")
	fs.VarPF(&action{do: fs.Usage}, flagHelp, "h", "print this help on stdout and exit").NoOptDefVal = "true"
	fs.BoolP(flagQuiet, "q", false, "quiet: no progress, reports or warnings on stderr, only errors")
	fs.VarPF(&action{do: func() { fmt.Fprintln(stdout, Version(program)) }}, flagVersion, "", "print the version and commit on stdout and exit").NoOptDefVal = "true"
	return fs
}

// action is a boolean flag that Parse acts on (--help, --version): it
// prints on stdout and ends the run with status 0.
type action struct {
	set bool
	do  func()
}

func (a *action) String() string     { return strconv.FormatBool(a.set) }
func (a *action) Type() string       { return "bool" }
func (a *action) IsBoolFlag() bool   { return true }
func (a *action) Set(s string) error { v, err := strconv.ParseBool(s); a.set = v; return err }

// Parse parses args; a bad flag becomes a UsageError. --help and
// --version print on stdout and return pflag.ErrHelp (exit status 0).
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	for _, name := range []string{flagHelp, flagVersion} {
		if f := fs.Lookup(name); f != nil {
			if a, ok := f.Value.(*action); ok && a.set {
				a.do()
				return pflag.ErrHelp
			}
		}
	}
	return nil
}

// Stderr is where a program writes its progress, reports and warnings
// once its flags are parsed: stderr, or io.Discard itself under -q (so
// that a program can tell, e.g. to keep a child's output for its error
// message). Errors are returned, and Main prints them whatever -q says.
//
//	if err := cli.Parse(fs, args); err != nil {
//		return err
//	}
//	stderr = cli.Stderr(fs, stderr)
func Stderr(fs *pflag.FlagSet, stderr io.Writer) io.Writer {
	if q, err := fs.GetBool(flagQuiet); err != nil || !q {
		return stderr
	}
	if m, ok := stderr.(*messages); ok {
		m.quiet.Store(true) // Main's other notes (internal/outfile's) too
	}
	return io.Discard
}

// Renamed keeps old working as a deprecated spelling of the flag name
// (defined before): a use of it sets name and warns on the set's output
// that the old spelling goes in the next release. The old name is hidden
// from --help.
func Renamed(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("cli.Renamed: no flag --" + name)
	}
	spelling := "--" + name
	if f.Shorthand != "" {
		spelling = "-" + f.Shorthand + "/" + spelling
	}
	program, _, _ := strings.Cut(fs.Name(), " ")
	alias := fs.VarPF(&renamed{Value: f.Value, set: func(s string) error {
		fmt.Fprintf(fs.Output(), "%s: warning: --%s is now %s; the old name goes in the next release\n", program, old, spelling)
		err := fs.Set(name, s)
		if ive := (*pflag.InvalidValueError)(nil); errors.As(err, &ive) {
			return ive.Unwrap() // pflag names the flag as it was given
		}
		return err
	}}, old, "", "deprecated: "+spelling)
	alias.NoOptDefVal = f.NoOptDefVal
	alias.Hidden = true
}

// renamed is an old flag name that sets the new one.
type renamed struct {
	pflag.Value
	set func(string) error
}

func (r *renamed) Set(s string) error { return r.set(s) }

// Version is the program's version line: "facet-x VERSION (COMMIT)", with
// ", modified" after the commit when the build had uncommitted changes,
// from Go's build information (the main module's version, vcs.revision
// and vcs.modified, which go build stamps in a git checkout).
func Version(program string) string {
	bi, _ := debug.ReadBuildInfo() // nil without build information
	return version(program, bi)
}

func version(program string, bi *debug.BuildInfo) string {
	v, commit, modified := "devel", "unknown commit", false
	if bi != nil {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += ", modified"
	}
	return fmt.Sprintf("%s %s (%s)", program, v, commit)
}

// Help is the help text of name (a program, or a subcommand such as
// "facet-merge vote") in doc, the program's doc.go: the text of its
// package comment, a /* */ block, which godoc shows as the command's
// documentation. A program's text is the comment up to its first "# "
// heading; a subcommand's is the section under the heading "# NAME".
func Help(doc, name string) (string, error) {
	_, after, ok := strings.Cut(doc, "/*\n")
	comment, _, ok2 := strings.Cut(after, "\n*/")
	if !ok || !ok2 {
		return "", fmt.Errorf("%s: doc.go has no /* */ package comment", name)
	}
	var sections [][]string // [0]: before the first heading
	sections = append(sections, nil)
	for _, line := range strings.Split(comment, "\n") {
		if strings.HasPrefix(line, "# ") {
			sections = append(sections, nil)
		}
		sections[len(sections)-1] = append(sections[len(sections)-1], line)
	}
	var lines []string
	if !strings.Contains(name, " ") {
		lines = sections[0]
	} else {
		i := slices.IndexFunc(sections[1:], func(s []string) bool { return s[0] == "# "+name })
		if i < 0 {
			return "", fmt.Errorf("%s: doc.go has no heading %q", name, "# "+name)
		}
		lines = sections[i+1][1:]
	}
	text := strings.Trim(strings.Join(lines, "\n"), "\n")
	if text == "" {
		return "", fmt.Errorf("%s: doc.go has no help text", name)
	}
	return text + "\n", nil
}

// withFlags puts the flag list into a help text, before its "Examples:"
// paragraph (at the end when it has none).
func withFlags(text, flags string) string {
	list := "Flags:\n\n" + flags
	if before, after, ok := strings.Cut(text, "\nExamples:\n"); ok {
		return before + "\n" + list + "\nExamples:\n" + after
	}
	return text + "\n" + list
}

// flagList lists the program's own flags, then the common ones.
func flagList(fs *pflag.FlagSet) string {
	list := pflag.NewFlagSet(fs.Name(), pflag.ContinueOnError)
	list.SortFlags = false
	var common []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == flagHelp || f.Name == flagQuiet || f.Name == flagVersion {
			common = append(common, f)
			return
		}
		list.AddFlag(f)
	})
	for _, f := range common {
		list.AddFlag(f)
	}
	return list.FlagUsages()
}

// otherFileExts are extensions of the files facet reads and writes
// besides tables (table.FormatOfExt): text, images, charts, models. A
// folder flag given a file's name was meant for something else.
var otherFileExts = []string{
	".tsv", ".json", ".jsonl", ".txt",
	".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".svg", ".pdf",
	".safetensors", ".onnx",
}

// DirVar defines a folder flag (--out DIR): a value that names an
// existing file, or does not exist yet and ends in a file extension
// (.arrow, .parquet, .csv, .jpg, ...), is a usage error, so that
// --out folds.arrow does not quietly make a folder of that name.
func DirVar(fs *pflag.FlagSet, p *string, name, value, usage string) {
	*p = value
	fs.Var((*dirValue)(p), name, usage)
}

type dirValue string

func (d *dirValue) String() string { return string(*d) }
func (d *dirValue) Type() string   { return "DIR" }
func (d *dirValue) Set(s string) error {
	if err := CheckDir(s); err != nil {
		return err
	}
	*d = dirValue(s)
	return nil
}

// CheckDir returns an error when path cannot be meant as a folder: it is
// an existing file that is not a folder (or a link to one), or it does
// not exist and ends in a file extension.
func CheckDir(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s is a file, not a folder", path)
	case !errors.Is(err, os.ErrNotExist):
		return nil // the program's own error will say more when it uses it
	}
	ext := strings.ToLower(filepath.Ext(path))
	if _, isTable := table.FormatOfExt(ext); isTable || slices.Contains(otherFileExts, ext) {
		return fmt.Errorf("%s looks like a file (%s), not a folder", path, ext)
	}
	return nil
}

// InputTable is the table a program that reads one is given: its one
// argument, or "-" (standard input) without one; more is a usage error.
func InputTable(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "-", nil
	case 1:
		return args[0], nil
	}
	return "", Usagef("one TABLE at most, got %d", len(args))
}
