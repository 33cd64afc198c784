package arrowcheck

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The tables the tests read, written by arrow-go.

// goodTable is 10 rows of a sample table's eleven columns (six strings,
// then integers) in batches of 4, written by arrow-go as a stream or a
// file.
func goodTable(t *testing.T, file bool) []byte {
	t.Helper()
	var fields []arrow.Field
	for _, name := range []string{"id", "path", "person", "source", "subset", "race"} {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String})
	}
	for _, name := range []string{"mask", "gender", "age_group", "label"} {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int8, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "age", Type: arrow.PrimitiveTypes.Int16, Nullable: true})
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	var recs []arrow.RecordBatch
	for start := 0; start < 10; start += 4 {
		for i := start; i < min(start+4, 10); i++ {
			for c := range 6 {
				b.Field(c).(*array.StringBuilder).Append(fmt.Sprintf("%s-%03d", fields[c].Name, i))
			}
			for c := 6; c < 10; c++ {
				b.Field(c).(*array.Int8Builder).Append(int8(i % 3))
			}
			b.Field(10).(*array.Int16Builder).Append(int16(20 + i))
		}
		recs = append(recs, b.NewRecordBatch())
	}
	return writeIPC(t, schema, file, recs)
}

// writeIPC writes recs, and releases them, with arrow-go's own writer as
// an IPC file or stream.
func writeIPC(t testing.TB, schema *arrow.Schema, file bool, recs []arrow.RecordBatch, opts ...ipc.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts = append(opts, ipc.WithSchema(schema))
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if file {
		fw, err := ipc.NewFileWriter(&buf, opts...)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	} else {
		w = ipc.NewWriter(&buf, opts...)
	}
	var err error
	for _, rec := range recs {
		err = errors.Join(err, w.Write(rec))
		rec.Release()
	}
	if err = errors.Join(err, w.Close()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compressedDictTable writes 1000 rows of a dictionary-encoded column and
// a string column, zstd-compressed, as a stream and as a file.
func compressedDictTable(t testing.TB) map[string][]byte {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "kind", Type: dt}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range 1000 {
		if err := b.Field(0).(*array.BinaryDictionaryBuilder).AppendString([]string{"aaf", "utkface"}[i%2]); err != nil {
			t.Fatal(err)
		}
		b.Field(1).(*array.StringBuilder).Append("xxxxxx"[:i%7])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	out := map[string][]byte{}
	for name, file := range map[string]bool{"stream": false, "file": true} {
		rec.Retain()
		out[name] = writeIPC(t, schema, file, []arrow.RecordBatch{rec}, ipc.WithZstd())
	}
	return out
}
