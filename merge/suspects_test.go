package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/fix"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// softmaxInto writes the softmax of z into p.
func softmaxInto(p []float32, z []float64) {
	top := math.Inf(-1)
	for _, v := range z {
		top = max(top, v)
	}
	sum := 0.0
	for _, v := range z {
		sum += math.Exp(v - top)
	}
	for c, v := range z {
		p[c] = float32(math.Exp(v-top) / sum)
	}
}

// modelProbs draws a model's probabilities for a row whose true classes
// are truth: logits with noise, the true class raised by a margin that
// makes the model confident and mostly right (hard rows, share hard,
// get a small margin and are often wrong).
func modelProbs(rng *rand.Rand, p *pred.Probs, i int, truth [3]int8, hard float64) {
	pm, pg, pa, _ := p.Row(i)
	for h, dst := range [][]float32{pm, pg, pa} {
		z := make([]float64, len(dst))
		for c := range z {
			z[c] = rng.NormFloat64()
		}
		if rng.Float64() < hard {
			z[truth[h]] += rng.Float64() * 1.5
		} else {
			z[truth[h]] += 4 + rng.Float64()*4
		}
		softmaxInto(dst, z)
	}
}

// oofTable writes samples with p's predictions as an oof.arrow (with an
// origin column when a sample is not original).
func oofTable(t *testing.T, path string, samples []table.Sample, p *pred.Probs) string {
	t.Helper()
	p.CombineHeads()
	core := table.NewSchema(label.DefaultBins)
	if slices.ContainsFunc(samples, func(s table.Sample) bool { return !s.Origin.IsOriginal() }) {
		core = table.NewSchema(label.DefaultBins, table.OriginField)
	}
	schema := pred.Schema(core)
	var out []arrow.RecordBatch
	row := 0
	for _, rec := range table.Records(memory.DefaultAllocator, core, samples) {
		ext, err := pred.Extend(rec, schema, p, row)
		if err != nil {
			t.Fatal(err)
		}
		row += int(rec.NumRows())
		rec.Release()
		out = append(out, ext)
	}
	return writeRecords(t, path, schema, out)
}

type flip struct {
	key   string // id or person
	field string
}

// flippedOOF is n rows, one person each, predicted by a confident, mostly
// right model, with the label of flips rows changed to another class of a
// random head. It returns the table, its samples and the flips, each with
// the true class's name.
func flippedOOF(t *testing.T, path string, n, flips int, seed uint64) (string, []table.Sample, map[flip]string) {
	rng := rand.New(rand.NewPCG(seed, 2))
	p := pred.New(n)
	var samples []table.Sample
	for i := range n {
		truth := [3]int8{int8(rng.IntN(3)), int8(rng.IntN(2)), int8(rng.IntN(3))}
		modelProbs(rng, p, i, truth, 0.05)
		s := table.NewSample(fmt.Sprintf("row%03d", i), "", fmt.Sprintf("person%03d", i), "test", "train")
		s.Mask, s.Gender, s.AgeGroup = truth[0], truth[1], truth[2]
		samples = append(samples, s)
	}
	planted := map[flip]string{}
	for _, i := range rng.Perm(n)[:flips] {
		s := &samples[i]
		h := label.Heads[rng.IntN(3)]
		part := map[label.Head]*int8{label.HeadMask: &s.Mask, label.HeadGender: &s.Gender, label.HeadAgeGroup: &s.AgeGroup}[h]
		planted[flip{s.ID, string(h)}] = label.Name(h, *part)
		*part = int8((int(*part) + 1 + rng.IntN(label.Size(h)-1)) % label.Size(h))
	}
	for i := range samples {
		samples[i].Relabel()
	}
	return oofTable(t, path, samples, p), samples, planted
}

// parseSuspects reads facet-merge suspects' output as facet-prep --fix
// does.
func parseSuspects(t *testing.T, out []byte) []fix.Correction {
	t.Helper()
	cs, err := fix.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("the fix reader refuses the suspects: %v\n%s", err, out)
	}
	return cs
}

// Tables of 600 rows with 30 planted label flips each, their model
// confident and mostly right (see modelProbs): confident learning finds
// most flips and few others, and its corrections restore the true labels.
// Recall and precision are pooled over five tables (150 flips).
func TestSuspectsPlantedFlips(t *testing.T) {
	for _, method := range []string{"threshold", "noise-rate"} {
		t.Run(method, func(t *testing.T) {
			suspects, found, planted := 0, 0, 0
			for seed := uint64(1); seed <= 5; seed++ {
				path, samples, flips := flippedOOF(t, filepath.Join(t.TempDir(), "oof.arrow"), 600, 30, seed)
				stdout, stderr, err := runMerge(t, nil, "suspects", "--method", method, path)
				if err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				cs := parseSuspects(t, stdout)
				hits := 0
				for _, c := range cs {
					if c.By != "id" {
						t.Errorf("line %d: by %s, want id (one row per person)", c.Line, c.By)
					}
					if want, ok := flips[flip{c.Key, c.Field}]; ok && c.Value == want {
						hits++
					}
				}
				t.Logf("seed %d: %d suspects, %d of %d flips found with their true class", seed, len(cs), hits, len(flips))
				suspects, found, planted = suspects+len(cs), found+hits, planted+len(flips)
				// facet-prep --fix takes the file as it is.
				changes, err := fix.Apply(samples, cs, label.DefaultBins)
				if err != nil {
					t.Fatal(err)
				}
				if len(changes) != len(cs) {
					t.Errorf("%d corrections made %d changes", len(cs), len(changes))
				}
			}
			recall, precision := float64(found)/float64(planted), float64(found)/float64(max(1, suspects))
			t.Logf("%s: recall %.3f (%d/%d), precision %.3f (%d/%d)", method, recall, found, planted, precision, found, suspects)
			if recall < 0.8 || precision < 0.8 {
				t.Errorf("recall %.3f, precision %.3f: want both >= 0.8", recall, precision)
			}
		})
	}
}

// personOOF is 40 competition-like persons of 7 photos (5 worn masks,
// incorrect, none) with planted errors: three persons' gender, one
// person's age group, two persons' incorrect and none photos swapped,
// one photo of a person given the wrong gender, and augmented rows with
// wrong labels. Each image is a PNG under dir, red for the flipped.
func personOOF(t *testing.T, dir string) (string, []table.Sample, [][3]int8, map[flip]string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	var samples []table.Sample
	var truth [][3]int8
	for pi := range 40 {
		g, a := int8(rng.IntN(2)), int8(rng.IntN(3))
		for i, m := range []int8{0, 0, 0, 0, 0, 1, 2} {
			s := table.NewSample(fmt.Sprintf("%06d_x/%d", pi, i), filepath.Join(dir, fmt.Sprintf("%d-%d.png", pi, i)), fmt.Sprintf("%06d", pi), "competition", "train")
			s.Mask, s.Gender, s.AgeGroup = m, g, a
			samples = append(samples, s)
			truth = append(truth, [3]int8{m, g, a})
		}
	}
	for i := range 6 { // augmented copies of person 0 with wrong gender
		s := samples[i]
		s.ID, s.Source, s.Gender = s.ID+"/aug", "augment", 1-s.Gender
		samples = append(samples, s)
		truth = append(truth, [3]int8{s.Mask, 1 - s.Gender, s.AgeGroup})
	}
	planted := map[flip]string{}
	person := func(pi int) []table.Sample { return samples[pi*7 : pi*7+7] }
	for _, pi := range []int{3, 11, 25} {
		planted[flip{fmt.Sprintf("%06d", pi), "gender"}] = label.Name(label.HeadGender, person(pi)[0].Gender)
		for i := range person(pi) {
			person(pi)[i].Gender = 1 - person(pi)[i].Gender
		}
	}
	planted[flip{fmt.Sprintf("%06d", 30), "age_group"}] = label.Name(label.HeadAgeGroup, person(30)[0].AgeGroup)
	for i := range person(30) {
		person(30)[i].AgeGroup = (person(30)[i].AgeGroup + 1) % 3
	}
	for _, pi := range []int{5, 17} {
		inc, none := &person(pi)[5], &person(pi)[6]
		planted[flip{inc.ID, "mask"}], planted[flip{none.ID, "mask"}] = "incorrect", "none"
		inc.Mask, none.Mask = label.NoMask, label.Incorrect
	}
	one := &samples[20*7+2]
	planted[flip{one.ID, "gender"}] = label.Name(label.HeadGender, one.Gender)
	one.Gender = 1 - one.Gender
	p := pred.New(len(samples))
	flipped := map[string]bool{}
	for k := range planted {
		flipped[k.key] = true
	}
	oneRow := 20*7 + 2
	for i := range samples {
		modelProbs(rng, p, i, truth[i], 0.05)
		if i == oneRow { // the model is sure of this photo's true gender
			_, pg, _, _ := p.Row(i)
			pg[truth[i][1]], pg[1-truth[i][1]] = 0.999, 0.001
		}
		samples[i].Relabel()
		c := color.RGBA{40, 120, 40, 255}
		if flipped[samples[i].ID] || flipped[samples[i].Person] {
			c = color.RGBA{220, 0, 0, 255}
		}
		writePNG(t, samples[i].Path, c)
	}
	return oofTable(t, filepath.Join(dir, "oof.arrow"), samples, p), samples, truth, planted
}

func writePNG(t *testing.T, path string, c color.Color) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 64))
	draw.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSuspectsByPerson(t *testing.T) {
	dir := t.TempDir()
	path, samples, truth, planted := personOOF(t, dir)
	sheet := filepath.Join(dir, "sheet.png")
	stdout, stderr, err := runMerge(t, nil, "suspects", "--sheet", sheet, path)
	t.Logf("%s\n%s", stderr, stdout)
	if err != nil {
		t.Fatal(err)
	}
	cs := parseSuspects(t, stdout)
	found := map[flip]bool{}
	for _, c := range cs {
		k := flip{c.Key, c.Field}
		if planted[k] == c.Value {
			found[k] = true
		} else {
			t.Errorf("line %d: %s %s %s %s is no planted error", c.Line, c.By, c.Key, c.Field, c.Value)
		}
		wantBy := "id"
		if c.Field != "mask" && !strings.Contains(c.Key, "/") {
			wantBy = "person"
		}
		if c.By != wantBy {
			t.Errorf("line %d: by %s, want %s", c.Line, c.By, wantBy)
		}
	}
	for k, v := range planted {
		if !found[k] {
			t.Errorf("planted error %s %s (truly %s) not found", k.key, k.field, v)
		}
	}
	// The corrections restore every label of facet-prep's rows (not the
	// augmented ones).
	fixable := slices.Clone(samples[:280])
	if _, err := fix.Apply(fixable, cs, label.DefaultBins); err != nil {
		t.Fatal(err)
	}
	for i, s := range fixable {
		if got := [3]int8{s.Mask, s.Gender, s.AgeGroup}; got != truth[i] {
			t.Errorf("%s: labels %v after the fix, truly %v", s.ID, got, truth[i])
		}
	}
	// The sheet: one cell per suspect, the flipped (red) photos drawn.
	img := testdata.DecodePNG(t, sheet)
	cellW, cellH := thumbSide+cellPad, thumbSide+captionLines*lineHeight+cellPad
	rows := (len(cs) + sheetCols - 1) / sheetCols
	if b := img.Bounds(); b.Dx() != sheetCols*cellW+cellPad || b.Dy() != rows*cellH+cellPad {
		t.Errorf("sheet %v for %d suspects", b, len(cs))
	}
	for k := range cs {
		x, y := cellPad+(k%sheetCols)*cellW+thumbSide/2, cellPad+(k/sheetCols)*cellH+thumbSide/2
		if r, g, _, _ := img.At(x, y).RGBA(); r>>8 < 200 || g>>8 > 20 {
			t.Errorf("cell %d: centre %v, want the red photo", k, img.At(x, y))
		}
	}
}

func TestSuspectsOptions(t *testing.T) {
	dir := t.TempDir()
	path, _, _, _ := personOOF(t, dir)
	// --by id: every line names a photo; a person's gender flip gives a
	// line for each of its photos the model judges so.
	stdout, _, err := runMerge(t, nil, "suspects", "-q", "--by", "id", "--heads", "gender", path)
	if err != nil {
		t.Fatal(err)
	}
	cs := parseSuspects(t, stdout)
	perPerson := map[string]int{}
	for _, c := range cs {
		if c.By != "id" || c.Field != "gender" {
			t.Errorf("line %d: %s %s %s with --by id --heads gender", c.Line, c.By, c.Key, c.Field)
		}
		perPerson[c.Key[:6]]++
	}
	if perPerson["000003"] < 4 || perPerson["000011"] < 4 {
		t.Errorf("photos per flipped person: %v", perPerson)
	}
	// --rank self: lowest self-confidence first.
	stdout, _, err = runMerge(t, nil, "suspects", "-q", "--rank", "self", path)
	if err != nil {
		t.Fatal(err)
	}
	var prev float64 = -1
	for i, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n")[1:] {
		f := strings.Split(line, ",")
		var self float64
		if _, err := fmt.Sscan(f[len(f)-3], &self); err != nil {
			t.Fatal(err)
		}
		if self < prev {
			t.Errorf("line %d: self confidence %.3f after %.3f", i+2, self, prev)
		}
		prev = self
	}
	// An image that cannot be read leaves a grey cell, not an error.
	if err := os.WriteFile(filepath.Join(dir, "3-0.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runMerge(t, nil, "suspects", "-q", "--by", "id", "--sheet", filepath.Join(dir, "s.png"), "-o", filepath.Join(dir, "s.csv"), path); err != nil {
		t.Errorf("unreadable image: %v\n%s", err, stderr)
	}
	// A table with no known label in the judged heads is an error.
	noLabels, _, _ := flippedOOF(t, filepath.Join(dir, "nolabels.arrow"), 0, 0, 1)
	if _, _, err := runMerge(t, nil, "suspects", noLabels); err == nil || !strings.Contains(err.Error(), "no row has a known") {
		t.Errorf("no labels: %v", err)
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{"utkface/22_1_2_20170116172702296.jpg.chip.jpg", "utkface/22_1..jpg.chip.jpg"},
	} {
		if got := clip(tc.in, 26); got != tc.want || len([]rune(got)) > 26 {
			t.Errorf("clip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Rows made from another row's image (origin augmented or synthetic mask,
// whatever their source) are never suspects: facet-prep does not know
// their ids. The same rows marked original are.
func TestSuspectsLeaveDerivedRowsOut(t *testing.T) {
	for _, tc := range []struct {
		origin table.Origin
		listed bool
	}{{table.SyntheticMask, false}, {table.Augmented, false}, {table.Original, true}} {
		t.Run(tc.origin.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			n, copies := 120, 10
			p := pred.New(n + copies)
			var samples []table.Sample
			for i := range n + copies {
				truth := [3]int8{int8(rng.IntN(3)), int8(rng.IntN(2)), int8(rng.IntN(3))}
				if i >= n {
					truth = [3]int8{samples[i-n].Mask, samples[i-n].Gender, samples[i-n].AgeGroup}
				}
				modelProbs(rng, p, i, truth, 0)
				s := table.NewSample(fmt.Sprintf("row%03d", i), "", fmt.Sprintf("person%03d", i), "test", "train")
				s.Mask, s.Gender, s.AgeGroup = truth[0], truth[1], truth[2]
				if i >= n { // a copy of row i-n with the wrong gender
					s.ID, s.Person, s.Gender, s.Origin = fmt.Sprintf("row%03d~copy", i-n), samples[i-n].Person, 1-s.Gender, tc.origin
				}
				s.Relabel()
				samples = append(samples, s)
			}
			path := oofTable(t, filepath.Join(t.TempDir(), "oof.arrow"), samples, p)
			stdout, stderr, err := runMerge(t, nil, "suspects", "--by", "id", "--heads", "gender", path)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			listed := strings.Count(string(stdout), "~copy")
			if tc.listed && listed != copies || !tc.listed && listed != 0 {
				t.Errorf("%d of the %d wrong copies listed:\n%s", listed, copies, stdout)
			}
		})
	}
}
