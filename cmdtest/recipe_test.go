package cmdtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/table"
)

// recipeCommand is the shell command recipe.mk runs to make target, as
// make prints it (make -n), with bin/facet-X as facet-X (on sh's PATH).
func recipeCommand(t *testing.T, target string, vars ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on this machine")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", append([]string{"-n", "-C", root, "--no-print-directory", target}, vars...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if len(lines) == 0 && !strings.HasPrefix(line, "bin/facet-prep ") {
			continue
		}
		lines = append(lines, line)
		if !strings.HasSuffix(line, "\\") {
			break
		}
	}
	if len(lines) == 0 {
		t.Fatalf("make -n %s prints no facet-prep pipeline:\n%s", target, out)
	}
	return strings.ReplaceAll(strings.Join(lines, "\n"), "bin/facet-", "facet-")
}

// The recipe's training table runs facet-augment (synthetic masks) before
// facet-split; no row that facet-augment made is ever validation data:
// every val file of the fold set holds original rows only, while the
// train files do hold the made ones.
func TestRecipeValidatesOnOriginalRowsOnly(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := sh(t, dir, "facet-demodata --out data --persons 12 --eval-persons 0 --aaf 12", nil); code != 0 {
		t.Fatalf("facet-demodata: exit %d\n%s", code, stderr)
	}
	all := filepath.Join(dir, "all")
	script := recipeCommand(t, filepath.Join(all, "train.arrow"),
		"ALL_DIR="+all, "DATA="+filepath.Join(dir, "data"), "AAF="+filepath.Join(dir, "data", "aaf"), "FOLDS=3", "FIX=", "AGE_BINS=30,60")
	if !strings.Contains(script, "facet-augment") || strings.Index(script, "facet-augment") > strings.Index(script, "facet-split") {
		t.Fatalf("the recipe does not run facet-augment before facet-split:\n%s", script)
	}
	if _, stderr, code := sh(t, dir, "mkdir -p all && "+script, nil); code != 0 {
		t.Fatalf("%s: exit %d\n%s", script, code, stderr)
	}
	var m struct {
		Files []struct{ Train, Val string } `json:"files"`
	}
	data, err := os.ReadFile(filepath.Join(all, "folds", "manifest.json"))
	if err != nil || json.Unmarshal(data, &m) != nil || len(m.Files) != 3 {
		t.Fatalf("manifest: %v\n%s", err, data)
	}
	madeInTrain := 0
	for _, f := range m.Files {
		val, madeVal := madeRows(t, filepath.Join(all, "folds", f.Val))
		if val == 0 {
			t.Errorf("%s: no rows", f.Val)
		}
		if madeVal > 0 {
			t.Errorf("%s: %d of its %d validation rows were made by facet-augment", f.Val, madeVal, val)
		}
		_, made := madeRows(t, filepath.Join(all, "folds", f.Train))
		madeInTrain += made
	}
	if madeInTrain == 0 {
		t.Error("no train file holds a synthetic mask: the recipe made none, the test shows nothing")
	}
}

// madeRows counts the rows of an Arrow file and those facet-augment made
// (a parent_id, or an origin other than original).
func madeRows(t *testing.T, path string) (rows, made int) {
	t.Helper()
	_, recs, err := table.ReadFile(path, table.ColID, "parent_id")
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		parents := rec.Column(rec.Schema().FieldIndices("parent_id")[0]).(*array.String)
		for i, s := range table.Samples(rec) {
			rows++
			if parents.IsValid(i) || !s.Origin.IsOriginal() {
				made++
			}
		}
		rec.Release()
	}
	return rows, made
}
