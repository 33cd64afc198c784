package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var small = Config{Persons: 6, EvalPersons: 3, AAF: 4, Seed: 7, Workers: 2}

func generate(t *testing.T, cfg Config) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	sum, err := Generate(context.Background(), dir, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Dir: dir, TrainPersons: cfg.Persons, EvalPersons: cfg.EvalPersons,
		TrainImages: 7 * cfg.Persons, EvalImages: 7 * cfg.EvalPersons, AAFImages: cfg.AAF}
	if sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	return dir
}

func readCSV(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(all) == 0 {
		t.Fatalf("%s: empty", path)
	}
	return all[0], all[1:]
}

func decode(t *testing.T, path string) (image.Image, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img, format
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestGenerateLayout(t *testing.T) {
	dir := generate(t, small)

	// nothing else next to the output (no temporary directories left)
	ents, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "out" {
		t.Errorf("parent holds %v, want only out", ents)
	}

	sizes := map[string]image.Point{}
	checkImage := func(rel string, w, h int) {
		t.Helper()
		img, format := decode(t, filepath.Join(dir, rel))
		if got := img.Bounds().Size(); got != image.Pt(w, h) {
			t.Errorf("%s is %v, want %dx%d", rel, got, w, h)
		}
		wantFormat := "jpeg"
		if strings.HasSuffix(rel, ".png") {
			wantFormat = "png"
		}
		if format != wantFormat {
			t.Errorf("%s is a %s file", rel, format)
		}
		sizes[filepath.ToSlash(rel)] = img.Bounds().Size()
	}

	// train
	header, rows := readCSV(t, filepath.Join(dir, "train", "train.csv"))
	if !slices.Equal(header, []string{"id", "gender", "race", "age", "path"}) {
		t.Fatalf("train.csv header %v", header)
	}
	if len(rows) != small.Persons {
		t.Fatalf("train.csv has %d rows, want %d", len(rows), small.Persons)
	}
	groups := map[int]int{}
	genders := map[string]int{}
	exts := map[string]int{}
	for i, r := range rows {
		id := fmt.Sprintf("%06d", i+1)
		if r[0] != id || r[2] != "Asian" || (r[1] != "male" && r[1] != "female") {
			t.Errorf("row %d: %v", i, r)
		}
		age := atoi(t, r[3])
		if age < 18 || age > 75 {
			t.Errorf("row %d: age %d", i, age)
		}
		if want := fmt.Sprintf("%s_%s_Asian_%d", id, r[1], age); r[4] != want {
			t.Errorf("row %d: path %q, want %q", i, r[4], want)
		}
		groups[AgeGroup(age)]++
		genders[r[1]]++
		files, err := os.ReadDir(filepath.Join(dir, "train", "images", r[4]))
		if err != nil {
			t.Fatal(err)
		}
		var stems []string
		for _, f := range files {
			ext := filepath.Ext(f.Name())
			exts[ext]++
			stems = append(stems, strings.TrimSuffix(f.Name(), ext))
			checkImage(filepath.Join("train", "images", r[4], f.Name()), 384, 512)
		}
		slices.Sort(stems)
		want := slices.Clone(PhotoNames[:])
		slices.Sort(want)
		if !slices.Equal(stems, want) {
			t.Errorf("%s holds %v", r[4], stems)
		}
	}
	if len(groups) != 3 || genders["male"] == 0 || genders["female"] == 0 {
		t.Errorf("age groups %v, genders %v: want all three groups and both genders", groups, genders)
	}
	if exts[".jpg"] == 0 || exts[".png"] == 0 || exts[".jpeg"] == 0 {
		t.Errorf("extensions %v: want a mix of .jpg, .jpeg and .png", exts)
	}
	if d, _ := os.ReadDir(filepath.Join(dir, "train", "images")); len(d) != small.Persons {
		t.Errorf("%d person folders, want %d", len(d), small.Persons)
	}

	// eval
	header, info := readCSV(t, filepath.Join(dir, "eval", "info.csv"))
	if !slices.Equal(header, []string{"ImageID", "ans"}) {
		t.Fatalf("info.csv header %v", header)
	}
	header, truth := readCSV(t, filepath.Join(dir, "eval", "truth.csv"))
	if !slices.Equal(header, []string{"ImageID", "mask", "gender", "age", "label"}) {
		t.Fatalf("truth.csv header %v", header)
	}
	if len(info) != 7*small.EvalPersons || len(truth) != len(info) {
		t.Fatalf("info.csv %d rows, truth.csv %d rows, want %d", len(info), len(truth), 7*small.EvalPersons)
	}
	hexName := regexp.MustCompile(`^[0-9a-f]{40}\.jpg$`)
	seen := map[string]bool{}
	masks := map[int]int{}
	for i, r := range info {
		if !hexName.MatchString(r[0]) || r[1] != "0" {
			t.Errorf("info.csv row %d: %v", i, r)
		}
		if seen[r[0]] {
			t.Errorf("ImageID %s twice", r[0])
		}
		seen[r[0]] = true
		tr := truth[i]
		if tr[0] != r[0] {
			t.Fatalf("truth.csv row %d is %s, info.csv has %s", i, tr[0], r[0])
		}
		m, g, age, label := atoi(t, tr[1]), atoi(t, tr[2]), atoi(t, tr[3]), atoi(t, tr[4])
		masks[m]++
		if m < 0 || m > 2 || g < 0 || g > 1 || age < 18 || age > 75 || label != m*6+g*3+AgeGroup(age) {
			t.Errorf("truth.csv row %d: %v", i, tr)
		}
		checkImage(filepath.Join("eval", "images", r[0]), 384, 512)
	}
	if n := small.EvalPersons; masks[0] != 5*n || masks[1] != n || masks[2] != n {
		t.Errorf("eval mask counts %v", masks)
	}
	if d, _ := os.ReadDir(filepath.Join(dir, "eval", "images")); len(d) != len(info) {
		t.Errorf("%d eval images, want %d", len(d), len(info))
	}

	// aaf
	aafName := regexp.MustCompile(`^(\d{5})A(\d{2})\.jpg$`)
	files, err := os.ReadDir(filepath.Join(dir, "aaf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != small.AAF {
		t.Fatalf("%d aaf files, want %d", len(files), small.AAF)
	}
	female := 0
	for _, f := range files {
		m := aafName.FindStringSubmatch(f.Name())
		if m == nil {
			t.Errorf("aaf name %q", f.Name())
			continue
		}
		if idx := atoi(t, m[1]); idx < 7381 {
			female++
		} else if idx > 13321 {
			t.Errorf("aaf index %d out of range", idx)
		}
		checkImage(filepath.Join("aaf", f.Name()), AAFWidth, AAFHeight)
	}
	if female != small.AAF/2 {
		t.Errorf("%d of %d aaf pictures in the female range, want half", female, small.AAF)
	}

	// faces.csv: one plausible box per picture
	header, boxes := readCSV(t, filepath.Join(dir, "faces.csv"))
	if !slices.Equal(header, []string{"path", "x0", "y0", "x1", "y1"}) {
		t.Fatalf("faces.csv header %v", header)
	}
	if len(boxes) != len(sizes) {
		t.Errorf("faces.csv has %d rows for %d pictures", len(boxes), len(sizes))
	}
	for _, r := range boxes {
		size, ok := sizes[r[0]]
		if !ok {
			t.Errorf("faces.csv names %s, which is not a picture", r[0])
			continue
		}
		b := image.Rect(atoi(t, r[1]), atoi(t, r[2]), atoi(t, r[3]), atoi(t, r[4]))
		k := float64(size.X) / 384
		if !b.In(image.Rectangle{Max: size}) || float64(b.Dx()) < 140*k || float64(b.Dx()) > 260*k || b.Dy() < b.Dx() {
			t.Errorf("%s: face box %v in a %v picture", r[0], b, size)
		}
	}
}

// hashes maps every file under dir to the SHA-256 of its bytes.
func hashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = sha256.Sum256(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := Config{Persons: 2, EvalPersons: 1, AAF: 2, Seed: 11, Workers: 1}
	a := hashes(t, generate(t, cfg))
	cfg.Workers = 4
	b := hashes(t, generate(t, cfg))
	if len(a) != (2+1)*7+2+4 {
		t.Errorf("%d files", len(a))
	}
	for name, h := range a {
		if b[name] != h {
			t.Errorf("%s differs between 1 and 4 workers", name)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d files with 1 worker, %d with 4", len(a), len(b))
	}

	cfg.Seed++
	c := hashes(t, generate(t, cfg))
	seen := map[[32]byte]string{}
	for name, h := range a {
		if filepath.Ext(name) != ".csv" {
			seen[h] = name
		}
	}
	for name, h := range c {
		if old, ok := seen[h]; ok {
			t.Errorf("seeds %d and %d both wrote the picture %s (%s)", cfg.Seed-1, cfg.Seed, name, old)
		}
	}
}

func TestGenerateTarget(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Persons: 1, Seed: 3}

	// an empty directory is fine
	dir := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(ctx, dir, cfg, nil); err != nil {
		t.Fatalf("empty dir: %v", err)
	}
	// a second run into it needs Force
	if _, err := Generate(ctx, dir, cfg, nil); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-empty dir: got %v, want ErrNotEmpty", err)
	}
	cfg.Force = true
	cfg.Persons = 2
	if _, err := Generate(ctx, dir, cfg, nil); err != nil {
		t.Fatalf("force over an earlier dataset: %v", err)
	}
	if d, _ := os.ReadDir(filepath.Join(dir, "train", "images")); len(d) != 2 {
		t.Errorf("after force: %d persons, want 2", len(d))
	}
	// Force never deletes something that is not a demo dataset
	other := filepath.Join(t.TempDir(), "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(ctx, other, cfg, nil); err == nil {
		t.Fatal("force replaced a directory that was not a demo dataset")
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Fatal(err)
	}
	// a file in the way
	file := filepath.Join(other, "precious.txt")
	if _, err := Generate(ctx, file, cfg, nil); err == nil {
		t.Fatal("wrote over a file")
	}
	// bad configs
	for _, c := range []Config{{}, {Persons: -1}, {AAF: 20000}} {
		if _, err := Generate(ctx, filepath.Join(t.TempDir(), "x"), c, nil); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestGenerateCancel(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	_, err := Generate(ctx, dir, Config{Persons: 4, Workers: 2, Seed: 1}, func(done, total int) {
		calls++
		if total != 28 || done != calls {
			t.Errorf("progress(%d, %d) on call %d", done, total, calls)
		}
		if done == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("cancelled run left %v behind", ents)
	}
}

// region is a sub-rectangle of a face box, in fractions of its size.
func region(box image.Rectangle, x0, y0, x1, y1 float64) image.Rectangle {
	w, h := float64(box.Dx()), float64(box.Dy())
	return image.Rect(box.Min.X+int(x0*w), box.Min.Y+int(y0*h), box.Min.X+int(x1*w), box.Min.Y+int(y1*h))
}

// meanRGB is the mean colour of r in img.
func meanRGB(img *image.RGBA, r image.Rectangle) [3]float64 {
	r = r.Intersect(img.Bounds())
	var s [3]float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := img.Pix[img.PixOffset(x, y):]
			for c := 0; c < 3; c++ {
				s[c] += float64(p[c])
			}
		}
	}
	n := float64(r.Dx() * r.Dy())
	for c := range s {
		s[c] /= n
	}
	return s
}

func colourDist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

func brightness(c [3]float64) float64 { return (c[0] + c[1] + c[2]) / 3 }

// The same seed draws the same scene (pose, light, background), so
// changing one attribute changes only what it should.
func TestPortraitCues(t *testing.T) {
	const n = 12
	noseR := func(b image.Rectangle) image.Rectangle { return region(b, 0.42, 0.56, 0.58, 0.64) }
	mouthR := func(b image.Rectangle) image.Rectangle { return region(b, 0.38, 0.8, 0.62, 0.86) }
	chinR := func(b image.Rectangle) image.Rectangle { return region(b, 0.4, 0.9, 0.6, 0.97) }
	var genderMiss, ageMiss int
	for i := 0; i < n; i++ {
		seed := uint64(1000 + i)
		base := Attrs{Mask: MaskNone, Gender: i % 2, Age: 20 + 5*i, Person: uint64(50 + i)}
		none, box := Portrait(seed, base)
		w := base
		w.Mask = MaskWear
		wear, box2 := Portrait(seed, w)
		if box2 != box {
			t.Fatalf("seed %d: mask changed the face box %v -> %v", seed, box, box2)
		}
		w.Mask = MaskIncorrect
		inc, _ := Portrait(seed, w)

		// a worn mask hides nose, mouth and chin; an incorrect one leaves
		// the nose visible but covers the chin
		for name, r := range map[string]image.Rectangle{"nose": noseR(box), "mouth": mouthR(box), "chin": chinR(box)} {
			if d := colourDist(meanRGB(none, r), meanRGB(wear, r)); d < 25 {
				t.Errorf("seed %d: %s region differs by only %.1f between worn and no mask", seed, name, d)
			}
		}
		if d := colourDist(meanRGB(none, noseR(box)), meanRGB(inc, noseR(box))); d > 12 {
			t.Errorf("seed %d: nose region differs by %.1f with an incorrect mask; the nose should show", seed, d)
		}
		if d := colourDist(meanRGB(none, chinR(box)), meanRGB(inc, chinR(box))); d < 25 {
			t.Errorf("seed %d: chin region differs by only %.1f with an incorrect mask", seed, d)
		}

		// old hair is grey or white: the top of the head gets brighter
		young, old := base, base
		young.Age, old.Age = 22, 70
		yi, yb := Portrait(seed, young)
		oi, _ := Portrait(seed, old)
		hair := image.Rect(yb.Min.X+yb.Dx()*3/10, yb.Min.Y-yb.Dy()/20, yb.Max.X-yb.Dx()*3/10, yb.Min.Y+yb.Dy()/10)
		if d := brightness(meanRGB(oi, hair)) - brightness(meanRGB(yi, hair)); d < 40 {
			ageMiss++
			t.Logf("seed %d: hair only %.1f brighter at 70 than at 22", seed, d)
		}
		// and wrinkles appear: nasolabial folds, marionette lines
		ry := roughness(yi, region(yb, 0.25, 0.64, 0.42, 0.8)) + roughness(yi, region(yb, 0.58, 0.64, 0.75, 0.8))
		ro := roughness(oi, region(yb, 0.25, 0.64, 0.42, 0.8)) + roughness(oi, region(yb, 0.58, 0.64, 0.75, 0.8))
		if ro < ry+0.5 {
			ageMiss++
			t.Logf("seed %d: cheek roughness %.2f at 70, %.2f at 22", seed, ro, ry)
		}

		// women have hair falling beside the face, men show background
		m, f := base, base
		m.Gender, f.Gender = Male, Female
		mi, mb := Portrait(seed, m)
		fi, _ := Portrait(seed, f)
		side := image.Rect(mb.Min.X-mb.Dx()/8, mb.Min.Y+mb.Dy()*7/10, mb.Min.X-mb.Dx()/40, mb.Min.Y+mb.Dy()*85/100)
		if d := colourDist(meanRGB(mi, side), meanRGB(fi, side)); d < 30 {
			genderMiss++
			t.Logf("seed %d: beside the face men and women differ by only %.1f", seed, d)
		}
	}
	// backgrounds are random, so allow a rare coincidence
	if genderMiss > 1 {
		t.Errorf("gender cue missing in %d of %d portraits", genderMiss, n)
	}
	if ageMiss > 1 {
		t.Errorf("age cue missing %d times in %d portraits", ageMiss, n)
	}
}

// roughness is the mean absolute difference between horizontally
// neighbouring grey values, on a 2-pixel step to see past the noise.
func roughness(img *image.RGBA, r image.Rectangle) float64 {
	grey := func(x, y int) float64 {
		p := img.Pix[img.PixOffset(x, y):]
		return (float64(p[0]) + float64(p[1]) + float64(p[2])) / 3
	}
	s, n := 0.0, 0
	for y := r.Min.Y; y+2 < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			s += math.Abs(grey(x, y) - grey(x, y+2))
			n++
		}
	}
	return s / float64(n)
}

func TestPortrait(t *testing.T) {
	a := Attrs{Mask: MaskIncorrect, Gender: Female, Age: 61}
	img, box := Portrait(9, a)
	img2, box2 := Portrait(9, a)
	if !bytes.Equal(img.Pix, img2.Pix) || box != box2 {
		t.Error("Portrait is not deterministic")
	}
	if img.Bounds() != image.Rect(0, 0, 384, 512) {
		t.Errorf("default size %v", img.Bounds())
	}
	if !box.In(img.Bounds()) || box.Dx() < 140 || box.Dx() > 260 {
		t.Errorf("face box %v", box)
	}
	img3, _ := Portrait(10, a)
	if bytes.Equal(img.Pix, img3.Pix) {
		t.Error("seeds 9 and 10 drew the same picture")
	}
	// the same person looks the same across photos: same skin on the cheek
	p := Attrs{Mask: MaskNone, Gender: Male, Age: 40, Person: 77, Width: 320, Height: 400}
	small, sbox := Portrait(5, p)
	if small.Bounds() != image.Rect(0, 0, 320, 400) || !sbox.In(small.Bounds()) {
		t.Errorf("320x400 portrait: %v, box %v", small.Bounds(), sbox)
	}
}

func TestLabel(t *testing.T) {
	for _, c := range []struct{ mask, gender, age, want int }{
		{0, 0, 18, 0}, {0, 0, 29, 0}, {0, 0, 30, 1}, {0, 0, 59, 1}, {0, 0, 60, 2},
		{0, 1, 45, 4}, {1, 0, 70, 8}, {2, 1, 75, 17}, {2, 0, 20, 12},
	} {
		if got := Label(c.mask, c.gender, c.age); got != c.want {
			t.Errorf("Label(%d, %d, %d) = %d, want %d", c.mask, c.gender, c.age, got, c.want)
		}
	}
	for i, name := range PhotoNames {
		want := MaskWear
		if name == "incorrect_mask" {
			want = MaskIncorrect
		} else if name == "normal" {
			want = MaskNone
		}
		if PhotoMask(i) != want {
			t.Errorf("PhotoMask(%d) = %d for %s", i, PhotoMask(i), name)
		}
	}
}

func BenchmarkPortrait(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Portrait(uint64(i), Attrs{Mask: i % 3, Gender: i % 2, Age: 18 + i%58, Person: uint64(i/7 + 1)})
	}
}
