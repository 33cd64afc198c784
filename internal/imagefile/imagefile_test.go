package imagefile

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/testdata"
)

func TestDecode(t *testing.T) {
	rgb := image.NewRGBA(image.Rect(0, 0, 256, 192))
	for i := range rgb.Pix {
		rgb.Pix[i] = byte(i * 7919 >> 3)
	}
	good := testdata.JPEG(t, rgb)
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	alpha.Set(1, 1, color.NRGBA{255, 0, 0, 10})

	for _, tc := range []struct {
		name string
		data []byte
		want string // "" decodes
	}{
		{"jpeg", good, ""},
		{"grayscale jpeg", testdata.JPEG(t, gray), ""},
		{"png with alpha", testdata.PNG(t, alpha), ""},
		{"zero bytes", nil, "empty file"},
		{"truncated jpeg", good[:len(good)/2], "decoding jpeg"},
		{"header only", good[:20], "truncated"},
		{"not an image", []byte("id,path\nthis is a csv file, not a photo\n"), "unknown format"},
		{"decompression bomb", testdata.PNGBomb(t, 50000), "too large"},
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
	if _, _, err := Config(bytes.NewReader(testdata.PNGBomb(t, 50000))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: err = %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode(filepath.Join(t.TempDir(), "missing.jpg")); err == nil {
		t.Error("a missing file decoded")
	}
}
