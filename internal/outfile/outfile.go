// Package outfile is the one way every facet program writes a file: a
// streaming writer that never leaves half a file under the final name and
// never destroys what it should not replace.
//
// The rules, for every file a program writes:
//
//   - A regular file (or a name that does not exist yet) is written to a
//     temporary file in the same folder and renamed into place by Commit;
//     Abort, or any error, removes the temporary file and leaves an earlier
//     file of that name as it was.
//   - A FIFO, a character device (a terminal, a null device) or a Unix
//     socket is written to directly and never replaced: its reader gets
//     the bytes as they come.
//   - A symbolic link is followed only when it leads to such a special
//     file (/dev/stdout, /dev/fd/N, a process substitution); a link to a
//     regular file, a folder or nothing is refused, as writing would
//     replace the link or the file it points to. A block device or a
//     folder is refused too.
//   - Files written in a program's output folder (Dir) never leave it:
//     every name is resolved inside the folder (os.Root), so no symbolic
//     link in it leads a write outside.
//   - Temporary files are named .NAME.facet-tmp-PID-RANDOM. A file of that
//     pattern older than the running program, whose process is gone, was
//     left by a killed run: the program removes it from the folders it
//     writes and says so on stderr.
//
// Every failure to write is an *Error: the machine's (space, permissions,
// I/O), never the data's, so a stage can tell it from a bad row.
package outfile

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Error is a failure to write an output file.
type Error struct {
	Path string // the file as the program names it
	Err  error  // the cause, without the temporary name
}

func (e *Error) Error() string { return "writing " + e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// IsError reports whether err is (or wraps) a failure to write an output.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// fail makes an *Error naming path, dropping the temporary name an
// *fs.PathError or *os.LinkError carries (the user never sees that file).
func fail(path string, err error) error {
	if e := (*Error)(nil); errors.As(err, &e) {
		return err
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &Error{Path: path, Err: err}
}

// tempMarker is in the name of every temporary file this package makes.
const tempMarker = ".facet-tmp-"

// maxBase bounds the part of the final name a temporary name repeats, so
// the temporary name stays within the 255 bytes a file name may have.
const maxBase = 160

// tempPrefix is how every temporary file of the final name base begins.
func tempPrefix(base string) string {
	if len(base) > maxBase {
		base = base[:maxBase]
	}
	return "." + base + tempMarker
}

// tempName is a fresh temporary name for base: the process number (so a
// later run can tell whether its writer is gone) and a random part (the
// runtime's auto-seeded source: it shapes no result, only a name).
func tempName(base string) string {
	return tempPrefix(base) + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()&0xffffffff, 16)
}

// started is when this program started (near enough: when the package
// was initialised). A temporary file older than that is not this run's.
var started = time.Now()

// logMu guards logf.
var (
	logMu sync.Mutex
	logf  = func(msg string) { fmt.Fprintf(os.Stderr, "%s: %s\n", filepath.Base(os.Args[0]), msg) }
)

// SetLog sets where the package's notes (stale temporary files removed)
// go: cli.Main sends them to stderr as "facet-x: ...".
func SetLog(f func(msg string)) {
	logMu.Lock()
	defer logMu.Unlock()
	logf = f
}

func note(format string, args ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	logf(fmt.Sprintf(format, args...))
}

// File is one output file being written. Write streams to it; Commit puts
// it in place; Abort drops it. Abort after Commit does nothing, so it can
// be deferred.
type File struct {
	path    string   // as named to the user
	root    *os.Root // the folder names are resolved in
	ownRoot bool     // close root when done
	name    string   // the final name inside root
	tmp     string   // the temporary name inside root; "" when written directly
	w       io.WriteCloser
	f       *os.File // w when it is a file (nil for a socket)
	sync    bool     // fsync before the rename
	perm    fs.FileMode
	err     error // the first write error
	done    bool
}

// Create starts the file at path. The folder must exist. A regular file
// is synced to disk before Commit renames it into place.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" || base == "." || base == ".." {
		return nil, &Error{Path: path, Err: errors.New("not a file name")}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fail(path, err)
	}
	sweep(root, dir, ".", tempPrefix(base))
	f, err := create(root, base, path, true)
	if err != nil {
		root.Close()
		return nil, err
	}
	f.ownRoot, f.sync = true, true
	return f, nil
}

// create starts name inside root (path is its name for the user). With
// outside, a symbolic link may lead out of root to a special file (a
// name the user gave); without, every name stays inside root.
func create(root *os.Root, name, path string, outside bool) (*File, error) {
	f := &File{path: path, root: root, name: name, perm: 0o644}
	fi, err := root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, f.openTemp()
	case err != nil:
		return nil, fail(path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		var target fs.FileInfo
		if outside {
			target, err = os.Stat(path)
		} else {
			target, err = root.Stat(name)
		}
		if err != nil || !special(target.Mode()) {
			what := "a regular file"
			switch {
			case err != nil && !outside && !errors.Is(err, fs.ErrNotExist):
				what = "a place outside the output folder"
			case err != nil:
				what = "nothing"
			case target.IsDir():
				what = "a folder"
			case !target.Mode().IsRegular():
				what = "a " + kind(target.Mode())
			}
			hint := "name the file itself"
			if outside {
				hint += "; -o - writes to stdout"
			}
			return nil, &Error{Path: path, Err: fmt.Errorf("it is a symbolic link to %s: refusing to replace the link or write through it (%s)", what, hint)}
		}
		fi = target
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		f.perm = m.Perm()
		return f, f.openTemp()
	case special(m):
		return f, f.openDirect(m, outside)
	case m.IsDir():
		return nil, &Error{Path: path, Err: errors.New("it is a folder")}
	default:
		return nil, &Error{Path: path, Err: fmt.Errorf("it is a %s: refusing to write over it", kind(m))}
	}
}

// special reports whether m is a file written to directly.
func special(m fs.FileMode) bool {
	return m&fs.ModeNamedPipe != 0 || m&fs.ModeSocket != 0 || (m&fs.ModeCharDevice != 0 && m&fs.ModeDevice != 0)
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m.IsDir():
		return "folder"
	case m.IsRegular():
		return "regular file"
	}
	return "special file (" + m.Type().String() + ")"
}

func (f *File) openTemp() error {
	tmp := filepath.Join(filepath.Dir(f.name), tempName(filepath.Base(f.name)))
	fh, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.perm)
	if err != nil {
		return fail(f.path, err)
	}
	if err := track(f.tempPath(tmp)); err != nil {
		fh.Close()
		return fail(f.path, err)
	}
	f.tmp, f.w, f.f = tmp, fh, fh
	return nil
}

// tempPath is the temporary file's path outside the root, for Interrupt.
func (f *File) tempPath(tmp string) string { return filepath.Join(f.root.Name(), tmp) }

// openDirect opens a FIFO, character device or socket for writing. A FIFO
// waits for its reader, as a shell redirection does.
func (f *File) openDirect(m fs.FileMode, outside bool) error {
	if m&fs.ModeSocket != 0 {
		addr := filepath.Join(f.root.Name(), f.name)
		if outside {
			addr = f.path
		}
		c, err := net.Dial("unix", addr)
		if err != nil {
			return fail(f.path, err)
		}
		f.w = c
		return nil
	}
	var fh *os.File
	var err error
	if outside {
		fh, err = os.OpenFile(f.path, os.O_WRONLY, 0)
	} else {
		fh, err = f.root.OpenFile(f.name, os.O_WRONLY, 0)
	}
	if err != nil {
		return fail(f.path, err)
	}
	f.w, f.f = fh, fh
	return nil
}

// Name is the file's path as the program named it.
func (f *File) Name() string { return f.path }

// direct reports whether the file is a special file written in place
// (no temporary file, nothing to undo on Abort).
func (f *File) direct() bool { return f.tmp == "" }

// Fd is the descriptor written to, or nil for a socket (to ask whether
// it is a terminal).
func (f *File) Fd() *os.File { return f.f }

func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.w.Write(p)
	if err != nil {
		f.err = fail(f.path, err)
		return n, f.err
	}
	return n, nil
}

// Commit finishes the file: a temporary file is synced (for Create) and
// renamed to the final name; a special file is closed.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	if f.err != nil {
		f.Abort()
		return f.err
	}
	f.done = true
	defer f.closeRoot()
	if f.tmp == "" {
		if err := f.w.Close(); err != nil {
			return fail(f.path, err)
		}
		return nil
	}
	var err error
	if f.sync {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = committing(func() error { return f.root.Rename(f.tmp, f.name) })
	}
	if err != nil {
		f.root.Remove(f.tmp)
	}
	untrack(f.tempPath(f.tmp))
	if err != nil {
		return fail(f.path, err)
	}
	return nil
}

// Abort drops an uncommitted file: the temporary file is removed (an
// earlier file of the name stays as it was); a special file is closed
// (what went out is its reader's; an Arrow table without its end marker
// tells the reader it is cut).
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.w.Close()
	if f.tmp != "" {
		f.root.Remove(f.tmp)
		untrack(f.tempPath(f.tmp))
	}
	f.closeRoot()
}

func (f *File) closeRoot() {
	if f.ownRoot {
		f.root.Close()
	}
}

// WriteFile writes data to path, as Create and Commit do, creating the
// folders above it.
func WriteFile(path string, data []byte) error {
	return WriteWith(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// WriteWith writes what write streams to path, creating the folders above
// it; nothing is put in place when write fails.
func WriteWith(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(path, err)
		}
	}
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// WritePNG encodes img as PNG to path, as WriteWith does.
func WritePNG(path string, img image.Image) error {
	return WriteWith(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// Dir is a program's output folder (facet-crop's and facet-augment's
// --out): files are written under it by relative names that never lead
// out of it, with the rules of the package. It is safe for concurrent use.
type Dir struct {
	path  string
	root  *os.Root
	mu    sync.Mutex
	swept map[string]*sync.Once
}

// OpenDir opens the output folder path, creating it when missing.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fail(path, err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fail(path, err)
	}
	return &Dir{path: path, root: root, swept: map[string]*sync.Once{}}, nil
}

// Path is the path of rel under the folder, as it appears in tables.
func (d *Dir) Path(rel string) string { return filepath.Join(d.path, rel) }

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// Create starts the file rel (a relative path, slash or not) in the
// folder, creating the folders between. It is not synced before its
// rename: these are many files a rerun (--resume) can make again.
func (d *Dir) Create(rel string) (*File, error) {
	rel = filepath.Clean(filepath.FromSlash(rel))
	path := d.Path(rel)
	if !filepath.IsLocal(rel) {
		return nil, &Error{Path: path, Err: errors.New("the name leads out of the output folder")}
	}
	sub := filepath.Dir(rel)
	if sub != "." {
		if err := d.root.MkdirAll(sub, 0o755); err != nil {
			return nil, fail(path, err)
		}
	}
	d.sweepOnce(sub)
	return create(d.root, rel, path, false)
}

// WriteFile writes data to rel in the folder.
func (d *Dir) WriteFile(rel string, data []byte) error {
	f, err := d.Create(rel)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// sweepOnce removes the stale temporary files of the folder sub (inside
// the root), the first time the program writes there.
func (d *Dir) sweepOnce(sub string) {
	d.mu.Lock()
	once, ok := d.swept[sub]
	if !ok {
		once = new(sync.Once)
		d.swept[sub] = once
	}
	d.mu.Unlock()
	once.Do(func() { sweep(d.root, d.Path(sub), sub, "") })
}

// sweepDir removes the stale temporary files and folders of name (all the
// names this package makes, for "") in dir: for a program that writes a
// whole set of files there (facet-split's fold set).
func sweepDir(dir, name string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return
	}
	defer root.Close()
	prefix := ""
	if name != "" {
		prefix = tempPrefix(name)
	}
	sweep(root, dir, ".", prefix)
}

// sweep removes, from the folder sub of root (shown as dir), the
// temporary files (and folders) whose names begin with prefix (any
// temporary name for "") that were left by a run now gone: older than this
// program, made by a process that no longer runs (or had this process's
// number before it). It says how many it removed; it never fails a run.
func sweep(root *os.Root, dir, sub, prefix string) {
	d, err := root.Open(sub)
	if err != nil {
		return
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		if prefix != "" && !strings.HasPrefix(name, prefix) {
			continue
		}
		if !stale(name, e) {
			continue
		}
		if root.RemoveAll(filepath.Join(sub, name)) == nil {
			removed++
		}
	}
	if removed > 0 {
		note("removed %d temporary file(s) in %s left by an interrupted run", removed, dir)
	}
}

// stale reports whether the entry is a temporary file of a run now gone.
func stale(name string, e fs.DirEntry) bool {
	i := strings.LastIndex(name, tempMarker)
	if i < 1 || name[0] != '.' {
		return false
	}
	pidStr, _, ok := strings.Cut(name[i+len(tempMarker):], "-")
	pid, err := strconv.Atoi(pidStr)
	if !ok || err != nil || pid <= 0 {
		return false
	}
	info, err := e.Info()
	if err != nil || !info.ModTime().Before(started) {
		return false
	}
	return pid == os.Getpid() || !alive(pid)
}

// alive reports whether a process with this number runs (one we may not
// signal runs too).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// tempDir makes a temporary folder for the set of files name (e.g. a
// fold set) inside dir, under the package's temporary pattern, so a run
// killed while filling it has it removed by the next (sweepDir).
func tempDir(dir, name string) (string, error) {
	for range 10 {
		p := filepath.Join(dir, tempName(name))
		err := os.Mkdir(p, 0o755)
		if err == nil {
			if err := track(p); err != nil {
				return "", fail(filepath.Join(dir, name), err)
			}
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fail(filepath.Join(dir, name), err)
		}
	}
	return "", &Error{Path: filepath.Join(dir, name), Err: errors.New("no free temporary name")}
}

// Set is a group of files in one folder that appear together (facet-split's
// fold set): each is written into a temporary folder inside dir, and
// Commit moves them all into place, the one named last at the end. A run
// that fails before Commit (a full disk) leaves the earlier set as it was.
type Set struct {
	dir, tmp string
	names    []string
	done     bool
}

// CreateSet starts a set of files in dir (created when missing); name
// names the set in its temporary folder (.NAME.facet-tmp-...).
func CreateSet(dir, name string) (*Set, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fail(dir, err)
	}
	sweepDir(dir, name)
	tmp, err := tempDir(dir, name)
	if err != nil {
		return nil, err
	}
	return &Set{dir: dir, tmp: tmp}, nil
}

// Create starts the file name of the set (a plain name, no folders).
func (s *Set) Create(name string) (*File, error) {
	if name != filepath.Base(name) || name == "." || name == ".." {
		return nil, &Error{Path: filepath.Join(s.dir, name), Err: errors.New("a set holds plain file names")}
	}
	f, err := Create(filepath.Join(s.tmp, name))
	if e := (*Error)(nil); errors.As(err, &e) {
		return nil, &Error{Path: filepath.Join(s.dir, name), Err: e.Err}
	}
	f.path = filepath.Join(s.dir, name)
	s.names = append(s.names, name)
	return f, nil
}

// Commit puts the set in place: the earlier file named last is removed
// first (a reader finds no set rather than old and new files mixed), the
// other files are renamed into dir, the names in gone (files of the
// earlier set the new one lacks) are removed, and last comes in at the
// end. Every final name must be free or a regular file; a symbolic link
// or special file among them is refused before anything moves.
func (s *Set) Commit(last string, gone []string) error {
	if s.done {
		return nil
	}
	defer s.Abort()
	for _, name := range append(append([]string(nil), s.names...), gone...) {
		path := filepath.Join(s.dir, name)
		if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
			return &Error{Path: path, Err: fmt.Errorf("it is a %s: refusing to replace it", kind(fi.Mode()))}
		}
	}
	move := func(name string) error {
		if err := os.Rename(filepath.Join(s.tmp, name), filepath.Join(s.dir, name)); err != nil {
			return fail(filepath.Join(s.dir, name), err)
		}
		return nil
	}
	err := committing(func() error {
		if err := os.Remove(filepath.Join(s.dir, last)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(filepath.Join(s.dir, last), err)
		}
		for _, name := range s.names {
			if name != last {
				if err := move(name); err != nil {
					return err
				}
			}
		}
		for _, name := range gone {
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fail(filepath.Join(s.dir, name), err)
			}
		}
		return move(last)
	})
	if err != nil {
		return fail(s.dir, err)
	}
	s.done = true
	os.RemoveAll(s.tmp)
	untrack(s.tmp)
	return nil
}

// Abort removes the temporary folder; the earlier set stays untouched
// unless Commit had begun moving files.
func (s *Set) Abort() {
	if s.done {
		return
	}
	s.done = true
	os.RemoveAll(s.tmp)
	untrack(s.tmp)
}
