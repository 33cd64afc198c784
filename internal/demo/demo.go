// Package demo generates a small synthetic face-mask dataset laid out like
// the competition data (train/, eval/) plus an All-Age-Faces style folder
// (aaf/), so that every facet stage can be tried end to end without the real
// data.
//
// The pictures are drawn, not photographed: a shaded face with eyes, brows,
// nose, mouth, ears, hair, neck and clothes on a random background, with the
// attributes the classifier must learn made visible:
//
//   - mask: worn (nose, mouth and chin covered), incorrect (the same mask
//     pulled under the nose or down on the chin) or none; surgical blue,
//     white KF94, black, plain and patterned masks with straps to the ears;
//   - gender: long hair beside the face, thin arched brows, lip colour,
//     eyeliner and a narrower chin for women; short hair, thick straight
//     brows, a squarer jaw and sometimes stubble for men;
//   - age: hair greys and wrinkles (forehead, crow's feet, under-eye bags,
//     nasolabial and marionette lines) deepen continuously with age, men's
//     hairline recedes, eyes narrow a little.
//
// Everything is deterministic: a picture depends only on the seed and its
// place in the dataset (each picture has its own PCG sources, seeded from
// the dataset seed and the picture's kind, person and photo), never on the
// number of workers or on scheduling, so the same seed gives byte-identical
// files (on one CPU architecture: Go may fuse floating-point operations
// differently elsewhere). Photo seeds separate the scene (pose, light,
// background, camera) from the details (mask style, gaze), so Portrait with
// one seed and different attributes shows the same scene.
//
// The faces are shaded (dark eye sockets, bright nose bridge, cheek and
// forehead highlights, lit from one side) so that real face detectors find
// them. On the default dataset (60 train persons, 20 eval persons, 60 AAF
// pictures; seeds 1 and 2) OpenCV 4.6's haarcascade_frontalface_default
// (scaleFactor 1.1, minNeighbors 5, minSize 60x60, no histogram
// equalisation) finds the drawn face in 100% of unmasked pictures, 80-89%
// of incorrectly masked and about 65% of masked ones; dlib 19.24's HOG
// frontal face detector (no upsampling) in 100%, about 80% and about 30%.
// Masked faces are harder, as with real photos.
package demo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/work"
)

// Config says how much to generate.
type Config struct {
	Persons     int    // train persons, 7 photos each
	EvalPersons int    // eval persons, 7 photos each, hashed names
	AAF         int    // All-Age-Faces style unmasked pictures
	Seed        uint64 // same seed, same bytes
	Workers     int    // parallel renderers; <= 0 means runtime.NumCPU()
	// Force replaces an existing non-empty output directory, but only one
	// that holds nothing except what Generate writes (an earlier demo
	// dataset), so a typo cannot wipe an unrelated folder.
	Force bool
}

// Summary tells what Generate wrote.
type Summary struct {
	Dir                       string
	TrainPersons, EvalPersons int
	TrainImages, EvalImages   int
	AAFImages                 int
}

// Images is the total number of pictures written.
func (s Summary) Images() int { return s.TrainImages + s.EvalImages + s.AAFImages }

// PhotoNames are the seven file stems of a competition person, in order;
// the first five are masks worn correctly, then incorrect, then no mask.
var PhotoNames = [7]string{"mask1", "mask2", "mask3", "mask4", "mask5", "incorrect_mask", "normal"}

// PhotoMask is the mask state of PhotoNames[i].
func PhotoMask(i int) int {
	switch {
	case i < 5:
		return MaskWear
	case i == 5:
		return MaskIncorrect
	}
	return MaskNone
}

// All-Age-Faces index ranges: 00000-07380 female, 07381-13321 male.
const (
	aafFemale = 7381
	aafMale   = 13322 - aafFemale
)

// AAF picture size (portrait, smaller than the competition's).
const (
	AAFWidth  = 320
	AAFHeight = 400
)

// ErrNotEmpty is returned when the output directory exists, is not empty,
// and Config.Force is not set.
var ErrNotEmpty = errors.New("output directory exists and is not empty")

// Generated files and folders at the top of the output directory; Force
// only replaces a directory that holds nothing else.
var topLevel = []string{"train", "eval", "aaf", "faces.csv"}

const (
	kindTrain = 1
	kindEval  = 2
	kindAAF   = 3
)

type job struct {
	rel   string // path relative to the output directory
	seed  uint64
	attrs Attrs
}

type person struct {
	gender, age int
	id          uint64 // look seed
}

type plan struct {
	jobs  []job
	train [][]string // train.csv rows
	info  [][]string // eval rows: ImageID, mask, gender, age, label
}

// derive hashes the dataset seed and a position into a 64-bit seed.
func derive(vals ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc909)
	for _, v := range vals {
		h = mix64(h ^ mix64(v+0x9e3779b97f4a7c15))
	}
	return h
}

// makePerson stratifies: age group cycles fastest, then gender, so every six
// consecutive persons cover the six gender x age-group cells.
func makePerson(seed uint64, kind, i int, maxAge int) person {
	id := derive(seed, uint64(kind), uint64(i), 0)
	g := i % 3
	gender := (i / 3) % 2
	h := derive(id, 1)
	// Ages within the competition's age groups (label.DefaultBins).
	bins := label.DefaultBins
	lo, hi := [3]int{18, bins[0], bins[1]}[g], [3]int{bins[0] - 1, bins[1] - 1, maxAge}[g]
	age := lo + int(h%uint64(hi-lo+1))
	return person{gender: gender, age: age, id: id}
}

func genderName(g int) string {
	if g == Female {
		return "female"
	}
	return "male"
}

// extFor mixes extensions like the real data: a few persons are all .png or
// all .jpeg, a few have one .png and one .jpeg photo, the rest is .jpg.
func extFor(n, photo int) string {
	switch {
	case n%20 == 10:
		return ".png"
	case n%20 == 0:
		return ".jpeg"
	case n%10 == 5 && photo == 5:
		return ".png"
	case n%10 == 5 && photo == 6:
		return ".jpeg"
	}
	return ".jpg"
}

// EvalImageID is the hashed file name of eval photo k of eval person i.
func EvalImageID(seed uint64, i, k int) string {
	h := sha1.Sum([]byte(fmt.Sprintf("facet-demo/eval/%d/%d/%d", seed, i, k)))
	return hex.EncodeToString(h[:]) + ".jpg"
}

func makePlan(cfg Config) plan {
	var p plan
	for i := 0; i < cfg.Persons; i++ {
		pe := makePerson(cfg.Seed, kindTrain, i, 75)
		id := fmt.Sprintf("%06d", i+1)
		folder := fmt.Sprintf("%s_%s_Asian_%d", id, genderName(pe.gender), pe.age)
		p.train = append(p.train, []string{id, genderName(pe.gender), "Asian", strconv.Itoa(pe.age), folder})
		for k, name := range PhotoNames {
			p.jobs = append(p.jobs, job{
				rel:   filepath.Join("train", "images", folder, name+extFor(i+1, k)),
				seed:  derive(cfg.Seed, kindTrain, uint64(i), uint64(k)+1),
				attrs: Attrs{Mask: PhotoMask(k), Gender: pe.gender, Age: pe.age, Person: pe.id},
			})
		}
	}
	var eval []job
	for i := 0; i < cfg.EvalPersons; i++ {
		pe := makePerson(cfg.Seed, kindEval, i, 75)
		for k := range PhotoNames {
			name := EvalImageID(cfg.Seed, i, k)
			m := PhotoMask(k)
			eval = append(eval, job{
				rel:   filepath.Join("eval", "images", name),
				seed:  derive(cfg.Seed, kindEval, uint64(i), uint64(k)+1),
				attrs: Attrs{Mask: m, Gender: pe.gender, Age: pe.age, Person: pe.id},
			})
			p.info = append(p.info, []string{name, strconv.Itoa(m), strconv.Itoa(pe.gender), strconv.Itoa(pe.age), strconv.Itoa(Label(m, pe.gender, pe.age))})
		}
	}
	// hashed names are in random order already; sorting hides the persons
	slices.SortFunc(eval, func(a, b job) int { return cmpStr(a.rel, b.rel) })
	slices.SortFunc(p.info, func(a, b []string) int { return cmpStr(a[0], b[0]) })
	p.jobs = append(p.jobs, eval...)

	nf := (cfg.AAF + 1) / 2
	nm := cfg.AAF - nf
	for k := 0; k < cfg.AAF; k++ {
		pe := makePerson(cfg.Seed, kindAAF, k, 80)
		var idx int
		if k < nf {
			pe.gender = Female
			idx = k * aafFemale / nf
		} else {
			pe.gender = Male
			idx = aafFemale + (k-nf)*aafMale/nm
		}
		p.jobs = append(p.jobs, job{
			rel:   filepath.Join("aaf", fmt.Sprintf("%05dA%02d.jpg", idx, pe.age)),
			seed:  derive(cfg.Seed, kindAAF, uint64(k), 1),
			attrs: Attrs{Mask: MaskNone, Gender: pe.gender, Age: pe.age, Person: pe.id, Width: AAFWidth, Height: AAFHeight},
		})
	}
	return p
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// encode renders one job and returns the encoded file and the face box.
func encode(j job) ([]byte, image.Rectangle, error) {
	img, r := Portrait(j.seed, j.attrs)
	var buf bytes.Buffer
	var err error
	switch filepath.Ext(j.rel) {
	case ".png":
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		err = enc.Encode(&buf, img)
	default:
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	}
	return buf.Bytes(), r, err
}

// checkTarget says whether dir may be (re)placed.
func checkTarget(dir string, force bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	for _, e := range ents {
		if !slices.Contains(topLevel, e.Name()) {
			return fmt.Errorf("%s holds %q, which is not from a demo dataset; refusing to replace it", dir, e.Name())
		}
	}
	return nil
}

func validate(cfg Config) error {
	switch {
	case cfg.Persons < 0 || cfg.EvalPersons < 0 || cfg.AAF < 0:
		return errors.New("counts must not be negative")
	case cfg.Persons > 999999:
		return fmt.Errorf("at most 999999 train persons (ids have 6 digits), got %d", cfg.Persons)
	case cfg.AAF > 2*aafMale:
		return fmt.Errorf("at most %d AAF pictures, got %d", 2*aafMale, cfg.AAF)
	case cfg.Persons+cfg.EvalPersons+cfg.AAF == 0:
		return errors.New("nothing to generate")
	}
	return nil
}

// Generate writes a dataset to dir:
//
//	dir/train/train.csv          id,gender,race,age,path
//	dir/train/images/<id>_<gender>_Asian_<age>/{mask1..mask5,incorrect_mask,normal}.{jpg,jpeg,png}
//	dir/eval/info.csv            ImageID,ans (ans = 0)
//	dir/eval/images/<40 hex>.jpg
//	dir/eval/truth.csv           ImageID,mask,gender,age,label (the hidden answers)
//	dir/aaf/<index>A<age>.jpg    00000-07380 female, 07381-13321 male, no masks
//	dir/faces.csv                path,x0,y0,x1,y1: the drawn face box of every picture
//
// Train and eval pictures are 384x512, AAF ones 320x400. dir must not exist
// or be empty unless cfg.Force is set (see Config). Everything is written
// into a temporary directory next to dir that is renamed into place at the
// end, so a failed or cancelled run leaves nothing behind. progress, when
// not nil, is called from Generate's goroutine after every picture.
func Generate(ctx context.Context, dir string, cfg Config, progress func(done, total int)) (Summary, error) {
	if err := validate(cfg); err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	dir = filepath.Clean(dir)
	if err := checkTarget(dir, cfg.Force); err != nil {
		return Summary{}, err
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	pl := makePlan(cfg)
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Summary{}, err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".partial-")
	if err != nil {
		return Summary{}, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Summary{}, err
	}

	// folders first, so the workers only write files
	seen := map[string]bool{}
	for _, j := range pl.jobs {
		d := filepath.Dir(j.rel)
		if !seen[d] {
			seen[d] = true
			if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
				return Summary{}, err
			}
		}
	}

	boxes, err := runJobs(ctx, tmp, pl.jobs, workers, progress)
	if err != nil {
		return Summary{}, err
	}

	var sum Summary
	sum.Dir = dir
	sum.TrainPersons = cfg.Persons
	sum.EvalPersons = cfg.EvalPersons
	sum.TrainImages = 7 * cfg.Persons
	sum.EvalImages = 7 * cfg.EvalPersons
	sum.AAFImages = cfg.AAF

	if cfg.Persons > 0 {
		rows := append([][]string{{"id", "gender", "race", "age", "path"}}, pl.train...)
		if err := writeCSV(filepath.Join(tmp, "train", "train.csv"), rows); err != nil {
			return Summary{}, err
		}
	}
	if cfg.EvalPersons > 0 {
		info := [][]string{{"ImageID", "ans"}}
		truth := [][]string{{"ImageID", "mask", "gender", "age", "label"}}
		for _, r := range pl.info {
			info = append(info, []string{r[0], "0"})
			truth = append(truth, r)
		}
		if err := writeCSV(filepath.Join(tmp, "eval", "info.csv"), info); err != nil {
			return Summary{}, err
		}
		if err := writeCSV(filepath.Join(tmp, "eval", "truth.csv"), truth); err != nil {
			return Summary{}, err
		}
	}
	faces := [][]string{{"path", "x0", "y0", "x1", "y1"}}
	for i, j := range pl.jobs {
		b := boxes[i]
		faces = append(faces, []string{filepath.ToSlash(j.rel), strconv.Itoa(b.Min.X), strconv.Itoa(b.Min.Y), strconv.Itoa(b.Max.X), strconv.Itoa(b.Max.Y)})
	}
	if err := writeCSV(filepath.Join(tmp, "faces.csv"), faces); err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	if err := install(tmp, dir, cfg.Force); err != nil {
		return Summary{}, err
	}
	ok = true
	return sum, nil
}

// runJobs renders and writes every job on workers goroutines
// (work.Each) and returns the face boxes in job order. The first failure
// stops the run.
func runJobs(ctx context.Context, root string, jobs []job, workers int, progress func(done, total int)) ([]image.Rectangle, error) {
	boxes := make([]image.Rectangle, len(jobs))
	done := 0
	err := work.Try(ctx, len(jobs), workers, func(_, i int) error {
		j := jobs[i]
		data, box, err := encode(j)
		if err == nil {
			err = os.WriteFile(filepath.Join(root, j.rel), data, 0o644)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", j.rel, err)
		}
		boxes[i] = box
		return nil
	}, func() {
		done++
		if progress != nil {
			progress(done, len(jobs))
		}
	})
	if err != nil {
		return nil, err
	}
	return boxes, nil
}

func writeCSV(path string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// install moves the finished tmp directory to dir, replacing an empty (or,
// with force, an earlier demo) directory.
func install(tmp, dir string, force bool) error {
	// check again: something may have appeared while we were drawing
	if err := checkTarget(dir, force); err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dir)
	} else if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		if err := os.Remove(dir); err != nil {
			return err
		}
		return os.Rename(tmp, dir)
	}
	// force: swap the old dataset out, the new one in, then delete the old
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if e := os.Rename(old, dir); e != nil {
			return fmt.Errorf("%w (and restoring the old directory: %v; it is at %s)", err, e, old)
		}
		return err
	}
	return os.RemoveAll(old)
}
