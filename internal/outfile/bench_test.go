package outfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWrite writes 16 KiB files (a crop's size) into folders of 100:
// through a Dir, as facet-crop does, and the bare way the writer replaced
// (os.CreateTemp, write, chmod, close, rename) for comparison.
func BenchmarkWrite(b *testing.B) {
	data := make([]byte, 16<<10)
	b.Run("Dir", func(b *testing.B) {
		d, err := OpenDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; b.Loop(); i++ {
			if err := d.WriteFile(fmt.Sprintf("p%d/%d.jpg", i/100, i), data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateTemp", func(b *testing.B) {
		dir := b.TempDir()
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for i := 0; b.Loop(); i++ {
			path := filepath.Join(dir, fmt.Sprintf("p%d", i/100), fmt.Sprintf("%d.jpg", i))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				b.Fatal(err)
			}
			f, err := os.CreateTemp(filepath.Dir(path), ".x.tmp-*")
			if err != nil {
				b.Fatal(err)
			}
			f.Write(data)
			f.Chmod(0o644)
			f.Close()
			if err := os.Rename(f.Name(), path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
