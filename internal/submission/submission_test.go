package submission

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeInfo(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "info.csv")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The submission follows info.csv's order and length, whatever the order
// of the predictions; ids and image names both match.
func TestWriteOrder(t *testing.T) {
	info := writeInfo(t, "\ufeffImageID,ans\nc.jpg,0\na.jpg,0\nb.png,0\n")
	rows := []Row{
		{ID: "eval/a.jpg", Path: "/data/eval/images/a.jpg", Class: 4},
		{ID: "000001_male_Asian_20/mask1", Path: "/data/train/images/x/mask1.jpg", Class: 0}, // training row: unused
		{ID: "b.png", Class: 17},                       // bare ImageID as id
		{ID: "crop-9", Path: "/crops/c.jpg", Class: 9}, // matched by the image name
	}
	out := filepath.Join(t.TempDir(), "sub.csv")
	unused, err := Write(out, info, rows)
	if err != nil {
		t.Fatal(err)
	}
	if unused != 1 {
		t.Errorf("unused = %d, want 1", unused)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ImageID,ans\nc.jpg,9\na.jpg,4\nb.png,17\n"; string(got) != want {
		t.Errorf("submission:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteErrors(t *testing.T) {
	info := writeInfo(t, "ImageID,ans\na.jpg,0\nmissing.jpg,0\n")
	for _, tc := range []struct {
		name string
		info string
		rows []Row
		want string
	}{
		{"info row without a prediction", info, []Row{{ID: "eval/a.jpg", Class: 1}}, "ImageID missing.jpg has no prediction"},
		{"ambiguous image name", writeInfo(t, "ImageID,ans\na.jpg,0\n"), []Row{{ID: "1", Path: "/x/a.jpg"}, {ID: "2", Path: "/y/a.jpg"}}, "two rows have an image of that name"},
		{"class out of range", info, []Row{{ID: "eval/a.jpg", Class: 18}}, "class 18 is not 0..17"},
		{"duplicate id", info, []Row{{ID: "eval/a.jpg"}, {ID: "eval/a.jpg"}}, `id "eval/a.jpg" has two predictions`},
		{"no ImageID column", writeInfo(t, "id,ans\na.jpg,0\n"), []Row{{ID: "eval/a.jpg"}}, "no ImageID column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "sub.csv")
			_, err := Write(out, tc.info, tc.rows)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a failed Write left %s", out)
			}
		})
	}
}
