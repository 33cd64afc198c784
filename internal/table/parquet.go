package table

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/boostershot/facet/internal/arrowcheck"
)

// Parquet is what DuckDB reads natively (it reads Arrow IPC only through
// an extension) and what pandas and Spark read best, so facet reads and
// writes it with arrow-go's own parquet package. The Arrow schema is
// stored in the file (pqarrow.WithStoreSchema), so the age bins and the
// schema version come back; a Parquet file another tool wrote is read by
// its columns' types, converted as any other table (convert.go).

var parquetMagic = []byte("PAR1")

// parquetBatch is the rows of one record batch read from Parquet.
const parquetBatch = 64 << 10

// newParquetReader opens a Parquet file, which needs random access
// (arrowcheck.RandomAccess: a pipe is read into memory first).
func newParquetReader(orig io.Reader, br *bufio.Reader) (tr *Reader, err error) {
	ras, _, err := arrowcheck.RandomAccess(orig, br)
	if err != nil {
		return nil, fmt.Errorf("reading Parquet file: %w", err)
	}
	defer arrowcheck.RecoverDamage(&err)
	pf, err := file.NewParquetReader(ras)
	if err != nil {
		return nil, fmt.Errorf("reading Parquet file (truncated or damaged?): %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("reading Parquet file: %w", err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("reading Parquet file: %w", err)
	}
	return &Reader{schema: withFileMetadata(rr.Schema(), pf), parquet: rr, parquetFile: pf}, nil
}

// withFileMetadata is s with the key-value metadata of the Parquet file
// (where pqarrow keeps the Arrow schema's: facet's age bins and version),
// less the serialised schema itself.
func withFileMetadata(s *arrow.Schema, pf *file.Reader) *arrow.Schema {
	kv := pf.MetaData().KeyValueMetadata()
	var keys, values []string
	for i, k := range kv.Keys() {
		if k != "ARROW:schema" {
			keys, values = append(keys, k), append(values, kv.Values()[i])
		}
	}
	md := arrow.NewMetadata(keys, values)
	return arrow.NewSchema(s.Fields(), &md)
}

// nextParquet reads the next batch of a Parquet file: nil at its end.
func (r *Reader) nextParquet() (arrow.RecordBatch, error) {
	if r.parquet.Next() {
		return r.parquet.RecordBatch(), nil
	}
	if err := r.parquet.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading Parquet file after %d rows: %w", r.rows, err)
	}
	return nil, nil
}

// newParquetWriter starts a Parquet file of schema on w: Snappy
// compressed, row groups of up to 64k rows, the Arrow schema stored.
func newParquetWriter(w io.Writer, schema *arrow.Schema) (*pqarrow.FileWriter, error) {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetBatch),
		parquet.WithAllocator(memory.DefaultAllocator),
	)
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("starting Parquet file: %w", err)
	}
	return fw, nil
}
