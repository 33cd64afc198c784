package table

import (
	"bytes"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// batches is what a benchmark reads a table with.
type batches interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	Release()
}

// benchmarkRead reads a competition-sized table (31,500 rows in batches of
// 4,096) in format f with the reader open makes: the cost the reader adds
// to every stage of a pipe.
func benchmarkRead(b *testing.B, f Format, open func(io.Reader) (batches, error)) {
	data := encode(b, testSamples(31500), f, 4096, true)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := open(bytes.NewReader(data))
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

func facetReader(r io.Reader) (batches, error) { return NewReader(r, ColID, ColPath) }

func BenchmarkReadStream(b *testing.B) { benchmarkRead(b, Stream, facetReader) }
func BenchmarkReadFile(b *testing.B)   { benchmarkRead(b, File, facetReader) }

// BenchmarkReadStreamArrowGo reads the same stream with arrow-go's reader
// alone, without facet's checks: the baseline of BenchmarkReadStream.
func BenchmarkReadStreamArrowGo(b *testing.B) {
	benchmarkRead(b, Stream, func(r io.Reader) (batches, error) { return ipc.NewReader(r) })
}
