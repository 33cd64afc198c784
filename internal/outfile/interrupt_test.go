package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Interrupt removes every temporary file and folder of the outputs under
// way, keeps what was committed and the earlier files, and fails what
// comes after.
func TestInterrupt(t *testing.T) {
	t.Cleanup(func() {
		live.Lock()
		live.stopped = false
		live.Unlock()
	})
	dir := t.TempDir()
	done := filepath.Join(dir, "done.arrow")
	if err := WriteFile(done, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	earlier := filepath.Join(dir, "table.arrow")
	if err := os.WriteFile(earlier, []byte("earlier"), 0o644); err != nil {
		t.Fatal(err)
	}
	half, err := Create(earlier)
	if err != nil {
		t.Fatal(err)
	}
	half.Write([]byte("half"))
	d, err := OpenDir(filepath.Join(dir, "crops"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	crop, err := d.Create("a/b.jpg")
	if err != nil {
		t.Fatal(err)
	}
	set, err := CreateSet(filepath.Join(dir, "folds"), "folds")
	if err != nil {
		t.Fatal(err)
	}
	inSet, err := set.Create("fold0.train.arrow")
	if err != nil {
		t.Fatal(err)
	}
	if err := inSet.Commit(); err != nil {
		t.Fatal(err)
	}

	Interrupt()
	var left []string
	filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			left = append(left, rel)
		}
		return err
	})
	if len(left) != 2 || left[0] != "done.arrow" || left[1] != "table.arrow" {
		t.Errorf("files left: %v, want done.arrow and table.arrow", left)
	}
	if b, _ := os.ReadFile(earlier); string(b) != "earlier" {
		t.Errorf("the earlier table became %q", b)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "folds", ".*")); len(tmp) > 0 {
		t.Errorf("the set's temporary folder is left: %v", tmp)
	}
	if err := half.Commit(); !errors.Is(err, errInterrupted) {
		t.Errorf("Commit after Interrupt: %v", err)
	}
	crop.Abort()
	if err := set.Commit("fold0.train.arrow", nil); !errors.Is(err, errInterrupted) {
		t.Errorf("set Commit after Interrupt: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "new.arrow")); !errors.Is(err, errInterrupted) {
		t.Errorf("Create after Interrupt: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 { // done, table, crops/, folds/
		t.Errorf("%d entries in the folder", len(entries))
	}
}
