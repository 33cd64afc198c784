package facematch

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestIoU(t *testing.T) {
	a := image.Rect(0, 0, 10, 10)
	for _, tc := range []struct {
		b    image.Rectangle
		want float64
	}{
		{a, 1},
		{image.Rect(5, 0, 15, 10), 50.0 / 150},
		{image.Rect(0, 0, 5, 5), 0.25},
		{image.Rect(10, 0, 20, 10), 0},
		{image.Rectangle{}, 0},
	} {
		if got := IoU(a, tc.b); math.Abs(got-tc.want) > 1e-12 || IoU(tc.b, a) != got {
			t.Errorf("IoU(%v, %v) = %v, want %v", a, tc.b, got, tc.want)
		}
	}
}

func TestMatchEachOnce(t *testing.T) {
	truth := []image.Rectangle{image.Rect(0, 0, 20, 20), image.Rect(18, 0, 38, 20), image.Rect(100, 100, 110, 110)}
	found := []image.Rectangle{
		image.Rect(10, 0, 30, 20), // IoU 0.33 with the first face, 0.43 with the second
		image.Rect(1, 0, 21, 20),  // the first face, closely
		image.Rect(18, 1, 38, 21), // the second face, closely
		image.Rect(0, 0, 20, 20),  // the first face exactly: takes it from found[1]
	}
	got := Match(found, truth, 0.4)
	if want := []int{3, 2, -1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Match = %v, want %v", got, want)
	}
	// At a lower threshold a loose box still cannot take a face twice.
	got = Match([]image.Rectangle{image.Rect(9, 0, 29, 20)}, truth, 0.1)
	if got[0] >= 0 && got[1] >= 0 {
		t.Fatalf("one box matched two faces: %v", got)
	}
	if got := Match(nil, truth, 0.4); !reflect.DeepEqual(got, []int{-1, -1, -1}) {
		t.Errorf("nothing found: %v", got)
	}
}

func TestTally(t *testing.T) {
	var tl Tally
	truth := []Face{
		{image.Rect(0, 0, 10, 12), "wear"},    // < 20
		{image.Rect(20, 0, 50, 30), "wear"},   // 20-40
		{image.Rect(60, 0, 100, 40), "none"},  // >= 40 (40 wide)
		{image.Rect(200, 0, 300, 90), "wear"}, // >= 40, missed
	}
	found := []image.Rectangle{image.Rect(0, 0, 10, 12), image.Rect(21, 1, 51, 31), image.Rect(60, 0, 100, 40), image.Rect(500, 500, 520, 520)}
	tl.Add(found, truth, 0.4)
	tl.Add(nil, []Face{{image.Rect(0, 0, 30, 30), "incorrect"}}, 0.4)
	if tl.All != (Count{5, 3}) || tl.Boxes != 4 || tl.Right != 3 || tl.Photos != 2 {
		t.Fatalf("tally %+v", tl)
	}
	if want := []Count{{1, 1}, {2, 1}, {2, 1}}; !reflect.DeepEqual(tl.ByWidth, want) {
		t.Errorf("by width %v, want %v", tl.ByWidth, want)
	}
	if tl.ByLabel["wear"] != (Count{3, 2}) || tl.ByLabel["none"] != (Count{1, 1}) || tl.ByLabel["incorrect"] != (Count{1, 0}) {
		t.Errorf("by label %v", tl.ByLabel)
	}
	if tl.Precision() != 0.75 || tl.ByWidth[1].Recall() != 0.5 || (Count{}).Recall() != 0 {
		t.Errorf("precision %v, recall %v", tl.Precision(), tl.ByWidth[1].Recall())
	}
	if Bin(19) != 0 || Bin(20) != 1 || Bin(39) != 1 || Bin(40) != 2 || Bin(4000) != 2 {
		t.Error("bins")
	}
}

func TestReadScenes(t *testing.T) {
	dir := t.TempDir()
	csv := "file,face,label,x0,y0,x1,y1\nb.jpg,0,wear,1,2,3,4\na.jpg,0,none,5,6,7,8\nb.jpg,1,incorrect,9,10,11,12\n"
	if err := os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadScenes(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Scene{
		{filepath.Join(dir, "b.jpg"), []Face{{image.Rect(1, 2, 3, 4), "wear"}, {image.Rect(9, 10, 11, 12), "incorrect"}}},
		{filepath.Join(dir, "a.jpg"), []Face{{image.Rect(5, 6, 7, 8), "none"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scenes %+v, want %+v", got, want)
	}
	for _, bad := range []string{"file,x0\nb.jpg,1\n", "file,face,label,x0,y0,x1,y1\nb.jpg,0,wear,1,2,x,4\n"} {
		os.WriteFile(filepath.Join(dir, "boxes.csv"), []byte(bad), 0o644)
		if _, err := ReadScenes(dir); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
