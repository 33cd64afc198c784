package cvimage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/boostershot/facet/internal/augment"
)

func TestSaveLoad(t *testing.T) {
	img := augment.NewImage(40, 30)
	for i := 0; i < len(img.Pix); i += 3 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 200, 100, 50
	}
	path := filepath.Join(t.TempDir(), "a", "x.jpg")
	if err := SaveJPEG(path, img, 95); err != nil {
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
	bad := filepath.Join(t.TempDir(), "bad.jpg")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	if _, err := Load(bad, 0); err == nil {
		t.Error("text decoded")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.jpg"), 0); err == nil {
		t.Error("a missing file loaded")
	}
}
