package dlib

import (
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/testdata"
)

// models load DefaultModel once each: [0] the wrapper's predictor, [1]
// one that runs dlib's own shape_predictor, for comparisons.
var models = [2]func() (*Predictor, error){
	sync.OnceValues(func() (*Predictor, error) { return loadPredictor(DefaultModel, false) }),
	sync.OnceValues(func() (*Predictor, error) { return loadPredictor(DefaultModel, true) }),
}

// loadModel is models[0] or, with reference, models[1]; it skips when
// the model is not installed.
func loadModel(tb testing.TB, reference bool) *Predictor {
	tb.Helper()
	if _, err := os.Stat(DefaultModel); err != nil {
		tb.Skipf("dlib landmark model not installed (%v): skipping", err)
	}
	i := 0
	if reference {
		i = 1
	}
	p, err := models[i]()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// model is the predictor facet uses.
func model(tb testing.TB) *Predictor { return loadModel(tb, false) }

// reference is a predictor that runs dlib's own shape_predictor.
func reference(tb testing.TB) *Predictor { return loadModel(tb, true) }

func uniform(w, h int, v byte) Gray {
	g := Gray{Pix: make([]byte, w*h), Stride: w, Width: w, Height: h}
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

func noise(w, h int, seed uint64) Gray {
	r := rand.New(rand.NewPCG(seed, 1))
	g := Gray{Pix: make([]byte, w*h), Stride: w, Width: w, Height: h}
	for i := range g.Pix {
		g.Pix[i] = byte(r.IntN(256))
	}
	return g
}

func TestLoadPredictorErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.dat")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not a dlib model\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.dat")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Starts like a dlib stream (a version number), then ends.
	short := filepath.Join(dir, "short.dat")
	if err := os.WriteFile(short, []byte{0x01, 0x01}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.dat"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"garbage", garbage, "not a dlib shape predictor model"},
		{"empty", empty, "not a dlib shape predictor model"},
		{"short", short, "not a dlib shape predictor model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := LoadPredictor(tc.path)
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// The garbage model makes dlib's deserialize throw (tested above); this
// checks each kind of exception the wrapper catches.
func TestCxxExceptionBecomesError(t *testing.T) {
	for kind, want := range []string{"runtime_error", "dlib::error", "unknown C++ exception"} {
		err := testThrow(kind)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("kind %d: error %v, want one mentioning %q", kind, err, want)
		}
	}
}

func TestBadInputs(t *testing.T) {
	d, err := NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ok := uniform(100, 100, 128)
	cases := []struct {
		name string
		img  Gray
		want string
	}{
		{"zero size", Gray{Pix: []byte{}, Stride: 0}, "empty image"},
		{"zero width", Gray{Pix: make([]byte, 10), Stride: 10, Height: 1}, "empty image"},
		{"negative height", Gray{Pix: make([]byte, 10), Stride: 10, Width: 10, Height: -1}, "empty image"},
		{"nil pixels", Gray{Stride: 10, Width: 10, Height: 10}, "nil pixels"},
		{"short pixels", Gray{Pix: make([]byte, 99), Stride: 10, Width: 10, Height: 10}, "need 100"},
		{"short last row", Gray{Pix: make([]byte, 9*12+9), Stride: 12, Width: 10, Height: 10}, "need 118"},
		{"stride < width", Gray{Pix: make([]byte, 100), Stride: 9, Width: 10, Height: 10}, "stride 9 < width 10"},
		{"huge", Gray{Pix: make([]byte, 1), Stride: 1 << 20, Width: 1 << 20, Height: 1 << 20}, "too large"},
	}
	for _, tc := range cases {
		t.Run("detect/"+tc.name, func(t *testing.T) {
			if _, err := d.Detect(tc.img, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, up := range []int{-1, MaxUpsample + 1} {
		if _, err := d.Detect(ok, up); err == nil {
			t.Errorf("upsample %d: no error", up)
		}
	}
	if _, err := d.Detect(uniform(1<<13, 1<<13, 0), 2); err == nil {
		t.Error("8192x8192 upsampled twice: no error")
	}

	p := model(t)
	for _, tc := range cases {
		t.Run("landmarks/"+tc.name, func(t *testing.T) {
			if _, err := p.Landmarks(tc.img, image.Rect(0, 0, 5, 5)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, box := range []image.Rectangle{{}, image.Rect(10, 10, 10, 50), image.Rect(200, 200, 300, 300), image.Rect(-50, -50, 0, 0)} {
		if _, err := p.Landmarks(ok, box); err == nil {
			t.Errorf("box %v: no error", box)
		}
	}
	// A box partly outside the image is fine: dlib reads outside pixels as 0.
	if pts, err := p.Landmarks(ok, image.Rect(-20, -20, 60, 60)); err != nil || len(pts) != 68 {
		t.Errorf("box partly outside: %d points, %v", len(pts), err)
	}
}

func TestBlankImageHasNoFaces(t *testing.T) {
	d, err := NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		img Gray
		up  int
	}{
		{uniform(192, 256, 0), 0},
		{uniform(192, 256, 128), 1},
		{uniform(384, 512, 255), 0},
		{uniform(1, 1, 7), 0}, // smaller than dlib's 80x80 window
		{uniform(1, 1, 7), 2},
		{noise(192, 256, 1), 0},
	} {
		faces, err := d.Detect(tc.img, tc.up)
		if err != nil {
			t.Fatalf("%dx%d up %d: %v", tc.img.Width, tc.img.Height, tc.up, err)
		}
		if len(faces) != 0 {
			t.Errorf("%dx%d up %d: %d faces %v", tc.img.Width, tc.img.Height, tc.up, len(faces), faces)
		}
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	d, err := NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d.Close()
	if _, err := d.Detect(uniform(100, 100, 0), 0); err == nil {
		t.Error("Detect after Close: no error")
	}
	p, err := LoadPredictor(DefaultModel)
	if err != nil {
		t.Skip(err)
	}
	if p.Parts() != 68 {
		t.Errorf("%d parts, want 68", p.Parts())
	}
	p.Close()
	p.Close()
	if _, err := p.Landmarks(uniform(100, 100, 0), image.Rect(0, 0, 50, 50)); err == nil {
		t.Error("Landmarks after Close: no error")
	}
}

type portrait = testdata.Portrait

func portraits(tb testing.TB) []portrait { return testdata.Portraits(tb) }

// readGray loads an image as gray, resized by scale when scale != 1; the
// caller closes the Mat.
func readGray(tb testing.TB, path string, scale float64) gocv.Mat {
	tb.Helper()
	bgr := gocv.IMRead(path, gocv.IMReadColor)
	defer bgr.Close()
	if bgr.Empty() {
		tb.Fatalf("cannot read %s", path)
	}
	gray := gocv.NewMat()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	if scale != 1 {
		small := gocv.NewMat()
		gocv.Resize(gray, &small, image.Point{}, scale, scale, gocv.InterpolationArea)
		gray.Close()
		gray = small
	}
	return gray
}

func matGray(m *gocv.Mat) Gray {
	return Gray{Pix: m.DataPtrUint8(), Stride: m.Step(), Width: m.Cols(), Height: m.Rows()}
}

func centre(r image.Rectangle) image.Point { return r.Min.Add(r.Max).Div(2) }

func area(r image.Rectangle) float64 { return float64(r.Dx()) * float64(r.Dy()) }

func meanY(pts []image.Point) float64 {
	s := 0
	for _, p := range pts {
		s += p.Y
	}
	return float64(s) / float64(len(pts))
}

// TestRealFaces runs detector and landmarks on 40 unmasked portraits at
// full size (384x512), upsample 0: a face must be found with its centre in
// the true box and 0.3x to 1.5x its area, for at least 90% of them.
func TestRealFaces(t *testing.T) {
	ps := portraits(t)
	p := model(t)
	d, err := NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const want = 40
	tried, found := 0, 0
	for _, pt := range ps {
		if pt.Masked {
			continue
		}
		if tried == want {
			break
		}
		tried++
		gray := readGray(t, pt.Path, 1)
		img := matGray(&gray)
		faces, err := d.Detect(img, 0)
		if err != nil {
			gray.Close()
			t.Fatalf("%s: %v", pt.Path, err)
		}
		hit := -1
		for i, f := range faces {
			if a := area(f.Box) / area(pt.Box); centre(f.Box).In(pt.Box) && a >= 0.3 && a <= 1.5 {
				hit = i
				break
			}
		}
		if hit < 0 {
			t.Logf("%s: true box %v, found %v", filepath.Base(pt.Path), pt.Box, faces)
			gray.Close()
			continue
		}
		found++
		pts, err := p.Landmarks(img, faces[hit].Box)
		gray.Close()
		if err != nil {
			t.Fatalf("%s: %v", pt.Path, err)
		}
		if len(pts) != 68 {
			t.Fatalf("%s: %d landmarks", pt.Path, len(pts))
		}
		// The true box is the pasted face chip, cropped at the chin and
		// cheeks: brows, eyes, nose and mouth (17-67) lie inside it, the
		// jaw line (0-16) may run a little past it (most on turned faces).
		grow := pt.Box.Dx() / 4
		jawBox := pt.Box.Inset(-grow)
		for i, q := range pts {
			if i <= 16 && !q.In(jawBox) || i > 16 && !q.In(pt.Box) {
				t.Errorf("%s: landmark %d at %v outside the true box %v (jaw: %v)", filepath.Base(pt.Path), i, q, pt.Box, jawBox)
			}
		}
		if eyes, mouth := meanY(pts[36:48]), meanY(pts[48:68]); eyes >= mouth {
			t.Errorf("%s: eyes (y %.0f) not above the mouth (y %.0f)", filepath.Base(pt.Path), eyes, mouth)
		}
	}
	t.Logf("found %d of %d unmasked portraits", found, tried)
	if tried < want {
		t.Fatalf("only %d unmasked portraits", tried)
	}
	if found < want*9/10 {
		t.Errorf("found %d of %d unmasked portraits, want at least %d", found, tried, want*9/10)
	}
}

// TestPredictorConcurrent shares one predictor between goroutines (run
// with -race) and checks they agree.
func TestPredictorConcurrent(t *testing.T) {
	p := model(t)
	img := noise(200, 200, 2)
	box := image.Rect(40, 40, 160, 160)
	ref, err := p.Landmarks(img, box)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 50 {
				pts, err := p.Landmarks(img, box)
				if err != nil {
					errs <- err
					return
				}
				for i := range pts {
					if pts[i] != ref[i] {
						errs <- fmt.Errorf("point %d: %v, want %v", i, pts[i], ref[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// threadCPU is the CPU time the calling OS thread has used: on a busy
// machine it shows what a call costs better than the wall clock does.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDetect times Detect on a real portrait (skipped without the
// shared data) and on noise of the same size: HOG scanning costs about the
// same either way.
func BenchmarkDetect(b *testing.B) {
	for _, src := range []string{"portrait", "noise"} {
		for _, bc := range []struct {
			name  string
			scale float64
			up    int
		}{
			{"192x256/up0", 0.5, 0},
			{"192x256/up1", 0.5, 1},
			{"384x512/up0", 1, 0},
		} {
			b.Run(src+"/"+bc.name, func(b *testing.B) {
				var img Gray
				if src == "portrait" {
					m := readGray(b, portraits(b)[0].Path, bc.scale)
					defer m.Close()
					img = matGray(&m)
				} else {
					img = noise(int(384*bc.scale), int(512*bc.scale), 3)
				}
				d, err := NewDetector()
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.Detect(img, bc.up); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/image")
				b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/1e6/float64(b.N), "cpu-ms/image")
			})
		}
	}
}

// landmarkCases are faces to place landmarks on: the half-size real
// portraits (skipped without the shared data) with the boxes dlib finds
// there, each also shifted so that it reaches past the image's edge.
func landmarkCases(tb testing.TB) (imgs []Gray, boxes []image.Rectangle) {
	tb.Helper()
	d, err := NewDetector()
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	for _, pt := range portraits(tb) {
		m := readGray(tb, pt.Path, 0.5)
		img := matGray(&m)
		img.Pix = append([]byte(nil), img.Pix...) // keep the pixels after Close
		m.Close()
		faces, err := d.DetectAdjusted(img, 0, -0.5)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range faces {
			imgs = append(imgs, img, img)
			boxes = append(boxes, f.Box, f.Box.Add(image.Pt(img.Width-f.Box.Max.X+f.Box.Dx()/3, -f.Box.Min.Y-f.Box.Dy()/3)))
		}
	}
	return imgs, boxes
}

// TestLandmarksMatchDlib checks that the wrapper's own loop over the
// predictor's trees gives exactly the points of dlib's
// shape_predictor::operator(), on real faces and on noise.
func TestLandmarksMatchDlib(t *testing.T) {
	fast, slow := model(t), reference(t)
	imgs, boxes := landmarkCases(t)
	for i := range 20 {
		imgs = append(imgs, noise(150+10*i, 200, uint64(i)))
		boxes = append(boxes, image.Rect(5*i-20, 3*i, 5*i+40+4*i, 3*i+60+4*i))
	}
	if len(boxes) < 100 {
		t.Fatalf("only %d faces to compare", len(boxes))
	}
	for i, box := range boxes {
		want, err := slow.Landmarks(imgs[i], box)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fast.Landmarks(imgs[i], box)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("face %d, box %v: points\n%v\nwant dlib's\n%v", i, box, got, want)
		}
	}
	t.Logf("%d faces: the same points as dlib's", len(boxes))
}

// BenchmarkLandmarks places the landmarks on the faces dlib finds in the
// half-size real portraits, one after another, with dlib's own
// shape_predictor and with the wrapper's loop over the same trees: the
// cost is mostly reading the model's leaves from memory, so a benchmark on
// one face over and over (its leaves in cache) would flatter both.
func BenchmarkLandmarks(b *testing.B) {
	imgs, boxes := landmarkCases(b)
	for _, bc := range []struct {
		name string
		p    func(testing.TB) *Predictor
	}{{"dlib", reference}, {"facet", model}} {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.p(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.Landmarks(imgs[i%len(imgs)], boxes[i%len(boxes)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/face")
		})
	}
}

func TestDetectorPoses(t *testing.T) {
	for _, bad := range [][]int{{5}, {-1}, {0, 0}} {
		if d, err := NewDetector(bad...); err == nil {
			d.Close()
			t.Errorf("poses %v accepted", bad)
		}
	}
	ps := portraits(t)
	some, err := NewDetector(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer some.Close()
	all, err := NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	fewer := 0
	for _, p := range ps[:40] {
		m := readGray(t, p.Path, 0.5)
		img := Gray{Pix: m.ToBytes(), Stride: m.Cols(), Width: m.Cols(), Height: m.Rows()}
		a, err1 := all.Detect(img, 0)
		s, err2 := some.Detect(img, 0)
		m.Close()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		for _, f := range s {
			if f.Pose != 1 && f.Pose != 2 {
				t.Errorf("detector of poses 1,2 reported pose %d", f.Pose)
			}
		}
		if len(s) < len(a) {
			fewer++
		}
	}
	if fewer == 0 {
		t.Error("leaving out the frontal filter found every face all five found")
	}
}
