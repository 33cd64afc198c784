package face

// Measured alternatives for the cascade stage, on the 450 test portraits
// (150 masked, 300 unmasked) at half size, one core (taskset -c 1), CPU
// time per image on the shared development VM. "Found" as in
// TestCascadeOnPortraits.
//
//	whole-image cascades, OpenCV grouping, scale 1.1, min 36:
//	  Haar default, minNeighbors 1 (the old baseline)  masked 0.82  unmasked 0.96  12 ms
//	  Haar default, scale 1.05                         masked 0.87  unmasked 0.97  ~20 ms
//	  Haar alt2, scale 1.05                            masked 0.89  unmasked 1.00  ~50 ms
//	  Haar alt, alt_tree, profile                      masked <= 0.85, alt_tree/profile far lower
//	  LBP frontal, minNeighbors 1                      masked 0.75  unmasked 0.91  3.3 ms
//	  LBP frontal "improved"                           masked 0.03 (does not fire on masks)
//	  Haar default truncated to 16 or 20 stages        masked 0.84  unmasked 0.96  11 ms
//	  image clipped at 120-180, CLAHE, equalised       no better, often worse
//	  lower-face features neutralised (leaves set to mean/max/quantile)
//	                                                   masked <= 0.74 (stage thresholds no longer fit)
//	eyes: Haar eye cascade on the 2x image (43 ms), pairs -> face box
//	                                                   masked 0.64  unmasked 0.85
//	proposals = LBP frontal, first 13 of 20 stages (3 ms, min 36): a well-sized
//	  window on 150/150 masked faces, but the largest group is right on
//	  only 122/150; re-ranked among the 5 largest groups by:
//	    full LBP + Haar default votes in a small region (kept)  129-135/150
//	    + alt2 votes                                            132-137/150
//	    + skin-colour fraction                                  +2, dropped
//	    mirror symmetry                                         worse, dropped
//	    lower face flattened to skin tone before verifying      worse, dropped
//	    best possible choice among the 5 groups                 144/150
//	  eye-pair check on the best 1-4 candidates (eye cascade upscaled so a
//	  face is 100-160 px): the eye-derived box agrees with the Haar box on
//	  unmasked faces, but the cascade finds one eye or a wrong pair on too
//	  many masked ones: masked 0.79-0.85 instead of 0.86, +4 ms a candidate.
//
// Kept: those proposals, the 4 largest groups verified by the full LBP and
// Haar cascades (8.5 ms; min face 40 px rather than 36: +3 masked, less
// time), optionally alt2 too (+3.5 ms). The remaining masked misses: about
// a third are the right face with a box under 0.3 of the pasted chip's
// area (MaskedFace-Net chips are loose: the face is about half the chip's
// width, so a tight face box is at 0.25-0.35), a third are faces no
// proposal window fires on, a third lose to textured background.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boostershot/facet/internal/testdata"
	"github.com/boostershot/facet/internal/work"
	"gocv.io/x/gocv"
)

// needCascades skips when opencv-data's cascades are not installed.
func needCascades(tb testing.TB) {
	tb.Helper()
	for _, p := range []string{
		filepath.Join(DefaultCascadeDir, cascadeHaarFrontal),
		filepath.Join(filepath.Dir(DefaultCascadeDir), "lbpcascades", cascadeLBPFrontal),
	} {
		if _, err := os.Stat(p); err != nil {
			tb.Skipf("OpenCV cascades not installed (%v): skipping (apt-get install opencv-data)", err)
		}
	}
}

func newTestCascade(tb testing.TB, opt CascadeOptions) Detector {
	tb.Helper()
	needCascades(tb)
	d, err := NewCascadeWith("", opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func grayFrame(w, h int, v uint8) (Frame, func()) {
	bgr := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(v), float64(v), float64(v), 0), h, w, gocv.MatTypeCV8UC3)
	gray := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(v), 0, 0, 0), h, w, gocv.MatTypeCV8UC1)
	return Frame{BGR: bgr, Gray: gray}, func() { bgr.Close(); gray.Close() }
}

func TestCascadeBlankAndTiny(t *testing.T) {
	d := newTestCascade(t, DefaultCascadeOptions())
	if d.Name() != "cascade" {
		t.Errorf("Name() = %q, want cascade", d.Name())
	}
	for _, tc := range []struct {
		name string
		w, h int
		v    uint8
	}{
		{"blank portrait", 192, 256, 128},
		{"black", 192, 256, 0},
		{"white", 192, 256, 255},
		{"smaller than a face", 30, 20, 100},
		{"one pixel", 1, 1, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, done := grayFrame(tc.w, tc.h, tc.v)
			defer done()
			dets, err := d.Detect(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) != 0 {
				t.Errorf("%d detections on a blank image: %v", len(dets), dets)
			}
		})
	}
}

func TestCascadeBadFrames(t *testing.T) {
	d := newTestCascade(t, DefaultCascadeOptions())
	closed := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC1)
	closed.Close()
	empty := gocv.NewMat()
	defer empty.Close()
	color := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV8UC3)
	defer color.Close()
	float := gocv.NewMatWithSize(64, 64, gocv.MatTypeCV32F)
	defer float.Close()
	for _, tc := range []struct {
		name string
		gray gocv.Mat
		want string
	}{
		{"zero Mat", gocv.Mat{}, "closed"},
		{"closed", closed, "closed"},
		{"empty", empty, "empty"},
		{"colour as gray", color, "type"},
		{"float", float, "type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Detect(Frame{Gray: tc.gray})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Detect: err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCascadeClose(t *testing.T) {
	needCascades(t)
	d, err := NewCascade("")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	f, done := grayFrame(64, 64, 0)
	defer done()
	if _, err := d.Detect(f); err == nil {
		t.Fatal("Detect after Close: no error")
	}
}

// copyCascades copies the cascade files into a fresh haarcascades folder
// (with its lbpcascades sibling) and returns the haarcascades path.
func copyCascades(t *testing.T) string {
	t.Helper()
	needCascades(t)
	root := t.TempDir()
	haar := filepath.Join(root, "haarcascades")
	lbp := filepath.Join(root, "lbpcascades")
	for _, c := range []struct{ from, to string }{
		{filepath.Join(DefaultCascadeDir, cascadeHaarFrontal), filepath.Join(haar, cascadeHaarFrontal)},
		{filepath.Join(DefaultCascadeDir, cascadeAlt2), filepath.Join(haar, cascadeAlt2)},
		{filepath.Join(filepath.Dir(DefaultCascadeDir), "lbpcascades", cascadeLBPFrontal), filepath.Join(lbp, cascadeLBPFrontal)},
	} {
		b, err := os.ReadFile(c.from)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(c.to), 0o755)
		if err := os.WriteFile(c.to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return haar
}

func TestNewCascadeErrors(t *testing.T) {
	needCascades(t)
	t.Run("missing dir", func(t *testing.T) {
		_, err := NewCascade(filepath.Join(t.TempDir(), "nowhere"))
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("err = %v, want not found", err)
		}
	})
	t.Run("copied folder loads", func(t *testing.T) {
		d, err := NewCascadeWith(copyCascades(t), CascadeOptions{MinFace: 36, ScaleFactor: 1.1, ProposeStages: 13, Verify: 4, Alt2: true, MinScore: 4, Keep: 0.8})
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
	})
	t.Run("lbp in the same folder", func(t *testing.T) {
		dir := copyCascades(t)
		lbp := filepath.Join(filepath.Dir(dir), "lbpcascades", cascadeLBPFrontal)
		if err := os.Rename(lbp, filepath.Join(dir, cascadeLBPFrontal)); err != nil {
			t.Fatal(err)
		}
		d, err := NewCascade(dir)
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
	})
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"haar missing", cascadeHaarFrontal, "", cascadeHaarFrontal + " not found"},
		{"lbp missing", cascadeLBPFrontal, "", cascadeLBPFrontal + " not found"},
		{"haar empty", cascadeHaarFrontal, "-", "not an XML file"},
		{"haar garbage", cascadeHaarFrontal, "\x00\x01garbage", "not an XML file"},
		{"haar truncated", cascadeHaarFrontal, "truncate", "not well-formed"},
		{"lbp other xml", cascadeLBPFrontal, "<?xml version=\"1.0\"?>\n<opencv_storage><foo>1</foo></opencv_storage>\n", "want <cascade>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyCascades(t)
			path := filepath.Join(dir, tc.file)
			if tc.file == cascadeLBPFrontal {
				path = filepath.Join(filepath.Dir(dir), "lbpcascades", tc.file)
			}
			switch tc.content {
			case "":
				os.Remove(path)
			case "-":
				os.WriteFile(path, nil, 0o644)
			case "truncate":
				b, _ := os.ReadFile(path)
				os.WriteFile(path, b[:len(b)/2], 0o644)
			default:
				os.WriteFile(path, []byte(tc.content), 0o644)
			}
			d, err := NewCascade(dir)
			if err == nil {
				d.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("bad options", func(t *testing.T) {
		for _, o := range []CascadeOptions{
			{},
			{MinFace: 36, ScaleFactor: 1, ProposeStages: 13, Verify: 4, Keep: 1},
			{MinFace: 36, ScaleFactor: 1.1, ProposeStages: 0, Verify: 4, Keep: 1},
			{MinFace: 36, ScaleFactor: 1.1, ProposeStages: 13, Verify: 0, Keep: 1},
			{MinFace: 36, ScaleFactor: 1.1, ProposeStages: 13, Verify: 4, Keep: -0.1},
			{MinFace: 36, ScaleFactor: 1.1, ProposeStages: 13, Verify: 4, Keep: 1.5},
			{MinFace: 36, ScaleFactor: 1.1, ProposeStages: 13, Verify: 4, Keep: 1, Confirm: -1},
		} {
			if d, err := NewCascadeWith("", o); err == nil {
				d.Close()
				t.Errorf("%+v: no error", o)
			}
		}
	})
}

// miniCascade is a small valid cascade to mutate in the checks below.
const miniCascade = `<?xml version="1.0"?>
<opencv_storage>
<cascade type_id="opencv-cascade-classifier">
  <stageType>BOOST</stageType>
  <featureType>HAAR</featureType>
  <height>24</height>
  <width>24</width>
  <stageParams><maxWeakCount>2</maxWeakCount></stageParams>
  <featureParams><maxCatCount>0</maxCatCount></featureParams>
  <stageNum>2</stageNum>
  <stages>
    <_>
      <maxWeakCount>1</maxWeakCount>
      <stageThreshold>-1.5</stageThreshold>
      <weakClassifiers>
        <_><internalNodes>0 -1 0 1.2e-02</internalNodes><leafValues>-0.8 0.9</leafValues></_>
      </weakClassifiers>
    </_>
    <_>
      <maxWeakCount>2</maxWeakCount>
      <stageThreshold>-1.</stageThreshold>
      <weakClassifiers>
        <_><internalNodes>0 -1 1 -3.e-03</internalNodes><leafValues>0.7 -0.6</leafValues></_>
        <_><internalNodes>1 -1 0 0.1 0 -2 1 0.2</internalNodes><leafValues>0.1 0.2 0.3</leafValues></_>
      </weakClassifiers>
    </_>
  </stages>
  <features>
    <_><rects><_>6 4 12 9 -1.</_><_>6 7 12 3 3.</_></rects></_>
    <_><rects><_>0 0 24 24 -1.</_><_>4 4 4 4 2.</_></rects><tilted>0</tilted></_>
  </features>
</cascade>
</opencv_storage>
`

func TestCheckCascadeXML(t *testing.T) {
	if err := checkCascadeXML([]byte(miniCascade)); err != nil {
		t.Fatalf("mini cascade: %v", err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"not xml", "<?xml", "<?xmx", "not an XML file"},
		{"stageNum", "<stageNum>2<", "<stageNum>3<", "stageNum 3 but 2 stages"},
		{"feature index", "0 -1 1 -3.e-03", "0 -1 2 -3.e-03", "feature index"},
		{"negative feature", "0 -1 1 -3.e-03", "0 -1 -1 -3.e-03", "feature index"},
		{"leaf count", "0.7 -0.6", "0.7", "leaves"},
		{"node numbers", "0 -1 0 1.2e-02", "0 -1 0", "multiple of 4"},
		{"child range", "1 -1 0 0.1 0 -2 1 0.2", "5 -1 0 0.1 0 -2 1 0.2", "out of range"},
		{"leaf range", "1 -1 0 0.1 0 -2 1 0.2", "1 -1 0 0.1 0 -3 1 0.2", "out of range"},
		{"weak count", "<maxWeakCount>1</maxWeakCount>\n      <stageThreshold>-1.5", "<maxWeakCount>3</maxWeakCount>\n      <stageThreshold>-1.5", "weak classifiers"},
		{"bad number", "-0.8 0.9", "-0.8 x", "bad number"},
		{"nan", "-0.8 0.9", "-0.8 nan", "bad number"},
		{"rect outside", "6 4 12 9 -1.", "16 4 12 9 -1.", "outside the window"},
		{"too many rects", "<_>6 7 12 3 3.</_></rects>", "<_>6 7 12 3 3.</_><_>1 1 1 1 1.</_><_>1 1 1 1 1.</_></rects>", "1 to 3"},
		{"tilted outside", "<tilted>0</tilted>", "<tilted>1</tilted>", "outside the window"},
		{"feature type", "<featureType>HAAR", "<featureType>HOG", "featureType"},
		{"stage type", "<stageType>BOOST", "<stageType>GAB", "stageType"},
		{"haar categories", "<maxCatCount>0<", "<maxCatCount>256<", "maxCatCount"},
		{"window", "<width>24<", "<width>0<", "window"},
		{"doctype", "<opencv_storage>", "<!DOCTYPE x><opencv_storage>", "directives"},
		{"unclosed", "</opencv_storage>", "", "well-formed"},
		{"two roots", "</opencv_storage>\n", "</opencv_storage><x/>", "more than one root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(miniCascade, tc.from) {
				t.Fatalf("test bug: %q not in the mini cascade", tc.from)
			}
			err := checkCascadeXML([]byte(strings.Replace(miniCascade, tc.from, tc.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheckCascadeXMLInstalled(t *testing.T) {
	needCascades(t)
	files, _ := filepath.Glob(filepath.Join(DefaultCascadeDir, "*.xml"))
	more, _ := filepath.Glob(filepath.Join(filepath.Dir(DefaultCascadeDir), "lbpcascades", "*.xml"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		err = checkCascadeXML(b)
		switch base := filepath.Base(f); {
		case err == nil:
		case base == cascadeHaarFrontal || base == cascadeAlt2 || base == cascadeLBPFrontal:
			t.Errorf("%s: %v", base, err)
		case strings.Contains(err.Error(), "current cascade format"):
			t.Logf("%s: old format, rejected on purpose", base)
		default:
			t.Errorf("%s: %v", base, err)
		}
	}
}

func TestTruncateCascade(t *testing.T) {
	b, err := truncateCascade([]byte(miniCascade), 1)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "<stageNum>1</stageNum>") || strings.Count(s, "<stageThreshold>") != 1 {
		t.Fatalf("truncated cascade:\n%s", s)
	}
	if b, err := truncateCascade([]byte(miniCascade), 5); err != nil || string(b) != miniCascade {
		t.Fatalf("keeping more stages than there are: err %v, changed %v", err, string(b) != miniCascade)
	}
	needCascades(t)
	lbp, err := os.ReadFile(filepath.Join(filepath.Dir(DefaultCascadeDir), "lbpcascades", cascadeLBPFrontal))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 13, 19} {
		b, err := truncateCascade(lbp, k)
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if n := strings.Count(string(b), "<stageThreshold>"); n != k {
			t.Errorf("k=%d: %d stages left", k, n)
		}
	}
}

func FuzzCheckCascadeXML(f *testing.F) {
	f.Add([]byte(miniCascade))
	f.Add([]byte("<?xml version=\"1.0\"?><opencv_storage><cascade/></opencv_storage>"))
	f.Add([]byte("<?xml"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkCascadeXML(b) == nil {
			// whatever passes must also survive truncation
			if _, err := truncateCascade(b, 1); err != nil && !strings.Contains(err.Error(), "stage") {
				t.Fatalf("checked cascade fails truncation: %v", err)
			}
		}
	})
}

func TestGroupRects(t *testing.T) {
	rs := []image.Rectangle{
		image.Rect(10, 10, 50, 50), image.Rect(12, 11, 52, 51), image.Rect(9, 10, 49, 50),
		image.Rect(100, 100, 140, 140), image.Rect(101, 99, 141, 139),
		image.Rect(10, 100, 90, 180),
	}
	g := groupRects(rs, 0.3)
	if len(g) != 3 {
		t.Fatalf("%d groups, want 3: %v", len(g), g)
	}
	if g[0].n != 3 || g[0].box != image.Rect(10, 10, 50, 50) {
		t.Errorf("first group %v, want 3 windows at (10,10)-(50,50)", g[0])
	}
	if g[1].n != 2 || g[2].n != 1 {
		t.Errorf("group sizes %d %d, want 2 1", g[1].n, g[2].n)
	}
	if len(groupRects(nil, 0.3)) != 0 {
		t.Error("groups of nothing")
	}
}

// --- real portraits ---------------------------------------------------

// portrait is one test portrait at half size.
type portrait struct {
	file   string
	masked bool
	truth  image.Rectangle // full resolution
	bgr    gocv.Mat        // half size
	gray   gocv.Mat
}

// loadPortraits reads the portraits at half size, as the chain makes them
// (INTER_AREA). limit > 0 keeps the first limit.
func loadPortraits(tb testing.TB, limit int) []portrait {
	tb.Helper()
	truth := testdata.Portraits(tb)
	if limit > 0 && len(truth) > limit {
		truth = truth[:limit]
	}
	ps := make([]portrait, len(truth))
	errs := make([]error, len(truth))
	_ = work.Each(context.Background(), len(truth), runtime.GOMAXPROCS(0), func(_, i int) {
		t := truth[i]
		p := portrait{file: filepath.Base(t.Path), masked: t.Masked, truth: t.Box}
		full := gocv.IMRead(t.Path, gocv.IMReadColor)
		defer full.Close()
		if full.Empty() {
			errs[i] = fmt.Errorf("%s: does not decode", p.file)
			return
		}
		p.bgr = gocv.NewMat()
		gocv.Resize(full, &p.bgr, image.Pt(full.Cols()/2, full.Rows()/2), 0, 0, gocv.InterpolationArea)
		p.gray = gocv.NewMat()
		gocv.CvtColor(p.bgr, &p.gray, gocv.ColorBGRToGray)
		ps[i] = p
	}, nil)
	tb.Cleanup(func() {
		for i := range ps {
			ps[i].bgr.Close()
			ps[i].gray.Close()
		}
	})
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return ps
}

// outcome of the picked detection on one portrait.
type outcome int

const (
	missed  outcome = iota // no detection
	found                  // centre in the truth box, area 0.3-1.5x
	offFace                // centre outside the truth box
	badSize                // centre inside, area out of range
)

// judge maps the picked half-size box back to full size and compares it
// with the truth box.
func judge(dets []Detection, frame image.Point, truth image.Rectangle) outcome {
	k := Pick(dets, frame)
	if k < 0 {
		return missed
	}
	b := dets[k].Box
	b = image.Rect(b.Min.X*2, b.Min.Y*2, b.Max.X*2, b.Max.Y*2)
	if !b.Min.Add(b.Max).Div(2).In(truth) {
		return offFace
	}
	r := float64(area(b)) / float64(area(truth))
	if r < 0.3 || r > 1.5 {
		return badSize
	}
	return found
}

type tally struct{ n, found, offFace, badSize, missed int }

func (t *tally) add(o outcome) {
	t.n++
	switch o {
	case found:
		t.found++
	case offFace:
		t.offFace++
	case badSize:
		t.badSize++
	default:
		t.missed++
	}
}

func (t tally) rate() float64 { return float64(t.found) / float64(max(t.n, 1)) }

func (t tally) String() string {
	return fmt.Sprintf("%.3f (%d/%d; wrong: %d off the face, %d on it with a bad size; %d none)",
		t.rate(), t.found, t.n, t.offFace, t.badSize, t.missed)
}

// runPortraits runs newDet's detectors on every portrait, one per worker,
// and tallies masked and unmasked outcomes.
func runPortraits(t *testing.T, ps []portrait, newDet func() Detector) (masked, unmasked tally) {
	workers := min(runtime.GOMAXPROCS(0), 4)
	outs := make([]outcome, len(ps))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < workers; w++ {
		d := newDet()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.Close()
			for i := w; i < len(ps); i += workers {
				p := &ps[i]
				dets, err := d.Detect(Frame{BGR: p.bgr, Gray: p.gray})
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("%s: %w", p.file, err))
					mu.Unlock()
					return
				}
				outs[i] = judge(dets, image.Pt(p.gray.Cols(), p.gray.Rows()), p.truth)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	for i, p := range ps {
		if p.masked {
			masked.add(outs[i])
		} else {
			unmasked.add(outs[i])
		}
	}
	return masked, unmasked
}

// TestCascadeOnPortraits runs the stage alone on the 450 test portraits.
// Measured with the default options: masked 0.867 (130/150; 6 boxes off
// the face, 7 on it but under 0.3 of the chip's area, 7 none), unmasked
// 0.967 (2 off, 6 bad size, 2 none); with Alt2: masked 0.893, unmasked
// 0.980. The plain Haar cascade (TestCascadeBaselineOnPortraits): masked
// 0.820 (19 none), unmasked 0.963. Behind dlib (HOG, half size, no
// upsampling; it misses 63 masked and 9 unmasked portraits), the chain
// finds masked 0.900 with this stage (0.920 with Alt2) against 0.873 with
// the plain Haar cascade, and unmasked 1.000 with any. The thresholds
// leave room for OpenCV builds that differ by a window or two.
func TestCascadeOnPortraits(t *testing.T) {
	ps := loadPortraits(t, 0)
	needCascades(t)
	for _, tc := range []struct {
		name               string
		alt2               bool
		masked, unmasked   float64
		maxOffFaceMasked   int
		maxOffFaceUnmasked int
	}{
		{"default", false, 0.83, 0.95, 10, 5},
		{"alt2", true, 0.86, 0.96, 8, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.alt2 && os.Getenv("FACET_CASCADE_ALL") == "" {
				t.Skip("set FACET_CASCADE_ALL=1 to measure the alt2 variant too")
			}
			opt := DefaultCascadeOptions()
			opt.Alt2 = tc.alt2
			start := time.Now()
			m, u := runPortraits(t, ps, func() Detector { return newTestCascade(t, opt) })
			t.Logf("masked   %v", m)
			t.Logf("unmasked %v", u)
			t.Logf("%d portraits in %v", len(ps), time.Since(start).Round(time.Millisecond))
			if m.n != 150 || u.n != 300 {
				t.Logf("note: expected 150 masked and 300 unmasked portraits, got %d and %d", m.n, u.n)
			}
			if m.rate() < tc.masked {
				t.Errorf("masked found rate %.3f < %.2f", m.rate(), tc.masked)
			}
			if u.rate() < tc.unmasked {
				t.Errorf("unmasked found rate %.3f < %.2f", u.rate(), tc.unmasked)
			}
			if m.offFace > tc.maxOffFaceMasked || u.offFace > tc.maxOffFaceUnmasked {
				t.Errorf("boxes off the face: masked %d (max %d), unmasked %d (max %d)",
					m.offFace, tc.maxOffFaceMasked, u.offFace, tc.maxOffFaceUnmasked)
			}
		})
	}
}

// TestCascadeBaselineOnPortraits measures the old second stage (OpenCV's
// default frontal Haar cascade, minNeighbors 1, whole image) for
// comparison; it is slow, so it runs only with FACET_CASCADE_ALL=1.
func TestCascadeBaselineOnPortraits(t *testing.T) {
	if os.Getenv("FACET_CASCADE_ALL") == "" {
		t.Skip("set FACET_CASCADE_ALL=1 to measure the plain Haar cascade too")
	}
	ps := loadPortraits(t, 0)
	needCascades(t)
	m, u := runPortraits(t, ps, func() Detector { return newHaarOnly(t) })
	t.Logf("plain Haar masked   %v", m)
	t.Logf("plain Haar unmasked %v", u)
}

type haarOnly struct{ cc gocv.CascadeClassifier }

func newHaarOnly(tb testing.TB) Detector {
	h := &haarOnly{cc: gocv.NewCascadeClassifier()}
	if !h.cc.Load(filepath.Join(DefaultCascadeDir, cascadeHaarFrontal)) {
		tb.Fatal("haar cascade does not load")
	}
	return h
}

func (h *haarOnly) Name() string { return "haar" }
func (h *haarOnly) Close() error { return h.cc.Close() }
func (h *haarOnly) Detect(f Frame) ([]Detection, error) {
	var ds []Detection
	for _, r := range h.cc.DetectMultiScaleWithParams(f.Gray, 1.1, 1, 0, image.Pt(36, 36), image.Point{}) {
		ds = append(ds, Detection{Box: r, Score: 1})
	}
	return ds, nil
}

// BenchmarkCascade is the stage alone on half-size portraits (masked and
// unmasked, in file order), one detector, one goroutine. Run it with
// -cpu 1 and taskset -c 0 for the one-core cost: OpenCV may use more
// threads inside a call.
func BenchmarkCascade(b *testing.B) {
	for _, alt2 := range []bool{false, true} {
		b.Run(fmt.Sprintf("alt2=%v", alt2), func(b *testing.B) {
			ps := loadPortraits(b, 90)
			opt := DefaultCascadeOptions()
			opt.Alt2 = alt2
			d := newTestCascade(b, opt)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := &ps[i%len(ps)]
				if _, err := d.Detect(Frame{BGR: p.bgr, Gray: p.gray}); err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/s, "images/s")
			b.ReportMetric(s*1000/float64(b.N), "ms/image")
		})
	}
}

// TestCascadeConfirms checks that the stage confirms the true face box of
// unmasked portraits and not a box of their blurred background, and
// confirms nothing without the Confirm option.
func TestCascadeConfirms(t *testing.T) {
	ps := loadPortraits(t, 20)
	needCascades(t)
	opt := SceneCascadeOptions()
	opt.MinFace = 20
	c := newTestCascade(t, opt).(*cascadeDetector)
	off := newTestCascade(t, DefaultCascadeOptions()).(*cascadeDetector)
	faces, backgrounds := 0, 0
	for _, p := range ps {
		if p.masked {
			continue
		}
		f := Frame{BGR: p.bgr, Gray: p.gray}
		box := scaleRect(p.truth, 0.5)
		if _, yes, err := c.confirm(f, box); err != nil {
			t.Fatal(err)
		} else if yes {
			faces++
		}
		// the same box moved to a corner away from the face
		bg := box.Sub(box.Min)
		if box.Min.X < p.gray.Cols()/2 {
			bg = bg.Add(image.Pt(p.gray.Cols()-bg.Dx(), 0))
		}
		if bg.Overlaps(box) {
			bg = bg.Add(image.Pt(0, p.gray.Rows()-bg.Dy()))
		}
		if _, yes, _ := c.confirm(f, bg); yes && !bg.Overlaps(box) {
			backgrounds++
		}
		if _, yes, _ := off.confirm(f, box); yes {
			t.Fatal("a stage without Confirm confirmed a face")
		}
	}
	// With ConfirmOnly (the scene options) it finds no face of its own.
	if dets, err := c.Detect(Frame{BGR: ps[0].bgr, Gray: ps[0].gray}); err != nil || len(dets) != 0 {
		t.Errorf("a confirm-only stage found %v, %v", dets, err)
	}
	t.Logf("confirmed %d faces, %d backgrounds", faces, backgrounds)
	if faces < 8 || backgrounds > 2 {
		t.Errorf("confirmed %d true face boxes, %d background boxes", faces, backgrounds)
	}
}
