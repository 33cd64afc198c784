package table

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
)

func testSamples(n int) []Sample {
	bins := label.Bins{30, 58}
	out := make([]Sample, n)
	for i := range out {
		s := NewSample("p"+itoa(i/7)+"/img"+itoa(i%7), "/data/"+itoa(i)+".jpg", "p"+itoa(i/7), "competition", "train")
		s.SetLabels(int8(i%3), int8(i/7%2), 20+i%50, bins)
		out[i] = s
	}
	return out
}

func itoa(i int) string { return fmt.Sprintf("%03d", i) }

// encode writes samples (split in batches of at most batch rows) in format f,
// with an origin column when a sample is not original.
// With close false the stream is left without its end.
func encode(t testing.TB, samples []Sample, f Format, batch int, close bool) []byte {
	t.Helper()
	schema := NewSchema(label.Bins{30, 58})
	for _, s := range samples {
		if !s.Origin.IsOriginal() {
			schema = NewSchema(label.Bins{30, 58}, OriginField)
		}
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema, f)
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(samples); start += batch {
		for _, rec := range Records(memory.DefaultAllocator, schema, samples[start:min(start+batch, len(samples))]) {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
	}
	if close {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func readSamples(t *testing.T, data []byte) ([]Sample, *arrow.Schema, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), ColID, ColPath)
	if err != nil {
		return nil, nil, err
	}
	defer r.Release()
	var out []Sample
	for r.Next() {
		out = append(out, Samples(r.RecordBatch())...)
	}
	return out, r.Schema(), r.Err()
}

func TestRoundTrip(t *testing.T) {
	want := testSamples(100)
	for _, tc := range []struct {
		name string
		f    Format
	}{{"stream", Stream}, {"file", File}} {
		t.Run(tc.name, func(t *testing.T) {
			got, schema, err := readSamples(t, encode(t, want, tc.f, 30, true))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
			bins, err := AgeBins(schema)
			if err != nil || bins != (label.Bins{30, 58}) {
				t.Errorf("age bins = %v, %v; want 30,58", bins, err)
			}
		})
	}
}

func TestFileFromDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.arrow")
	if err := os.WriteFile(path, encode(t, testSamples(20), File, 8, true), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	recs, err := ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || r.Rows() != 20 {
		t.Errorf("got %d batches, %d rows; want 3, 20", len(recs), r.Rows())
	}
	for _, rec := range recs {
		rec.Release()
	}
}

func TestTruncatedStreamIsAnError(t *testing.T) {
	samples := testSamples(50)
	whole := encode(t, samples, Stream, 10, true)
	open := encode(t, samples, Stream, 10, false)
	if !bytes.HasPrefix(whole, open) || len(whole) != len(open)+8 {
		t.Fatalf("unclosed stream is not the closed one minus its 8-byte end marker")
	}
	// The stream as a crashed writer leaves it: every batch complete, no end.
	got, _, err := readSamples(t, open)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("unclosed stream: err = %v after %d rows, want ErrTruncated", err, len(got))
	}
	// Cut in the middle of a message.
	if _, _, err := readSamples(t, whole[:len(whole)/2]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("stream cut mid-message: err = %v, want ErrTruncated", err)
	}
	if _, _, err := readSamples(t, whole[:len(whole)-8-1]); err == nil {
		t.Fatal("stream missing its last byte read without error")
	}
}

func TestBadInput(t *testing.T) {
	good := encode(t, testSamples(3), Stream, 10, true)
	// A table whose mask column has a type no mask fits (a number of
	// another width would be converted: convert_test.go).
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "path", Type: arrow.BinaryTypes.String}, {Name: "mask", Type: arrow.FixedWidthTypes.Boolean}}, nil)
	var wrong bytes.Buffer
	w, _ := NewWriter(&wrong, schema, Stream)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.StringBuilder).Append("a")
	b.Field(1).(*array.StringBuilder).Append("a.jpg")
	b.Field(2).(*array.BooleanBuilder).Append(true)
	rec := b.NewRecordBatch()
	_ = w.Write(rec)
	_ = w.Close()
	rec.Release()
	b.Release()

	newer := NewSchema(label.DefaultBins)
	md := arrow.NewMetadata([]string{MetaVersion}, []string{"99"})
	var future bytes.Buffer
	fw, _ := NewWriter(&future, arrow.NewSchema(newer.Fields(), &md), Stream)
	_ = fw.Close()

	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "empty input"},
		{"text that is no table", "just some words\n", "a CSV table needs an id column"},
		{"binary", "\x89PNG\r\n\x1a\nxxxx", "not an Arrow table, Parquet file or facet CSV"},
		{"half schema", string(good[:12]), "schema"},
		{"wrong type", wrong.String(), `column "mask" is bool, want int8 (or another integer type)`},
		{"newer version", future.String(), "schema version 99"},
		{"damaged file", "ARROW1\x00\x00garbage", "truncated or damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readSamples(t, []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	t.Run("missing column", func(t *testing.T) {
		_, err := NewReader(bytes.NewReader(good), "fold")
		if err == nil || !strings.Contains(err.Error(), `no "fold" column`) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCSV(t *testing.T) {
	out := string(encode(t, testSamples(2), CSV, 10, true))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("csv has %d lines, want header + 2:\n%s", len(lines), out)
	}
	if lines[0] != "id,path,person,source,subset,race,mask,gender,age_group,label,age" {
		t.Errorf("header = %q", lines[0])
	}
	if !strings.HasPrefix(lines[2], "p000/img001,/data/001.jpg,p000,competition,train,,1,0,0,6,21") {
		t.Errorf("row = %q", lines[2])
	}
}

func TestFormatFor(t *testing.T) {
	for path, want := range map[string]Format{"": Stream, "-": Stream, "x.arrow": File, "X.FEATHER": File, "x.arrows": Stream,
		"x.parquet": Parquet, "x.PQ": Parquet, "out.csv": CSV} {
		if got := FormatFor(path, false); got != want {
			t.Errorf("FormatFor(%q) = %v, want %v", path, got, want)
		}
	}
	if FormatFor("x.arrow", true) != CSV {
		t.Error("--csv does not win")
	}
}
