package table

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// benchmarkRead reads a competition-sized table (31,500 rows in batches of
// 4,096) in format f: the cost the reader adds to every stage of a pipe.
func benchmarkRead(b *testing.B, f Format) {
	data := encode(b, testSamples(31500), f, 4096, true)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), ColID, ColPath)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			n += len(Samples(r.RecordBatch()))
		}
		if err := r.Err(); err != nil || n != 31500 {
			b.Fatalf("read %d rows: %v", n, err)
		}
		r.Release()
	}
}

func BenchmarkReadStream(b *testing.B) { benchmarkRead(b, Stream) }
func BenchmarkReadFile(b *testing.B)   { benchmarkRead(b, File) }

// BenchmarkReadStreamArrowGo reads the same stream with arrow-go's reader
// alone, without facet's checks: the baseline of BenchmarkReadStream.
func BenchmarkReadStreamArrowGo(b *testing.B) {
	data := encode(b, testSamples(31500), Stream, 4096, true)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := ipc.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			n += len(Samples(r.RecordBatch()))
		}
		if err := r.Err(); err != nil || n != 31500 {
			b.Fatalf("read %d rows: %v", n, err)
		}
		r.Release()
	}
}
