package cvimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/imagefile"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/testdata"
)

func TestSaveLoad(t *testing.T) {
	img := augment.NewImage(40, 30)
	for i := 0; i < len(img.Pix); i += 3 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 200, 100, 50
	}
	path := filepath.Join(t.TempDir(), "a", "x.jpg")
	buf, err := EncodeJPEG(img, 95)
	if err != nil {
		t.Fatal(err)
	}
	if err := outfile.WriteFile(path, buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path, 0)
	if err != nil || back.W != 40 || back.H != 30 {
		t.Fatalf("loaded %v, %v", back, err)
	}
	if r, g, b := back.Pix[0], back.Pix[1], back.Pix[2]; r < 190 || g < 90 || g > 110 || b > 60 {
		t.Errorf("colour %d,%d,%d, want about 200,100,50 (RGB order kept)", r, g, b)
	}
	small, err := Load(path, 8)
	if err != nil || small.W != 8 || small.H != 8 {
		t.Errorf("resized to %dx%d, %v", small.W, small.H, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.jpg"), 0); err == nil {
		t.Error("a missing file loaded")
	}
}

// progressive is the face encoded as a progressive JPEG by OpenCV.
func progressive(t *testing.T) []byte {
	m, err := gocv.IMDecode(testdata.FaceJPEG(t), gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatal("decoding the face", err)
	}
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegProgressive, 1})
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// pngChunk is a PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, typ...), data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// Damaged files are refused with the kind and a reason naming the file,
// the cases OpenCV alone decodes into a picture among them.
func TestDamaged(t *testing.T) {
	jpg := testdata.CutFaceJPEGs(t)
	eoi := []byte{0xff, 0xd9}
	prog := progressive(t)
	var scans []int // where each start-of-scan marker begins
	for i := 0; i+1 < len(prog); i++ {
		if prog[i] == 0xff && prog[i+1] == 0xda {
			scans = append(scans, i)
		}
	}
	if len(scans) < 4 {
		t.Fatalf("a progressive JPEG of %d scans", len(scans))
	}
	png := testdata.PNG(t, image.NewNRGBA(image.Rect(0, 0, 120, 90)))
	idat := bytes.Index(png, []byte("IDAT")) - 4
	for _, tc := range []struct {
		name   string
		data   []byte
		kind   error
		want   string
		opencv bool // OpenCV alone returns a picture for it
	}{
		{"jpeg cut at 30%", jpg.Cut, imagefile.ErrTruncated, "truncated JPEG", true},
		{"jpeg cut at 30% with an end marker", jpg.CutEOI, imagefile.ErrTruncated, "truncated JPEG", true},
		{"jpeg with EXIF thumbnail cut at 30%", jpg.ThumbCut, imagefile.ErrTruncated, "truncated JPEG", true},
		{"jpeg with EXIF thumbnail cut at 30% with an end marker", jpg.ThumbCutEOI, imagefile.ErrTruncated, "truncated JPEG", true},
		{"progressive jpeg cut between scans with an end marker", append(bytes.Clone(prog[:scans[len(scans)/2]]), eoi...), imagefile.ErrTruncated, "truncated JPEG", true},
		{"png cut", png[:len(png)*2/3], imagefile.ErrTruncated, "truncated PNG", false},
		{"png cut with IEND appended", append(bytes.Clone(png[:idat+20]), pngChunk("IEND", nil)...), imagefile.ErrTruncated, "truncated PNG", false},
		{"20000x20000 png", testdata.PNGBomb(t, 20000), imagefile.ErrTooLarge, "20000x20000 png is over the 100-megapixel limit", false},
		{"gif", testdata.GIF(t), imagefile.ErrFormat, "GIF is not supported", false},
		{"empty", nil, imagefile.ErrEmpty, "empty file", false},
		{"text", []byte("not an image"), imagefile.ErrFormat, "not an image", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opencv {
				m, err := gocv.IMDecode(tc.data, gocv.IMReadColor)
				if err != nil || m.Empty() {
					t.Fatalf("OpenCV refuses it too (%v): the case tests nothing", err)
				}
				m.Close()
			}
			path := filepath.Join(t.TempDir(), "photo")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := Load(path, 0)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load = %v, %v; want %v naming %s and saying %q", img, err, tc.kind, path, tc.want)
			}
			if err := Verify(path); !errors.Is(err, tc.kind) {
				t.Errorf("Verify = %v, want %v", err, tc.kind)
			}
		})
	}
}

// A bomb is refused from its header: quickly, and without allocating
// its pixels (1.2 GB).
func TestBombNotDecoded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.png")
	if err := os.WriteFile(path, testdata.PNGBomb(t, 20000), 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Load(path, 64)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, imagefile.ErrTooLarge) || !strings.Contains(err.Error(), "20000x20000") {
		t.Fatalf("err = %v", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 || took > time.Second {
		t.Errorf("refused after %v, %d bytes allocated", took, alloc)
	}
}

// sameAsOpenCV fails unless Decode gives exactly OpenCV's pixels.
func sameAsOpenCV(t *testing.T, name string, data []byte) {
	t.Helper()
	got, err := Decode(data)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	defer got.Close()
	want, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil || want.Empty() {
		t.Fatalf("%s: OpenCV: %v", name, err)
	}
	defer want.Close()
	if got.Cols() != want.Cols() || got.Rows() != want.Rows() || !bytes.Equal(got.ToBytes(), want.ToBytes()) {
		t.Errorf("%s: %dx%d, not OpenCV's %dx%d pixels", name, got.Cols(), got.Rows(), want.Cols(), want.Rows())
	}
}

// Decoding JPEGs here instead of through OpenCV changes no pixel: every
// EXIF orientation, grey, CMYK, progressive, restart markers, and the
// other formats (which OpenCV decodes itself).
func TestSameAsOpenCV(t *testing.T) {
	face := testdata.FaceJPEG(t)
	sameAsOpenCV(t, "face", face)
	sameAsOpenCV(t, "progressive face", progressive(t))
	// An asymmetric picture, so each orientation differs.
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 7), uint8(x * y), 255})
		}
	}
	asym := testdata.JPEG(t, img)
	for o := uint16(1); o <= 8; o++ {
		sameAsOpenCV(t, "orientation "+string(rune('0'+o)), testdata.WithEXIF(t, asym, o, nil))
	}
	m, err := Decode(testdata.WithEXIF(t, asym, 6, nil))
	if err != nil || m.Cols() != 32 || m.Rows() != 48 {
		t.Errorf("orientation 6: %dx%d, %v; want 32x48", m.Cols(), m.Rows(), err)
	}
	m.Close()
	sameAsOpenCV(t, "grey jpeg", testdata.JPEG(t, image.NewGray(image.Rect(0, 0, 17, 9))))
	sameAsOpenCV(t, "png with alpha", testdata.PNG(t, image.NewNRGBA(image.Rect(0, 0, 7, 5))))
	// Go's own JPEG test files: CMYK, progressive, every subsampling,
	// restart intervals.
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v: skipping Go's test images", err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(goroot)), "src", "image", "testdata", "*.jpeg"))
	if len(files) == 0 {
		t.Skip("no JPEG test files in GOROOT/src/image/testdata")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f, "truncated") { // a progressive file missing scans
			if _, err := Decode(data); !errors.Is(err, imagefile.ErrTruncated) {
				t.Errorf("%s: err = %v, want truncated", filepath.Base(f), err)
			}
			continue
		}
		sameAsOpenCV(t, filepath.Base(f), data)
	}
}

// The real faces decode as OpenCV decodes them (a sample; all 21,501
// JPEGs of the real data did when this decoder was written).
func TestRealDataSameAsOpenCV(t *testing.T) {
	dir := testdata.Dir(t)
	var files []string
	for _, g := range []string{"faces/utkface/*.jpg", "faces/utkface-more/*.jpg", "masks/*/*.jpg", "portraits/*.jpg"} {
		m, _ := filepath.Glob(filepath.Join(dir, g))
		for i := 0; i < len(m); i += 97 {
			files = append(files, m[i])
		}
	}
	if len(files) < 50 {
		t.Fatalf("only %d real images found", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sameAsOpenCV(t, f, data)
	}
}

// BenchmarkDecode: the checks against the decode, on the face and on a
// 1024x768 photo. The overhead of the structure walk is check/decode;
// opencv is the old path (gocv.IMDecode, no check) for comparison.
func BenchmarkDecode(b *testing.B) {
	photo := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	for i := range photo.Pix {
		photo.Pix[i] = byte(i*7919>>5) ^ byte(i>>11)
	}
	for _, in := range []struct {
		name string
		data []byte
	}{{"face", testdata.FaceJPEG(b)}, {"photo1024", testdata.JPEG(b, photo)}} {
		info, err := imagefile.Check(in.data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name+"/check", func(b *testing.B) {
			for b.Loop() {
				if _, err := imagefile.Check(in.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/decode-unchecked", func(b *testing.B) {
			for b.Loop() {
				m, err := decodeJPEG(in.data, info)
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
		})
		b.Run(in.name+"/decode", func(b *testing.B) {
			for b.Loop() {
				m, err := Decode(in.data)
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
		})
		b.Run(in.name+"/opencv", func(b *testing.B) {
			for b.Loop() {
				m, _ := gocv.IMDecode(in.data, gocv.IMReadColor)
				m.Close()
			}
		})
	}
}
