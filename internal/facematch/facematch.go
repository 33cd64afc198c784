// Package facematch scores the faces a detector found in a photo against
// its annotated faces, as face-detection benchmarks do: a found box
// matches an annotated one when their intersection over union is at least
// a threshold, each box matched at most once (pairs taken in order of
// falling overlap), and recall and precision are counted by the annotated
// faces' widths and labels.
package facematch

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// IoU is the intersection over union of two boxes (0 when either is empty).
func IoU(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx()) * float64(in.Dy())
	u := float64(a.Dx())*float64(a.Dy()) + float64(b.Dx())*float64(b.Dy()) - i
	return i / u
}

// Match pairs found boxes with annotated ones: every pair overlapping by
// at least minIoU, taken greedily from the largest overlap down, each box
// used once. It returns, for each annotated box, the index of its found
// box, or -1.
func Match(found, truth []image.Rectangle, minIoU float64) []int {
	type pair struct {
		f, t int
		iou  float64
	}
	var pairs []pair
	for i, f := range found {
		for j, t := range truth {
			if v := IoU(f, t); v >= minIoU && v > 0 {
				pairs = append(pairs, pair{i, j, v})
			}
		}
	}
	// Ties go to the earlier boxes, so the result does not depend on the
	// sort's order.
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(b.iou, a.iou) })
	out := make([]int, len(truth))
	for j := range out {
		out[j] = -1
	}
	used := make([]bool, len(found))
	for _, p := range pairs {
		if used[p.f] || out[p.t] >= 0 {
			continue
		}
		used[p.f], out[p.t] = true, p.f
	}
	return out
}

// Face is an annotated face: its box and label.
type Face struct {
	Box   image.Rectangle
	Label string
}

// Bins are the face-width bins a Tally counts by: a face w pixels wide
// falls in the first bin whose bound is above w (the last bound is
// open-ended).
var Bins = []struct {
	Name  string
	Below int // exclusive upper bound of the width; 0: no bound
}{{"< 20 px", 20}, {"20-40 px", 40}, {">= 40 px", 0}}

// Bin is the index in Bins of a face w pixels wide.
func Bin(w int) int {
	for i, b := range Bins {
		if b.Below == 0 || w < b.Below {
			return i
		}
	}
	return len(Bins) - 1
}

// Count is how many annotated faces there were and how many were found.
type Count struct{ Faces, Found int }

// Recall is Found / Faces (0 without faces).
func (c Count) Recall() float64 {
	if c.Faces == 0 {
		return 0
	}
	return float64(c.Found) / float64(c.Faces)
}

// Tally sums the matches of many photos.
type Tally struct {
	All     Count
	ByWidth []Count          // by Bins
	ByLabel map[string]Count // by the annotated faces' labels
	// Boxes is how many boxes were found, and Right how many of them
	// matched an annotated face.
	Boxes, Right int
	Photos       int
}

// Add scores one photo's found boxes against its annotated faces at
// minIoU.
func (t *Tally) Add(found []image.Rectangle, truth []Face, minIoU float64) {
	if t.ByWidth == nil {
		t.ByWidth = make([]Count, len(Bins))
		t.ByLabel = map[string]Count{}
	}
	boxes := make([]image.Rectangle, len(truth))
	for i, f := range truth {
		boxes[i] = f.Box
	}
	m := Match(found, boxes, minIoU)
	for j, f := range truth {
		hit := 0
		if m[j] >= 0 {
			hit = 1
			t.Right++
		}
		t.All.Faces++
		t.All.Found += hit
		b := &t.ByWidth[Bin(f.Box.Dx())]
		b.Faces++
		b.Found += hit
		l := t.ByLabel[f.Label]
		l.Faces++
		l.Found += hit
		t.ByLabel[f.Label] = l
	}
	t.Boxes += len(found)
	t.Photos++
}

// Precision is the share of found boxes that matched an annotated face
// (1 when none was found).
func (t *Tally) Precision() float64 {
	if t.Boxes == 0 {
		return 1
	}
	return float64(t.Right) / float64(t.Boxes)
}

// Scene is a photo and its annotated faces.
type Scene struct {
	Path  string
	Faces []Face
}

// ReadScenes reads dir/boxes.csv, the layout of ../shared/data/crowds
// (file,face,label,x0,y0,x1,y1: a row per annotated face, boxes in photo
// pixels, x1 and y1 exclusive), into its scenes in the order of their
// first rows, with their photos' paths under dir.
func ReadScenes(dir string) ([]Scene, error) {
	f, err := os.Open(filepath.Join(dir, "boxes.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("boxes.csv: %w", err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "file,face,label,x0,y0,x1,y1" {
		return nil, errors.New("boxes.csv: want the header file,face,label,x0,y0,x1,y1 and rows")
	}
	var out []Scene
	at := map[string]int{}
	for n, r := range rows[1:] {
		var v [4]int
		for i := range v {
			if v[i], err = strconv.Atoi(r[3+i]); err != nil {
				return nil, fmt.Errorf("boxes.csv line %d: %w", n+2, err)
			}
		}
		i, ok := at[r[0]]
		if !ok {
			i = len(out)
			at[r[0]] = i
			out = append(out, Scene{Path: filepath.Join(dir, r[0])})
		}
		out[i].Faces = append(out[i].Faces, Face{Box: image.Rect(v[0], v[1], v[2], v[3]), Label: r[2]})
	}
	return out, nil
}
