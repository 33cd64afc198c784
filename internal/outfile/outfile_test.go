package outfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/boostershot/facet/internal/testdata"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.arrow")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "half")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the final name exists before Commit")
	}
	if names := entries(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".out.arrow"+tempMarker) {
		t.Fatalf("temporary file %v, want .out.arrow%s...", names, tempMarker)
	}
	f.Abort()
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("Abort left %v", names)
	}
	for _, content := range []string{"one", "two"} {
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(f, content)
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		f.Abort() // after Commit: nothing
	}
	if got := readString(t, path); got != "two" {
		t.Errorf("read %q, want two", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm()&0o044 != 0o044 {
		t.Errorf("mode %v: a result is for others to read too", st.Mode().Perm())
	}
	// An Abort over an existing file leaves it as it was.
	f, _ = Create(path)
	fmt.Fprint(f, "three")
	f.Abort()
	if got := readString(t, path); got != "two" {
		t.Errorf("after Abort read %q, want two", got)
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "dir.arrow")); err == nil {
		t.Error("Create made a file in a missing folder")
	}
	if err := WriteFile(filepath.Join(dir, "a", "b", "c.txt"), []byte("x")); err != nil {
		t.Errorf("WriteFile does not make the folders above: %v", err)
	}
	if err := WriteWith(filepath.Join(dir, "d.png"), func(w io.Writer) error { w.Write([]byte("half")); return errors.New("boom") }); err == nil {
		t.Error("a failed WriteWith reported success")
	}
	if _, err := os.Stat(filepath.Join(dir, "d.png")); !os.IsNotExist(err) {
		t.Error("a failed WriteWith left its file")
	}
	if err := WriteFile(dir, []byte("x")); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("writing over a folder: %v", err)
	}
}

// A full disk (a size limit here) fails the write with an *Error naming
// the file, not its temporary name, and leaves the earlier file whole.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "table.arrow")
	if err := WriteFile(path, []byte("the earlier table")); err != nil {
		t.Fatal(err)
	}
	testdata.LimitFileSize(t, 64<<10)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(make([]byte, 1<<20))
	if err == nil {
		t.Fatal("a write past the limit succeeded")
	}
	if !IsError(err) || !strings.HasPrefix(err.Error(), "writing "+path+": ") || strings.Contains(err.Error(), tempMarker) {
		t.Errorf("error %q: want an *Error naming %s and not the temporary file", err, path)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after a failed write succeeded")
	}
	if got := readString(t, path); got != "the earlier table" {
		t.Errorf("the earlier file became %q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("left %v, want the earlier file only", names)
	}
	// The same through a Dir and WriteWith.
	d, err := OpenDir(filepath.Join(dir, "crops"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WriteFile("p/x.jpg", make([]byte, 1<<20)); !IsError(err) {
		t.Errorf("Dir.WriteFile past the limit: %v", err)
	}
	if names := entries(t, filepath.Join(dir, "crops", "p")); len(names) != 0 {
		t.Errorf("Dir left %v", names)
	}
	if err := WriteWith(filepath.Join(dir, "w"), func(w io.Writer) error { _, err := w.Write(make([]byte, 1<<20)); return err }); !IsError(err) {
		t.Errorf("WriteWith past the limit: %v", err)
	}
}

// A FIFO is written to, not replaced by a regular file.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	for _, link := range []bool{false, true} {
		path := fifo
		if link {
			path = filepath.Join(dir, "link")
			if err := os.Symlink("pipe", path); err != nil {
				t.Fatal(err)
			}
			go func() {
				b, _ := os.ReadFile(fifo)
				got <- string(b)
			}()
		}
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if !f.direct() {
			t.Error("a FIFO written through a temporary file")
		}
		fmt.Fprint(f, "rows")
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != "rows" {
				t.Errorf("the reader got %q", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the reader got nothing")
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("the FIFO is now %v (%v)", fi.Mode(), err)
		}
	}
}

// A character device (a null device made here) is written to, not replaced.
func TestCharDevice(t *testing.T) {
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if out, err := exec.Command("mknod", null, "c", "1", "3").CombinedOutput(); err != nil {
		t.Skipf("cannot make a character device here (needs root): %v %s", err, out)
	}
	for range 2 {
		if err := WriteFile(null, bytes.Repeat([]byte("x"), 1<<16)); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Lstat(null)
	if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("the device is now %v (%v)", fi.Mode(), err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("left %v", names)
	}
}

func TestSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix socket: %v", err)
	}
	defer l.Close()
	got := make(chan string)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- string(b)
	}()
	if err := WriteFile(sock, []byte("rows")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "rows" {
		t.Errorf("the socket got %q", s)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		t.Errorf("the socket is now %v (%v)", fi.Mode(), err)
	}
}

// A symbolic link to a regular file, a folder or nothing is refused: the
// link and its target stay as they were.
func TestSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.arrow")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{"to-file": "precious.arrow", "to-folder": ".", "dangling": "nowhere"} {
		link := filepath.Join(dir, name)
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
		err := WriteFile(link, []byte("new"))
		if !IsError(err) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s: %v, want a refusal naming the symbolic link", name, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s: the link was replaced", name)
		}
	}
	if got := readString(t, target); got != "keep" {
		t.Errorf("the link's target became %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !os.IsNotExist(err) {
		t.Error("a dangling link was written through")
	}
}

// Nothing written in a Dir leaves it, whatever links it holds.
func TestDirStaysInside(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "crops")
	d, err := OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := os.Symlink(outside, filepath.Join(out, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside/x.jpg", filepath.Join(out, "leaf.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(out, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inside", filepath.Join(out, "alias")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"escape/x.jpg", "leaf.jpg", "../outside/y.jpg", "/abs.jpg"} {
		if err := d.WriteFile(rel, []byte("face")); !IsError(err) {
			t.Errorf("%s: %v, want an *Error", rel, err)
		}
	}
	if names := entries(t, outside); len(names) != 0 {
		t.Errorf("files written outside the output folder: %v", names)
	}
	// A link inside the folder to a folder inside it is fine.
	if err := d.WriteFile("alias/a.jpg", []byte("face")); err != nil {
		t.Errorf("a link inside the folder: %v", err)
	}
	if got := readString(t, filepath.Join(out, "inside", "a.jpg")); got != "face" {
		t.Errorf("read %q", got)
	}
	if d.Path("a/b.jpg") != filepath.Join(out, "a", "b.jpg") {
		t.Errorf("Path = %s", d.Path("a/b.jpg"))
	}
}

// deadPID is the number of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

// A killed run's temporary files are removed by the next run that writes
// there, and said so; a live process's and this run's own are kept.
func TestSweepStale(t *testing.T) {
	var notes []string
	SetLog(func(msg string) { notes = append(notes, msg) })
	t.Cleanup(func() { SetLog(func(string) {}) })
	dir := t.TempDir()
	old := started.Add(-time.Hour)
	dead := deadPID(t)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	staleTmp := mk(fmt.Sprintf(".out.arrow%s%d-1a", tempMarker, dead), old)
	ownOld := mk(fmt.Sprintf(".out.arrow%s%d-2b", tempMarker, os.Getpid()), old) // a former process with our number
	live := mk(fmt.Sprintf(".out.arrow%s%d-3c", tempMarker, os.Getppid()), old)
	fresh := mk(fmt.Sprintf(".out.arrow%s%d-4d", tempMarker, dead), time.Now().Add(time.Hour))
	other := mk(fmt.Sprintf(".other.arrow%s%d-5e", tempMarker, dead), old)
	user := mk(".out.arrow.tmp-123", old) // not ours: never touched
	if err := WriteFile(filepath.Join(dir, "out.arrow"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{staleTmp, ownOld} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s kept", filepath.Base(p))
		}
	}
	for _, p := range []string{live, fresh, other, user} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "removed 2 temporary file(s) in "+dir) {
		t.Errorf("notes %q", notes)
	}
	// A Dir sweeps every folder it writes in, once, all names.
	notes = nil
	sub := filepath.Join(dir, "p")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	a := mk(fmt.Sprintf("p/.a.jpg%s%d-1", tempMarker, dead), old)
	b := mk(fmt.Sprintf("p/.b.jpg%s%d-2", tempMarker, dead), old)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, rel := range []string{"p/c.jpg", "p/d.jpg"} {
		if err := d.WriteFile(rel, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{a, b} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s kept", p)
		}
	}
	if len(notes) != 1 {
		t.Errorf("notes %q, want one for p/", notes)
	}
}

// A set appears whole: a failure while writing it leaves the earlier set
// as it was; Commit replaces it, manifest last, and drops what the new
// set lacks.
func TestSet(t *testing.T) {
	dir := t.TempDir()
	write := func(names []string, size int, gone []string) error {
		s, err := CreateSet(dir, "folds")
		if err != nil {
			return err
		}
		defer s.Abort()
		for _, name := range names {
			f, err := s.Create(name)
			if err != nil {
				return err
			}
			if _, err := f.Write(bytes.Repeat([]byte(name[:1]), size)); err != nil {
				f.Abort()
				return err
			}
			if err := f.Commit(); err != nil {
				return err
			}
		}
		return s.Commit("manifest.json", gone)
	}
	old := []string{"a", "b", "c", "manifest.json"}
	if err := write(old, 10, nil); err != nil {
		t.Fatal(err)
	}
	func() {
		testdata.LimitFileSize(t, 1<<10)
		err := write([]string{"a", "b", "manifest.json"}, 4<<10, nil)
		if !IsError(err) || !strings.Contains(err.Error(), filepath.Join(dir, "a")) {
			t.Errorf("a set past the size limit: %v", err)
		}
	}()
	if names := entries(t, dir); strings.Join(names, ",") != "a,b,c,manifest.json" {
		t.Errorf("after a failed set: %v", names)
	}
	for _, name := range old {
		if got := readString(t, filepath.Join(dir, name)); got != strings.Repeat(name[:1], 10) {
			t.Errorf("%s became %q", name, got)
		}
	}
	if err := write([]string{"a", "manifest.json"}, 3, []string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); strings.Join(names, ",") != "a,manifest.json" {
		t.Errorf("after the new set: %v", names)
	}
	if got := readString(t, filepath.Join(dir, "a")); got != "aaa" {
		t.Errorf("a = %q", got)
	}
	// A link among the final names is refused before anything moves.
	if err := os.Symlink("a", filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if err := write([]string{"a", "b", "manifest.json"}, 5, nil); !IsError(err) {
		t.Errorf("a set over a symbolic link: %v", err)
	}
	if got := readString(t, filepath.Join(dir, "a")); got != "aaa" {
		t.Errorf("a refused set moved a: %q", got)
	}
}
