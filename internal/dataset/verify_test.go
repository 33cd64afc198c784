package dataset

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/boostershot/facet/internal/imagefile"
	"github.com/boostershot/facet/internal/table"
)

// checked is a readable function for the test: imagefile's checks (the
// decode itself is cvimage's, tested there).
func checked(path string) error {
	data, err := imagefile.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = imagefile.Check(data)
	return err
}

func TestVerify(t *testing.T) {
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewRGBA(image.Rect(0, 0, 64, 64)), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var samples []table.Sample
	for i, data := range [][]byte{jpg.Bytes(), nil, jpg.Bytes()[:40], []byte("not an image"), jpg.Bytes()} {
		p := filepath.Join(dir, string(rune('a'+i))+".jpg")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, table.NewSample(string(rune('a'+i)), p, "p", "test", "train"))
	}
	samples = append(samples, table.NewSample("missing", filepath.Join(dir, "missing.jpg"), "p", "test", "train"))
	calls := 0
	ok, bad, err := Verify(context.Background(), samples, 3, checked, func(done, total int) {
		calls++
		if done > total || total != len(samples) {
			t.Errorf("progress %d/%d", done, total)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 2 || ok[0].ID != "a" || ok[1].ID != "e" {
		t.Errorf("kept %v, want a and e in order", ok)
	}
	if len(bad) != 4 || calls != len(samples) {
		t.Errorf("%d problems, %d progress calls; want 4, %d", len(bad), calls, len(samples))
	}
	for _, p := range bad {
		if p.Reason != ReasonUnreadable || p.Detail == "" {
			t.Errorf("problem %+v", p)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Verify(ctx, samples, 2, checked, nil); err == nil {
		t.Error("a cancelled Verify returned no error")
	}
}
