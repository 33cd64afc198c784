package cmdtest

// The hostile machine, for outputs (README, "Hardening"): -o onto special
// files and symbolic links, full and read-only disks, kills in the middle
// of a write, Ctrl-C before a new model exists. Every case works on files,
// devices and mounts it makes in its own t.TempDir(); a case that needs
// root (mknod, mount) skips with a message where the machine does not
// allow it, and the size-limited writer tests of internal/outfile, cli,
// crop and augment cover full disks everywhere.

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// hostilePhotos writes n 384x512 JPEG photos (of a different grey each)
// under dir/photos and returns an Arrow stream of rows for them, ids
// p/00000...
func hostilePhotos(t *testing.T, dir string, n int) []byte {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "photos"), 0o755); err != nil {
		t.Fatal(err)
	}
	var ss []table.Sample
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 384, 512))
		for p := range img.Pix {
			img.Pix[p] = uint8(i*37 + p%251)
		}
		path := filepath.Join(dir, "photos", fmt.Sprintf("%05d.jpg", i))
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		s := table.NewSample(fmt.Sprintf("p/%05d", i), path, fmt.Sprintf("p%d", i/2), "test", "train")
		s.Mask, s.Gender, s.AgeGroup = int8(i%3), int8(i/3%2), int8(i/6%3)
		s.Relabel()
		ss = append(ss, s)
	}
	return hostileStream(t, ss)
}

func hostileStream(t *testing.T, ss []table.Sample) []byte {
	t.Helper()
	schema := table.NewSchema(label.DefaultBins)
	data, err := table.Encode(schema, ss, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// hostileMount mounts a tmpfs of size (with ro: read-only) in a fresh
// temporary folder, unmounted when the test ends, or skips the test.
func hostileMount(t *testing.T, size string, ro bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := "size=" + size
	if ro {
		opts += ",ro"
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s): skipping; the size-limited writer tests cover full disks", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// hostileTemps lists the temporary files (of any writer) under dir.
func hostileTemps(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir && strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), "tmp") {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// hostileWriters are programs that write a table with -o, each a command
// line (run in dir) reading the good table good.arrows.
var hostileWriters = map[string]string{
	"facet-split": "facet-split -k 2 good.arrows",
	"facet-merge": "facet-merge join good.arrows",
	"facet-prep":  "facet-prep csv:list.csv",
}

func hostileSetup(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "good.arrows"), sampleTable(t, 60, true), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "list.csv"), []byte("path,gender\na.jpg,male\nb.jpg,female\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// -o onto a FIFO writes the table into it (its reader gets a whole table)
// and leaves it a FIFO; so does a symbolic link to a FIFO.
func TestOutputOntoFIFO(t *testing.T) {
	for prog, cmd := range hostileWriters {
		for _, viaLink := range []bool{false, true} {
			dir := hostileSetup(t)
			fifo := filepath.Join(dir, "pipe")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			target := fifo
			if viaLink {
				target = filepath.Join(dir, "link")
				if err := os.Symlink("pipe", target); err != nil {
					t.Fatal(err)
				}
			}
			rows := make(chan int64, 1)
			go func() {
				f, err := os.Open(fifo) // blocks until the program opens it
				if err != nil {
					rows <- -1
					return
				}
				defer f.Close()
				r, err := table.NewReader(f)
				if err != nil {
					io.Copy(io.Discard, f)
					rows <- -2
					return
				}
				defer r.Release()
				for r.Next() {
				}
				if r.Err() != nil {
					rows <- -3
					return
				}
				rows <- r.Rows()
			}()
			what := fmt.Sprintf("%s -o %s", prog, filepath.Base(target))
			_, stderr, code := sh(t, dir, cmd+" -o "+target, nil)
			if code != 0 {
				t.Errorf("%s: exit %d\n%s", what, code, stderr)
			}
			select {
			case n := <-rows:
				if n <= 0 {
					t.Errorf("%s: the FIFO's reader got no whole table (%d)", what, n)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("%s: the FIFO's reader got nothing (the FIFO was replaced?)", what)
			}
			if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("%s: the FIFO is now %v (%v)", what, fi.Mode(), err)
			}
			if tmp := hostileTemps(t, dir); len(tmp) > 0 {
				t.Errorf("%s: left %v", what, tmp)
			}
		}
	}
}

// -o onto a character device (a null device made here with mknod) writes
// into it and leaves it a device.
func TestOutputOntoCharDevice(t *testing.T) {
	for prog, cmd := range hostileWriters {
		dir := hostileSetup(t)
		null := filepath.Join(dir, "null")
		if out, err := exec.Command("mknod", null, "c", "1", "3").CombinedOutput(); err != nil {
			t.Skipf("cannot make a character device here (mknod needs root): %v %s", err, bytes.TrimSpace(out))
		}
		_, stderr, code := sh(t, dir, cmd+" -o "+null, nil)
		if code != 0 {
			t.Errorf("%s -o null: exit %d\n%s", prog, code, stderr)
		}
		if fi, err := os.Lstat(null); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("%s -o null: the device is now %v (%v)", prog, fi.Mode(), err)
		}
	}
}

// -o onto a symbolic link to a regular file is refused: one line naming
// the link, exit 1, the link and its target as they were.
func TestOutputOntoSymlink(t *testing.T) {
	for prog, cmd := range hostileWriters {
		dir := hostileSetup(t)
		target := filepath.Join(dir, "precious.arrow")
		if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "out.arrow")
		if err := os.Symlink("precious.arrow", link); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := sh(t, dir, cmd+" -o "+link, nil)
		checkFailure(t, prog+" -o symlink", prog, code, 1, stderr, "")
		if !strings.Contains(stderr, "symbolic link") {
			t.Errorf("%s: the error does not say why:\n%s", prog, stderr)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s: the link was replaced", prog)
		}
		if b, _ := os.ReadFile(target); string(b) != "keep me" {
			t.Errorf("%s: the link's target became %q", prog, b)
		}
	}
}

// A symbolic link inside facet-crop's --out leading out of it is never
// followed: the run stops (exit 1) and nothing is written outside.
func TestCropOutSymlinkEscape(t *testing.T) {
	dir := t.TempDir()
	in := hostilePhotos(t, dir, 2)
	outside := filepath.Join(dir, "outside")
	crops := filepath.Join(dir, "crops")
	for _, d := range []string{outside, crops} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(crops, "p")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := sh(t, dir, "facet-crop --out crops --detectors center -o t.arrow", in)
	checkFailure(t, "crop through a link out of --out", "facet-crop", code, 1, stderr, filepath.Join(dir, "t.arrow"))
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("crops written outside --out: %v", entries)
	}
}

// A stage whose output disk is full stops: exit 1, a one-line error
// naming the file and the cause, no table; facet-split leaves the fold set
// it had written before as it was.
func TestFullDisk(t *testing.T) {
	disk := hostileMount(t, "256k", false)
	dir := t.TempDir()
	in := hostilePhotos(t, dir, 40)
	result := filepath.Join(dir, "result.arrow")
	for _, tc := range []struct{ prog, cmd string }{
		{"facet-crop", "facet-crop --out " + disk + "/crops --detectors center --size 224"},
		{"facet-augment", "facet-augment --out " + disk + "/aug --copies 2 --ops 'noise(s=20):1' --quality 100"},
	} {
		_, stderr, code := sh(t, dir, tc.cmd+" -o "+result, in)
		checkFailure(t, tc.prog+" on a full disk", tc.prog, code, 1, stderr, result)
		if !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, "writing "+disk) {
			t.Errorf("%s: the error does not name the file and the cause:\n%s", tc.prog, stderr)
		}
		if tmp := hostileTemps(t, disk); len(tmp) > 0 {
			t.Errorf("%s: left %v", tc.prog, tmp)
		}
		os.RemoveAll(filepath.Join(disk, "crops"))
		os.RemoveAll(filepath.Join(disk, "aug"))
	}
	// The table itself onto the full disk.
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, 200<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	big := sampleTable(t, 3000, true)
	_, stderr, code := sh(t, dir, "facet-split -k 2 -o "+disk+"/t.arrow", big)
	checkFailure(t, "facet-split -o onto a full disk", "facet-split", code, 1, stderr, filepath.Join(disk, "t.arrow"))
	os.Remove(filler)

	// The fold set: a first set fits; a second, larger one does not.
	folds := filepath.Join(disk, "folds")
	small := sampleTable(t, 60, true)
	if _, stderr, code := sh(t, dir, "facet-split -k 2 --out "+folds+" > /dev/null", small); code != 0 {
		t.Fatalf("first fold set: exit %d\n%s", code, stderr)
	}
	before := map[string][]byte{}
	entries, _ := os.ReadDir(folds)
	for _, e := range entries {
		before[e.Name()], _ = os.ReadFile(filepath.Join(folds, e.Name()))
	}
	if len(before) != 5 {
		t.Fatalf("first fold set: %d files", len(before))
	}
	_, stderr, code = sh(t, dir, "facet-split -k 3 --seed 2 --out "+folds+" > /dev/null", big)
	checkFailure(t, "facet-split --out onto a full disk", "facet-split", code, 1, stderr, "")
	if !strings.Contains(stderr, "no space left on device") {
		t.Errorf("facet-split: the error does not name the cause:\n%s", stderr)
	}
	entries, _ = os.ReadDir(folds)
	if len(entries) != len(before) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("after the failed split the fold folder holds %v", names)
	}
	for name, data := range before {
		if now, err := os.ReadFile(filepath.Join(folds, name)); err != nil || !bytes.Equal(now, data) {
			t.Errorf("%s changed (%v): the old fold set is not intact", name, err)
		}
	}
}

// The same full disk wherever mount is not allowed: a file size limit
// (ulimit -f) makes writes fail as a full disk would.
func TestFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	in := hostilePhotos(t, dir, 6)
	result := filepath.Join(dir, "result.arrow")
	for _, tc := range []struct{ prog, cmd string }{
		{"facet-crop", "facet-crop --out crops --detectors center --size 224"},
		{"facet-augment", "facet-augment --out aug --copies 1 --quality 100"},
	} {
		_, stderr, code := sh(t, dir, "ulimit -f 8; "+tc.cmd+" -o "+result, in)
		checkFailure(t, tc.prog+" past a file size limit", tc.prog, code, 1, stderr, result)
		if !strings.Contains(stderr, "file too large") {
			t.Errorf("%s: the error does not name the cause:\n%s", tc.prog, stderr)
		}
	}
	// facet-split's fold set: the first fits, the second (more rows) not.
	folds := filepath.Join(dir, "folds")
	if _, stderr, code := sh(t, dir, "facet-split -k 2 --out folds > /dev/null", sampleTable(t, 60, true)); code != 0 {
		t.Fatalf("first fold set: exit %d\n%s", code, stderr)
	}
	manifest, _ := os.ReadFile(filepath.Join(folds, "manifest.json"))
	fold0, _ := os.ReadFile(filepath.Join(folds, "fold0.train.arrow"))
	_, stderr, code := sh(t, dir, "ulimit -f 16; facet-split -k 3 --out folds > /dev/null", sampleTable(t, 3000, true))
	checkFailure(t, "facet-split past a file size limit", "facet-split", code, 1, stderr, "")
	if now, _ := os.ReadFile(filepath.Join(folds, "manifest.json")); !bytes.Equal(now, manifest) {
		t.Error("the manifest changed")
	}
	if now, _ := os.ReadFile(filepath.Join(folds, "fold0.train.arrow")); !bytes.Equal(now, fold0) {
		t.Error("fold0.train.arrow changed: old and new fold files mixed")
	}
	if _, err := os.Stat(filepath.Join(folds, "fold2.train.arrow")); err == nil {
		t.Error("a fold file of the failed set appeared")
	}
	if tmp := hostileTemps(t, folds); len(tmp) > 0 {
		t.Errorf("left %v", tmp)
	}
}

// facet-crop with a read-only --out fails (exit 1, no table) instead of
// passing every row on as failed.
func TestCropReadOnlyOut(t *testing.T) {
	var out string
	if os.Geteuid() == 0 {
		out = hostileMount(t, "1m", true) // root writes through file modes
	} else {
		out = filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(out, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	in := hostilePhotos(t, dir, 3)
	result := filepath.Join(dir, "result.arrow")
	_, stderr, code := sh(t, dir, "facet-crop --detectors center --out "+out+" -o "+result, in)
	checkFailure(t, "facet-crop onto a read-only --out", "facet-crop", code, 1, stderr, result)
	if !strings.Contains(stderr, "read-only file system") && !strings.Contains(stderr, "permission denied") {
		t.Errorf("the error does not name the cause:\n%s", stderr)
	}
}

// A photo table whose rows all fail (the photos are gone) is a failed
// crop run, not a table of failures passed on.
func TestCropMostlyFailedRun(t *testing.T) {
	dir := t.TempDir()
	result := filepath.Join(dir, "result.arrow")
	_, stderr, code := sh(t, dir, "facet-crop --out crops --detectors center -o "+result, sampleTable(t, 20, true))
	checkFailure(t, "facet-crop with every photo missing", "facet-crop", code, 1, stderr, result)
	if !strings.Contains(stderr, "20 of 20 photos failed") {
		t.Errorf("the error does not give the count:\n%s", stderr)
	}
	if _, stderr, code := sh(t, dir, "facet-crop --out crops --detectors center --max-failed 100% -o "+result, sampleTable(t, 20, true)); code != 0 {
		t.Errorf("--max-failed 100%%: exit %d\n%s", code, stderr)
	}
}

// A program killed (SIGKILL) in the middle of writing leaves its
// temporary file; the next run that writes there removes it and says so.
func TestKilledWriteIsCleanedUp(t *testing.T) {
	dir := t.TempDir()
	full := hostilePhotos(t, dir, 12)
	args := []string{"--out", "crops", "--detectors", "center", "--size", "32", "-o", "t.arrow"}
	cmd := exec.Command(filepath.Join(bin, "facet-crop"), args...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The rows without the end-of-stream marker, and the input stays open:
	// facet-crop is writing t.arrow under its temporary name when killed.
	stdin.Write(full[:len(full)-8])
	deadline := time.Now().Add(30 * time.Second)
	var temps []string
	for len(temps) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		temps, _ = filepath.Glob(filepath.Join(dir, ".t.arrow.*tmp*"))
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stdin.Close()
	if len(temps) == 0 {
		t.Fatal("facet-crop never started writing t.arrow")
	}
	if _, err := os.Stat(temps[0]); err != nil {
		t.Fatalf("SIGKILL removed the temporary file? %v", err)
	}
	_, stderr, code := sh(t, dir, "facet-crop "+strings.Join(args, " "), full)
	if code != 0 {
		t.Fatalf("the rerun: exit %d\n%s", code, stderr)
	}
	if tmp := hostileTemps(t, dir); len(tmp) > 0 {
		t.Errorf("stale temporary files after the rerun: %v", tmp)
	}
	if !strings.Contains(stderr, "facet-crop: removed 1 temporary file(s) in . left by an interrupted run") {
		t.Errorf("the rerun does not say it removed the stale file:\n%s", stderr)
	}
}

// hostileColourTable writes n PNG images (of their class's colour) and an
// Arrow file of them; it returns the table's path.
func hostileColourTable(t *testing.T, dir, name string, n int) string {
	t.Helper()
	var ss []table.Sample
	for i := range n {
		m, g, a := int8(i%3), int8(i/3%2), int8(i/6%3)
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for p := 0; p < len(img.Pix); p += 4 {
			copy(img.Pix[p:], []uint8{uint8(m) * 120, uint8(g) * 240, uint8(a) * 120, 255})
		}
		img.Set(i%32, i/32%32, color.White)
		path := filepath.Join(dir, fmt.Sprintf("%s%03d.png", name, i))
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		s := table.NewSample(fmt.Sprintf("%s/%d", name, i), path, fmt.Sprintf("%s%d", name, i), "test", "train")
		s.Mask, s.Gender, s.AgeGroup = m, g, a
		s.Relabel()
		ss = append(ss, s)
	}
	path := filepath.Join(dir, name+".arrows")
	if err := os.WriteFile(path, hostileStream(t, ss), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Ctrl-C (SIGINT) of a new facet-train run in an existing RUNDIR before
// its first epoch ends leaves the earlier run's model usable.
func TestTrainInterruptKeepsModel(t *testing.T) {
	dir := t.TempDir()
	tr := hostileColourTable(t, dir, "train", 48)
	va := hostileColourTable(t, dir, "val", 24)
	run := filepath.Join(dir, "run")
	base := fmt.Sprintf("facet-train --out %s --train %s --val %s --size 16 --width 4 --batch 16 --workers 2 --ops ''", run, tr, va)
	if _, stderr, code := sh(t, dir, base+" --epochs 1", nil); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	before := map[string][]byte{}
	for _, name := range []string{"best.safetensors", "best.json", "config.json"} {
		b, err := os.ReadFile(filepath.Join(run, name))
		if err != nil {
			t.Fatal(err)
		}
		before[name] = b
	}
	cmd := exec.Command("bash", "-c", "exec "+base+" --epochs 50 --size 48 --width 16")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt as soon as the training table is loaded.
	var log bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(log.String(), "images decoded") {
		n, err := stderr.Read(buf)
		log.Write(buf[:n])
		if err != nil {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(stderr)
	log.Write(rest)
	err = cmd.Wait()
	if err == nil || !strings.Contains(log.String(), "facet-train: interrupted") {
		t.Fatalf("the interrupted run: %v\n%s", err, log.String())
	}
	if strings.Contains(log.String(), "epoch 1/50") {
		t.Skipf("the first epoch ended before the interrupt arrived:\n%s", log.String())
	}
	for name, b := range before {
		if now, err := os.ReadFile(filepath.Join(run, name)); err != nil || !bytes.Equal(now, b) {
			t.Errorf("%s changed or went (%v): the earlier model is lost", name, err)
		}
	}
	// And the earlier model still predicts.
	eval := filepath.Join(dir, "val.arrows")
	if _, stderr, code := sh(t, dir, "facet-infer --model "+run+" -o pred.arrow "+eval, nil); code != 0 {
		t.Errorf("facet-infer with the kept model: exit %d\n%s", code, stderr)
	}
}

// facet-prep's csv source with images outside the CSV's folder gives ids
// facet-crop accepts: the pipe crops every photo.
func TestPrepCSVOutsideFolderCrops(t *testing.T) {
	dir := t.TempDir()
	hostilePhotos(t, dir, 3)
	if err := os.Mkdir(filepath.Join(dir, "lists"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "photos", "00002.jpg")
	list := "path,gender\n../photos/00000.jpg,male\n../photos/00001.jpg,female\n" + abs + ",male\n"
	if err := os.WriteFile(filepath.Join(dir, "lists", "list.csv"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := sh(t, dir, "facet-prep csv:lists/list.csv | facet-crop --out crops --detectors center", nil)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	r, err := table.NewReader(bytes.NewReader(out), "crop_path", "crop_error")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	for r.Next() {
		rec := r.RecordBatch()
		errs := rec.Column(rec.Schema().FieldIndices("crop_error")[0]).(*array.String)
		for i := range errs.Len() {
			if errs.IsValid(i) {
				t.Errorf("row %d: %s", i, errs.Value(i))
			}
		}
	}
	if r.Err() != nil || r.Rows() != 3 {
		t.Errorf("%d rows, %v", r.Rows(), r.Err())
	}
}
