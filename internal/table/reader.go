package table

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var (
	fileMagic    = []byte("ARROW1")
	streamMarker = []byte{0xff, 0xff, 0xff, 0xff}
)

// ErrTruncated reports a stream that stopped without its end-of-stream
// marker: the stage writing it died part way through.
var ErrTruncated = errors.New("arrow stream ended without its end-of-stream marker: the stage writing it stopped part way (check its error)")

// Reader reads a sample table from an Arrow IPC stream or file, whichever
// the input holds.
//
// arrow-go's stream reader treats input that stops between two messages as
// a normal end, so a crashed upstream stage would look like a smaller
// table. Every Arrow writer (arrow-go, pyarrow, arrow JS) closes a stream
// with an end-of-stream marker, and the IPC reader stops right after
// reading it, so Reader watches the bytes underneath: reaching the end of
// the input itself means the marker never came, and that is ErrTruncated.
//
// arrow-go also trusts the lengths inside the input, so a few damaged bytes
// can make it allocate without bound (a fatal error, not a panic). Reader
// verifies every message's metadata before arrow-go sees it (see framer
// and verify.go), recovers arrow-go's panics as errors, and validates each
// record batch's buffers, so outside input gives rows or an error. The
// label columns it holds are checked too (label.Check, label.CheckAge): a
// mask of 7 or an age of 999 is an error naming column, row and value.
type Reader struct {
	schema *arrow.Schema
	stream *ipc.Reader
	file   *ipc.FileReader
	framer *framer
	blocks []fileBlock  // the record batches of a file, verified as read
	layout schemaLayout // what they must hold for the file's schema
	ras    io.ReaderAt  // the file
	next   int          // next record batch of a file
	rec    arrow.RecordBatch
	rows   int64
	err    error
	closer io.Closer         // the file Open opened, if any
	conv   *conversion       // other writers' types to facet's (convert.go)
	owned  arrow.RecordBatch // the current batch when conv made it
	// parquet reads a Parquet file (parquet.go), parquetFile is the file.
	parquet     pqarrow.RecordReader
	parquetFile *file.Reader
	// csvBatch is a CSV table, read whole (csv.go); csvDone once served.
	csvBatch arrow.RecordBatch
	csvDone  bool
}

// NewReader detects the format of r and reads its schema. It checks the
// schema version and that the required columns exist with facet's types.
func NewReader(r io.Reader, required ...string) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(8)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading table: %w", err)
		}
		return nil, errors.New("empty input: no Arrow table (did the stage before this one fail?)")
	}
	var tr *Reader
	switch {
	case bytes.HasPrefix(head, fileMagic):
		tr, err = newFileReader(r, br)
	case bytes.HasPrefix(head, streamMarker):
		tr, err = newStreamReader(br)
	case bytes.HasPrefix(head, parquetMagic):
		tr, err = newParquetReader(r, br)
	case looksLikeCSV(br):
		tr, err = newCSVReader(br)
	default:
		return nil, notArrow(head)
	}
	if err != nil {
		return nil, err
	}
	if tr.conv, err = planConversion(tr.schema); err == nil {
		tr.schema = tr.conv.schema
		err = Check(tr.schema, required...)
	}
	if err != nil {
		tr.Release()
		return nil, err
	}
	return tr, nil
}

// looksLikeCSV reports whether the input starts with the header line of a
// facet CSV table: UTF-8 text without control characters that names an id
// column.
func looksLikeCSV(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	line, _, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !utf8.Valid(line) || bytes.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' }) {
		return false
	}
	for _, name := range strings.Split(string(line), ",") {
		if strings.Trim(name, `" `) == ColID {
			return true
		}
	}
	return false
}

func notArrow(head []byte) error {
	if utf8.Valid(head) {
		return fmt.Errorf("input is not an Arrow table, Parquet file or facet CSV: it starts with text %q, and a CSV table needs an id column in its header line", head)
	}
	return fmt.Errorf("input is not an Arrow table, Parquet file or facet CSV (starts with bytes % x)", head)
}

// ipcOptions are the options of every arrow-go reader: the limits are
// checked before arrow-go sees the input, so its own must not be lower.
func ipcOptions() []ipc.Option {
	return []ipc.Option{
		ipc.WithAllocator(memory.DefaultAllocator),
		ipc.WithMetadataSizeLimit(maxMetadata),
		ipc.WithBodySizeLimit(maxBody),
	}
}

// newStreamReader opens the IPC stream format through a framer.
func newStreamReader(br *bufio.Reader) (tr *Reader, err error) {
	f := &framer{r: br}
	defer recoverDamage(&err)
	s, err := ipc.NewReader(f, ipcOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading Arrow stream schema: %w", f.cause(err))
	}
	return &Reader{schema: s.Schema(), stream: s, framer: f}, nil
}

// newFileReader opens the IPC file format, which needs random access: a
// regular file is read in place, anything else (a pipe) is read into memory.
// The footer and the dictionaries are verified before arrow-go reads them,
// the record batches as they are read.
func newFileReader(orig io.Reader, br *bufio.Reader) (tr *Reader, err error) {
	var ras ipc.ReadAtSeeker
	var size int64
	if f, ok := orig.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.Seek(0, io.SeekStart); err == nil {
				ras, size = f, st.Size()
			}
		}
	}
	if ras == nil {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("reading Arrow file: %w", err)
		}
		ras, size = bytes.NewReader(data), int64(len(data))
	}
	footer, err := readFooter(ras, size)
	if err != nil {
		return nil, fmt.Errorf("reading Arrow file (truncated or damaged?): %w", err)
	}
	for i, b := range footer.dictionaries {
		if err := checkBlock(ras, b, headerDictionaryBatch, footer.schema); err != nil {
			return nil, fmt.Errorf("reading Arrow file (truncated or damaged?): dictionary %d: %w", i, err)
		}
	}
	defer recoverDamage(&err)
	fr, err := ipc.NewFileReader(ras, ipcOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading Arrow file (truncated or damaged?): %w", err)
	}
	if fr.NumRecords() != len(footer.batches) {
		_ = fr.Close()
		return nil, damaged(fmt.Errorf("the file footer lists %d record batches, arrow-go found %d", len(footer.batches), fr.NumRecords()))
	}
	return &Reader{schema: fr.Schema(), file: fr, blocks: footer.batches, layout: footer.schema, ras: ras}, nil
}

// recoverDamage turns a panic in arrow-go, met on input that passed the
// checks here, into an error.
func recoverDamage(err *error) {
	if p := recover(); p != nil {
		*err = damaged(fmt.Errorf("%v", p))
	}
}

// Schema is the table's schema, with its metadata.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next advances to the next record batch. After it returns false, Err says
// whether the table ended cleanly.
func (r *Reader) Next() (ok bool) {
	if r.err != nil {
		return false
	}
	if r.owned != nil {
		r.owned.Release()
		r.owned, r.rec = nil, nil
	}
	defer func() {
		if p := recover(); p != nil {
			r.rec, r.err = nil, fmt.Errorf("after %d rows: %w", r.rows, damaged(fmt.Errorf("%v", p)))
			ok = false
		}
	}()
	var rec arrow.RecordBatch
	switch {
	case r.csvBatch != nil:
		if r.csvDone {
			return false
		}
		rec, r.csvDone = r.csvBatch, true
	case r.parquet != nil:
		var err error
		if rec, err = r.nextParquet(); err != nil || rec == nil {
			r.err = err
			return false
		}
	case r.file != nil:
		if r.next >= len(r.blocks) {
			return false
		}
		if err := checkBlock(r.ras, r.blocks[r.next], headerRecordBatch, r.layout); err != nil {
			r.err = fmt.Errorf("reading Arrow file batch %d: %w", r.next, err)
			return false
		}
		var err error
		if rec, err = r.file.RecordBatch(r.next); err != nil {
			r.err = fmt.Errorf("reading Arrow file batch %d: %w", r.next, err)
			return false
		}
		r.next++
	default:
		if !r.stream.Next() {
			if err := r.stream.Err(); err != nil {
				r.err = fmt.Errorf("reading Arrow stream after %d rows: %w", r.rows, r.framer.cause(err))
			} else if r.framer.hitEOF {
				r.err = fmt.Errorf("after %d rows: %w", r.rows, ErrTruncated)
			}
			return false
		}
		rec = r.stream.RecordBatch()
	}
	// Buffers that disagree with their offsets or lengths would panic later,
	// in whatever stage reads the values.
	if err := validate(rec); err != nil {
		r.err = fmt.Errorf("after %d rows: %w", r.rows, damaged(err))
		return false
	}
	if r.conv.any {
		conv, err := r.conv.apply(rec, r.rows)
		if err != nil {
			r.err = err
			return false
		}
		rec, r.owned = conv, conv
	}
	// Labels out of range are refused as they come in, by every stage.
	if err := checkLabels(rec, r.rows); err != nil {
		r.err = err
		return false
	}
	r.rec = rec
	r.rows += rec.NumRows()
	return true
}

// RecordBatch is the current batch, valid until the next call to Next;
// Retain it to keep it longer.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.rec }

// Rows is the number of rows read so far.
func (r *Reader) Rows() int64 { return r.rows }

// Err is the first error met, nil after a clean end.
func (r *Reader) Err() error { return r.err }

// Release frees the reader's resources.
func (r *Reader) Release() {
	if r.owned != nil {
		r.owned.Release()
		r.owned = nil
	}
	if r.stream != nil {
		r.stream.Release()
	}
	if r.csvBatch != nil {
		r.csvBatch.Release()
		r.csvBatch = nil
	}
	if r.parquet != nil {
		r.parquet.Release()
		_ = r.parquetFile.Close()
	}
	if r.file != nil {
		_ = r.file.Close()
	}
	if r.closer != nil {
		_ = r.closer.Close()
	}
}

// Open reads the table named on a command line: stdin for "" or "-",
// else the file (see NewReader). Release closes the file.
func Open(name string, stdin io.Reader, required ...string) (*Reader, error) {
	if name == "" || name == "-" {
		return NewReader(stdin, required...)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, required...)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.closer = f
	return r, nil
}

// ReadAll reads every batch of r, retained; the caller releases them.
func ReadAll(r *Reader) ([]arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		for _, rec := range recs {
			rec.Release()
		}
		return nil, err
	}
	return recs, nil
}

// validate checks that the buffers of rec agree with its offsets and
// lengths. It is arrow-go's full check, except for string and binary
// columns, where arrow-go also checks that every string is UTF-8: that
// doubles the time to read a table, and a Go string may hold any bytes, so
// those get the quick check and a check that their offsets never go back.
func validate(rec arrow.RecordBatch) error {
	for i, col := range rec.Columns() {
		var err error
		switch a := col.(type) {
		case *array.String:
			err = validateOffsets(a, a.ValueOffsets)
		case *array.Binary:
			err = validateOffsets(a, a.ValueOffsets)
		case *array.LargeString:
			err = validateOffsets(a, a.ValueOffsets)
		case *array.LargeBinary:
			err = validateOffsets(a, a.ValueOffsets)
		default:
			err = array.ValidateFull(col)
		}
		if err != nil {
			return fmt.Errorf("column %d (%s): %w", i, rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

// validateOffsets checks a variable-width array: arrow-go's quick check
// (buffers long enough, first and last offsets inside the data) and that
// its offsets never decrease.
func validateOffsets[T int32 | int64](a arrow.Array, offsets func() []T) error {
	if err := array.Validate(a); err != nil || a.Len() == 0 {
		return err
	}
	o := offsets()
	if o[0] < 0 {
		return fmt.Errorf("offset %d is negative", o[0])
	}
	for i := 1; i < len(o); i++ {
		if o[i] < o[i-1] {
			return fmt.Errorf("offsets decrease at value %d (%d < %d)", i-1, o[i], o[i-1])
		}
	}
	return nil
}

// cause is the framer's own error when arrow-go failed on it, err itself
// otherwise: the framer's message is the clearer one.
func (f *framer) cause(err error) error {
	if f.err != nil {
		return f.err
	}
	return err
}

// readFooter reads and verifies the footer of an Arrow file of size bytes
// (which ends with the footer, its int32 length and "ARROW1"), and checks
// that every block lies in the file before the footer.
func readFooter(r io.ReaderAt, size int64) (footerInfo, error) {
	tail := int64(4 + len(fileMagic))
	if size < int64(len(fileMagic))+2+tail {
		return footerInfo{}, fmt.Errorf("%d bytes is too short for an Arrow file", size)
	}
	var end [10]byte
	if _, err := r.ReadAt(end[:], size-tail); err != nil {
		return footerInfo{}, err
	}
	if !bytes.Equal(end[4:], fileMagic) {
		return footerInfo{}, errors.New("the file does not end with ARROW1")
	}
	n := int64(int32(binary.LittleEndian.Uint32(end[:4])))
	start := size - tail - n
	if n <= 0 || n > maxMetadata || start < 8 {
		return footerInfo{}, damaged(fmt.Errorf("footer length %d does not fit the %d-byte file", n, size))
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, start); err != nil {
		return footerInfo{}, err
	}
	info, err := verifyFooter(buf)
	if err != nil {
		return footerInfo{}, damaged(err)
	}
	for _, list := range []struct {
		kind   string
		blocks []fileBlock
	}{{"dictionary", info.dictionaries}, {"record batch", info.batches}} {
		for i, b := range list.blocks {
			if b.offset < 8 || b.metaLength < 8 || b.bodyLength < 0 || b.offset > start ||
				int64(b.metaLength) > start-b.offset || b.bodyLength > start-b.offset-int64(b.metaLength) {
				return footerInfo{}, damaged(fmt.Errorf("%s block %d (offset %d, metadata %d, body %d bytes) lies outside the %d bytes before the footer",
					list.kind, i, b.offset, b.metaLength, b.bodyLength, start))
			}
		}
	}
	return info, nil
}

// checkBlock reads and verifies the message metadata of one file block,
// which must hold a message of kind header.
func checkBlock(r io.ReaderAt, b fileBlock, header byte, schema schemaLayout) error {
	if b.metaLength > maxMetadata {
		return damaged(fmt.Errorf("message metadata length %d is over the %d MiB limit", b.metaLength, maxMetadata>>20))
	}
	meta := make([]byte, b.metaLength)
	if _, err := r.ReadAt(meta, b.offset); err != nil {
		return err
	}
	prefix := 4
	if binary.LittleEndian.Uint32(meta) == 0xffffffff {
		prefix = 8
	}
	if n := int64(binary.LittleEndian.Uint32(meta[prefix-4:])); n != int64(b.metaLength)-int64(prefix) {
		return damaged(fmt.Errorf("message metadata length %d does not match the footer's %d", n, int64(b.metaLength)-int64(prefix)))
	}
	info, err := verifyMessage(meta[prefix:])
	if err != nil {
		return damaged(err)
	}
	switch {
	case info.header != header:
		return damaged(fmt.Errorf("the footer points at a message of type %d, want %d", info.header, header))
	case info.bodyLength != b.bodyLength:
		return damaged(fmt.Errorf("message body length %d does not match the footer's %d", info.bodyLength, b.bodyLength))
	case info.fits(schema) != nil:
		return damaged(info.fits(schema))
	case info.bodyLength > maxBody:
		return fmt.Errorf("record batch of %d bytes is larger than the %d GiB limit; write smaller batches", info.bodyLength, maxBody>>30)
	case info.compressed:
		return checkExpansion(io.NewSectionReader(r, b.offset+int64(b.metaLength), b.bodyLength), info)
	}
	return nil
}
