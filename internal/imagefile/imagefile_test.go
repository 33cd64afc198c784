package imagefile

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"github.com/boostershot/facet/internal/testdata"
)

// thumbnail is a small JPEG to put in an EXIF segment.
func thumbnail(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 31)
	}
	return testdata.JPEG(t, img)
}

func TestCheck(t *testing.T) {
	face := testdata.FaceJPEG(t)
	cut := face[:len(face)*3/10]
	exif := testdata.WithEXIF(t, face, 6, thumbnail(t))
	exifCut := exif[:len(exif)*3/10]
	// What the old guard looked for: an end marker in the last 4 KiB.
	if !bytes.Contains(exifCut[max(0, len(exifCut)-4096):], []byte{0xff, 0xd9}) {
		t.Fatal("the thumbnail's end marker is not in the cut file's last 4 KiB: the case tests nothing")
	}
	app1End := 4 + (int(exif[4])<<8 | int(exif[5]))
	if !bytes.HasSuffix(exif[:app1End], []byte{0xff, 0xd9}) {
		t.Fatal("the EXIF segment does not end with the thumbnail's end marker")
	}
	grey := image.NewGray(image.Rect(0, 0, 64, 48))
	png := testdata.PNG(t, grey)
	var bmpBuf bytes.Buffer
	if err := bmp.Encode(&bmpBuf, image.NewRGBA(image.Rect(0, 0, 30, 20))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		kind error  // nil: accepted
		want string // in the error, or the format when accepted
		w, h int
	}{
		{"face jpeg", face, nil, "jpeg", 0, 0},
		{"jpeg with EXIF thumbnail", exif, nil, "jpeg", 0, 0},
		{"png", png, nil, "png", 64, 48},
		{"bmp", bmpBuf.Bytes(), nil, "bmp", 30, 20},
		{"jpeg cut at 30%", cut, ErrTruncated, "truncated JPEG", 0, 0},
		{"jpeg with EXIF thumbnail cut at 30%", exifCut, ErrTruncated, "truncated JPEG", 0, 0},
		{"jpeg ending with its thumbnail's end marker", exif[:app1End], ErrTruncated, "truncated JPEG", 0, 0},
		{"jpeg cut inside its EXIF segment", exif[:app1End-100], ErrTruncated, "runs past the end", 0, 0},
		{"jpeg header only", face[:20], ErrTruncated, "truncated JPEG", 0, 0},
		{"png cut", png[:len(png)-20], ErrTruncated, "truncated PNG", 0, 0},
		{"png without IEND", png[:len(png)-12], ErrTruncated, "truncated PNG", 0, 0},
		{"bmp cut", bmpBuf.Bytes()[:bmpBuf.Len()/2], ErrTruncated, "truncated BMP", 0, 0},
		{"20000x20000 png", testdata.PNGBomb(t, 20000), ErrTooLarge, "20000x20000 png is over the 100-megapixel limit", 0, 0},
		{"gif", testdata.GIF(t), ErrFormat, "GIF is not supported", 0, 0},
		{"empty", nil, ErrEmpty, "empty file", 0, 0},
		{"text", []byte("id,path\nthis is a csv file, not a photo\n"), ErrFormat, "not an image", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Check(tc.data)
			if tc.kind == nil {
				if err != nil || info.Format != tc.want || (tc.w > 0 && (info.Width != tc.w || info.Height != tc.h)) {
					t.Fatalf("Check = %+v, %v; want a %dx%d %s", info, err, tc.w, tc.h, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.kind, tc.want)
			}
		})
	}
	if info, err := Check(exif); err != nil || info.Orientation != 6 || info.Width != 200 {
		t.Errorf("EXIF orientation: %+v, %v; want orientation 6 of a 200-pixel face", info, err)
	}
	if info, err := Check(face); err != nil || info.Orientation != 1 {
		t.Errorf("no EXIF: %+v, %v; want orientation 1", info, err)
	}
}

// An image over the pixel limit is refused from its header alone: fast
// and without allocating anything like its pixels.
func TestBombRefusedBeforeDecoding(t *testing.T) {
	bomb := testdata.PNGBomb(t, 20000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Check(bomb)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 || took > time.Second {
		t.Errorf("refusing took %v and allocated %d bytes", took, got)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("FIFO: err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("folder: err = %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.jpg")); err == nil {
		t.Error("a missing file was read")
	}
	path := filepath.Join(dir, "a.png")
	want := testdata.PNG(t, image.NewGray(image.Rect(0, 0, 3, 3)))
	os.WriteFile(path, want, 0o644)
	if got, err := ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Errorf("ReadFile = %d bytes, %v", len(got), err)
	}
}

func TestDecode(t *testing.T) {
	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	alpha.Set(1, 1, color.NRGBA{255, 0, 0, 10})
	face := testdata.FaceJPEG(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" decodes
	}{
		{"jpeg", face, ""},
		{"png with alpha", testdata.PNG(t, alpha), ""},
		{"truncated jpeg", face[:len(face)/2], "truncated JPEG"},
		{"gif", testdata.GIF(t), "GIF"},
		{"bomb", testdata.PNGBomb(t, 50000), "over the 100-megapixel limit"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, _, err := Decode(path)
		if tc.want == "" {
			if err != nil || img == nil {
				t.Errorf("%s: err = %v", tc.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func TestExifOrientation(t *testing.T) {
	face := testdata.FaceJPEG(t)
	for o := uint16(0); o <= 9; o++ {
		want := int(o)
		if o < 1 || o > 8 {
			want = 1
		}
		info, err := Check(testdata.WithEXIF(t, face, o, nil))
		if err != nil || info.Orientation != want {
			t.Errorf("orientation %d: %+v, %v; want %d", o, info, err, want)
		}
	}
	// Big-endian EXIF, and malformed ones that must not panic.
	mm := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x03\x00\x00\x00\x00\x00\x00")
	if got := exifOrientation(mm); got != 3 {
		t.Errorf("big-endian orientation = %d, want 3", got)
	}
	for n := range 8 + 2 + 12 { // cut before the entry is whole
		if got := exifOrientation(mm[:n]); got != 1 {
			t.Errorf("cut at %d: orientation %d, want 1", n, got)
		}
	}
}
