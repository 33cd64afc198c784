package imagefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngBomb is a valid PNG header claiming a huge size, with its CRC fixed,
// so only the size check can refuse it.
func pngBomb(t *testing.T) []byte {
	data := encodePNG(t, image.NewGray(image.Rect(0, 0, 4, 4)))
	// Signature (8) + IHDR length (4) + "IHDR" (4), then width and height.
	binary.BigEndian.PutUint32(data[16:], 50000)
	binary.BigEndian.PutUint32(data[20:], 50000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

func TestDecode(t *testing.T) {
	rgb := image.NewRGBA(image.Rect(0, 0, 256, 192))
	for i := range rgb.Pix {
		rgb.Pix[i] = byte(i * 7919 >> 3)
	}
	good := encodeJPEG(t, rgb)
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	alpha.Set(1, 1, color.NRGBA{255, 0, 0, 10})

	for _, tc := range []struct {
		name string
		data []byte
		want string // "" decodes
	}{
		{"jpeg", good, ""},
		{"grayscale jpeg", encodeJPEG(t, gray), ""},
		{"png with alpha", encodePNG(t, alpha), ""},
		{"zero bytes", nil, "empty file"},
		{"truncated jpeg", good[:len(good)/2], "decoding jpeg"},
		{"header only", good[:20], "truncated"},
		{"not an image", []byte("id,path\nthis is a csv file, not a photo\n"), "unknown format"},
		{"decompression bomb", pngBomb(t), "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			img, _, err := Decode(path)
			if tc.want == "" {
				if err != nil || img == nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, _, err := Config(bytes.NewReader(pngBomb(t))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: err = %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode(filepath.Join(t.TempDir(), "missing.jpg")); err == nil {
		t.Error("a missing file decoded")
	}
}
