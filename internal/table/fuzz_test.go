package table

import (
	"bytes"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: outside input must give
// rows or an error, never a panic, and the rows it gives must be readable.
func FuzzReader(f *testing.F) {
	samples := testSamples(5)
	for _, fm := range []Format{Stream, File} {
		data := encode(f, samples, fm, 2, true)
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	// testdata/fuzz/FuzzReader also holds a zstd-compressed table with a
	// dictionary column as arrow-go writes it, stream and file
	// (internal/arrowcheck's compressedDictTable).
	f.Add([]byte("id,path\nx,y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		defer r.Release()
		for r.Next() {
			rec := r.RecordBatch()
			if Check(rec.Schema(), ColID, ColPath) == nil {
				Samples(rec)
			}
		}
		_ = r.Err()
	})
}
