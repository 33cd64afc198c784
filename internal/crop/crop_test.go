package crop

import (
	"errors"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

func TestRegionIsSquareAroundTheBox(t *testing.T) {
	g := Geometry{Margin: 0.25, Size: 64}
	for _, box := range []image.Rectangle{image.Rect(100, 100, 200, 300), image.Rect(0, 0, 40, 20), image.Rect(-10, 5, 30, 45)} {
		r := g.Region(box)
		if r.Dx() != r.Dy() {
			t.Errorf("region %v of box %v is not square", r, box)
		}
		long := max(box.Dx(), box.Dy())
		if want := int(float64(long) * 1.5); r.Dx() < want-1 || r.Dx() > want+1 {
			t.Errorf("region side %d, want %d (longest side %d with 25%% margins)", r.Dx(), want, long)
		}
		bc, rc := box.Min.Add(box.Max), r.Min.Add(r.Max)
		if d := bc.Sub(rc); d.X*d.X+d.Y*d.Y > 4 {
			t.Errorf("region %v is not centred on box %v", r, box)
		}
		if !box.In(r) {
			t.Errorf("region %v does not hold box %v", r, box)
		}
	}
}

func TestExtractPadsWithBlack(t *testing.T) {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 255, 255, 0), 100, 80, gocv.MatTypeCV8UC3)
	defer img.Close()
	g := Geometry{Size: 50}
	// The left half of this region lies outside the image.
	out, err := g.Extract(img, image.Rect(-40, 10, 40, 90))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if out.Cols() != 50 || out.Rows() != 50 || out.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("crop is %dx%d type %v", out.Cols(), out.Rows(), out.Type())
	}
	if left, right := out.GetVecbAt(25, 5)[0], out.GetVecbAt(25, 45)[0]; left != 0 || right != 255 {
		t.Errorf("left (outside) = %d, right (inside) = %d; want 0 and 255", left, right)
	}
	for _, bad := range []image.Rectangle{image.Rect(200, 200, 260, 260), {}} {
		if m, err := g.Extract(img, bad); err == nil {
			m.Close()
			t.Errorf("region %v extracted", bad)
		}
	}
	empty := gocv.NewMat()
	defer empty.Close()
	if m, err := g.Extract(empty, image.Rect(0, 0, 10, 10)); err == nil {
		m.Close()
		t.Error("empty image extracted")
	}
}

func TestPathRefusesEscapes(t *testing.T) {
	dir := filepath.Join("out", "crops")
	for id, want := range map[string]string{
		"000001_female_Asian_45/mask1": filepath.Join(dir, "000001_female_Asian_45", "mask1.jpg"),
		"eval/abc.jpg":                 filepath.Join(dir, "eval", "abc.jpg"),
		"aaf/00001A02.png":             filepath.Join(dir, "aaf", "00001A02.png.jpg"),
		"aaf/00001A02.jpg":             filepath.Join(dir, "aaf", "00001A02.jpg"),
		"x/face.JPG":                   filepath.Join(dir, "x", "face.JPG.jpg"),
		"utkface/1_0_2_x.jpg.chip.jpg": filepath.Join(dir, "utkface", "1_0_2_x.jpg.chip.jpg"),
		"a..b/c":                       filepath.Join(dir, "a..b", "c.jpg"),
		"scene/0001.jpg#3":             filepath.Join(dir, "scene", "0001.jpg#3.jpg"),
		"scene/0001.png#3":             filepath.Join(dir, "scene", "0001.png#3.jpg"),
		"scene/0001#12":                filepath.Join(dir, "scene", "0001#12.jpg"),
		"a#b.png":                      filepath.Join(dir, "a#b.png.jpg"),
	} {
		got, err := Path(dir, id, ".jpg")
		if err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", id, got, err, want)
		}
	}
	for _, id := range []string{"", "../../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "./a", "a/.", `a\..\b`, "a\x00b", "a\nb", ".."} {
		if got, err := Path(dir, id, ".jpg"); err == nil {
			t.Errorf("Path(%q) = %q, want a refusal", id, got)
		}
	}
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/./b", "/abs", "a\\b", "x.jpg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		dir := filepath.Join("root", "out")
		p, err := Path(dir, id, ".jpg")
		if err != nil {
			return
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || !filepath.IsLocal(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("Path(%q) = %q escapes %q", id, p, dir)
		}
	})
}

func TestMetaRoundTrip(t *testing.T) {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(10, 200, 30, 0), 32, 32, gocv.MatTypeCV8UC3)
	defer img.Close()
	m := Meta{Settings: "s", Source: "/x.jpg", Box: image.Rect(1, 2, 3, 4), Stage: "dlib", Score: 0.5, Faces: 2,
		Landmarks: []image.Point{{5, 6}, {7, 8}}}
	for _, ext := range []gocv.FileExt{gocv.JPEGFileExt, gocv.PNGFileExt} {
		buf, err := gocv.IMEncode(ext, img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Extract(buf); !errors.Is(err, ErrNoMeta) {
			t.Errorf("%s without metadata: err = %v", ext, err)
		}
		with, err := Embed(buf, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Extract(with)
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		if got.Box != m.Box || got.Stage != m.Stage || got.Score != m.Score || len(got.Landmarks) != 2 || got.Landmarks[1] != m.Landmarks[1] || got.Settings != "s" {
			t.Errorf("%s: meta %+v, want %+v", ext, got, m)
		}
		// The file still decodes, to the same pixels.
		back, err := gocv.IMDecode(with, gocv.IMReadColor)
		if err != nil || back.Empty() {
			t.Fatalf("%s with metadata does not decode: %v", ext, err)
		}
		px := back.GetVecbAt(16, 16)
		back.Close()
		for i, want := range []int{10, 200, 30} { // BGR
			if d := int(px[i]) - want; d < -3 || d > 3 {
				t.Errorf("%s pixel %v, want about 10,200,30", ext, px)
			}
		}
	}
	if _, err := Embed([]byte("GIF89a"), m); err == nil {
		t.Error("embedded metadata in a GIF")
	}
	for _, junk := range [][]byte{nil, {0xff, 0xd8, 0xff, 0xfe, 0, 1}, {0xff, 0xd8, 0xff, 0xfe, 0xff, 0xff, 'x'}, []byte("\x89PNG\r\n\x1a\n\xff\xff\xff\xff")} {
		if _, err := Extract(junk); err == nil {
			t.Errorf("Extract(%q) found metadata", junk)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte{0xff, 0xd8, 0xff, 0xfe, 0x00, 0x04, '{', '}'})
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x02tEXtfa\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Extract(data) // must not panic or loop
	})
}

func TestToCrop(t *testing.T) {
	box := image.Rect(100, 100, 200, 200)
	region := image.Rect(50, 50, 250, 250)
	for _, tc := range []struct {
		p      image.Point
		angle  float64
		wx, wy float64
	}{
		{image.Pt(50, 50), 0, 0, 0},
		{image.Pt(250, 250), 0, 100, 100},
		{image.Pt(150, 150), 37, 50, 50}, // the box centre does not move
		// 90 degrees counter-clockwise (y down): a point right of the
		// centre goes above it.
		{image.Pt(200, 150), 90, 50, 25},
	} {
		x, y := ToCrop(tc.p, box, region, tc.angle, 100)
		if math.Abs(x-tc.wx) > 1e-9 || math.Abs(y-tc.wy) > 1e-9 {
			t.Errorf("ToCrop(%v, angle %g) = %.3f,%.3f; want %g,%g", tc.p, tc.angle, x, y, tc.wx, tc.wy)
		}
	}
}

// ToCrop must agree with what OpenCV's rotation does to the pixels.
func TestToCropMatchesOpenCV(t *testing.T) {
	img := gocv.NewMatWithSize(300, 300, gocv.MatTypeCV8UC3)
	defer img.Close()
	dot := image.Pt(210, 140)
	for y := dot.Y - 2; y <= dot.Y+2; y++ {
		for x := dot.X - 2; x <= dot.X+2; x++ {
			img.SetUCharAt(y, 3*x, 255)
		}
	}
	box := image.Rect(100, 100, 200, 200)
	for _, angle := range []float64{90, -30, 12.5} {
		rot := gocv.GetRotationMatrix2D(image.Pt(150, 150), angle, 1)
		out := gocv.NewMat()
		gocv.WarpAffine(img, &out, rot, image.Pt(300, 300))
		cx, cy := centroid(out)
		out.Close()
		rot.Close()
		x, y := ToCrop(dot, box, image.Rect(0, 0, 300, 300), angle, 300)
		if math.Abs(x-cx) > 0.5 || math.Abs(y-cy) > 0.5 {
			t.Errorf("angle %g: OpenCV moved the dot to %.1f,%.1f, ToCrop says %.1f,%.1f", angle, cx, cy, x, y)
		}
	}
}

// centroid is the intensity-weighted centre of a BGR Mat's blue channel.
func centroid(m gocv.Mat) (x, y float64) {
	data := m.ToBytes()
	var sum float64
	for i := 0; i < len(data); i += 3 {
		v := float64(data[i])
		p := i / 3
		x += v * float64(p%m.Cols())
		y += v * float64(p/m.Cols())
		sum += v
	}
	return x / sum, y / sum
}
