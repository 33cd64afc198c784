package arrowcheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// File reads an Arrow IPC file, verifying each record batch's metadata
// as it is read.
type File struct {
	r      *ipc.FileReader
	blocks []fileBlock  // the record batches, verified as read
	layout schemaLayout // what they must hold for the file's schema
	ras    io.ReaderAt
	next   int
	rows   int64
}

// RandomAccess is a file format's input with random access: a regular
// file (orig) in place, anything else (a pipe) read into memory from
// buffered, which reads orig's bytes from the start (a bufio.Reader that
// peeked at them); and its size.
func RandomAccess(orig, buffered io.Reader) (ipc.ReadAtSeeker, int64, error) {
	if f, ok := orig.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.Seek(0, io.SeekStart); err == nil {
				return f, st.Size(), nil
			}
		}
	}
	data, err := io.ReadAll(buffered)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(data), int64(len(data)), nil
}

// NewFile opens the IPC file format, which needs random access: a regular
// file (orig) is read in place, anything else (a pipe) is read into
// memory from buffered, which reads orig's bytes from the start (a
// bufio.Reader that peeked at them). The footer and
// the dictionaries are verified before arrow-go reads them.
func NewFile(orig, buffered io.Reader) (fr *File, err error) {
	ras, size, err := RandomAccess(orig, buffered)
	if err != nil {
		return nil, fmt.Errorf("reading Arrow file: %w", err)
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
	defer RecoverDamage(&err)
	r, err := ipc.NewFileReader(ras, ipcOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading Arrow file (truncated or damaged?): %w", err)
	}
	if r.NumRecords() != len(footer.batches) {
		_ = r.Close()
		return nil, Damaged(fmt.Errorf("the file footer lists %d record batches, arrow-go found %d", len(footer.batches), r.NumRecords()))
	}
	return &File{r: r, blocks: footer.batches, layout: footer.schema, ras: ras}, nil
}

// Schema is the file's schema.
func (f *File) Schema() *arrow.Schema { return f.r.Schema() }

// Next returns the next record batch, valid until the next call (Retain
// it to keep it), or nil after the last.
func (f *File) Next() (rec arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("after %d rows: %w", f.rows, Damaged(fmt.Errorf("%v", p)))
		}
	}()
	if f.next >= len(f.blocks) {
		return nil, nil
	}
	if err := checkBlock(f.ras, f.blocks[f.next], headerRecordBatch, f.layout); err != nil {
		return nil, fmt.Errorf("reading Arrow file batch %d: %w", f.next, err)
	}
	if rec, err = f.r.RecordBatch(f.next); err != nil {
		return nil, fmt.Errorf("reading Arrow file batch %d: %w", f.next, err)
	}
	f.next++
	f.rows += rec.NumRows()
	return rec, nil
}

// Close closes the file reader.
func (f *File) Close() error { return f.r.Close() }

// readFooter reads and verifies the footer of an Arrow file of size bytes
// (which ends with the footer, its int32 length and "ARROW1"), and checks
// that every block lies in the file before the footer.
func readFooter(r io.ReaderAt, size int64) (footerInfo, error) {
	tail := int64(4 + len(FileMagic))
	if size < int64(len(FileMagic))+2+tail {
		return footerInfo{}, fmt.Errorf("%d bytes is too short for an Arrow file", size)
	}
	var end [10]byte
	if _, err := r.ReadAt(end[:], size-tail); err != nil {
		return footerInfo{}, err
	}
	if !bytes.Equal(end[4:], FileMagic) {
		return footerInfo{}, errors.New("the file does not end with ARROW1")
	}
	n := int64(int32(binary.LittleEndian.Uint32(end[:4])))
	start := size - tail - n
	if n <= 0 || n > MaxMetadata || start < 8 {
		return footerInfo{}, Damaged(fmt.Errorf("footer length %d does not fit the %d-byte file", n, size))
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, start); err != nil {
		return footerInfo{}, err
	}
	info, err := verifyFooter(buf)
	if err != nil {
		return footerInfo{}, Damaged(err)
	}
	for _, list := range []struct {
		kind   string
		blocks []fileBlock
	}{{"dictionary", info.dictionaries}, {"record batch", info.batches}} {
		for i, b := range list.blocks {
			if b.offset < 8 || b.metaLength < 8 || b.bodyLength < 0 || b.offset > start ||
				int64(b.metaLength) > start-b.offset || b.bodyLength > start-b.offset-int64(b.metaLength) {
				return footerInfo{}, Damaged(fmt.Errorf("%s block %d (offset %d, metadata %d, body %d bytes) lies outside the %d bytes before the footer",
					list.kind, i, b.offset, b.metaLength, b.bodyLength, start))
			}
		}
	}
	return info, nil
}

// checkBlock reads and verifies the message metadata of one file block,
// which must hold a message of kind header.
func checkBlock(r io.ReaderAt, b fileBlock, header byte, schema schemaLayout) error {
	if b.metaLength > MaxMetadata {
		return Damaged(fmt.Errorf("message metadata length %d is over the %d MiB limit", b.metaLength, MaxMetadata>>20))
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
		return Damaged(fmt.Errorf("message metadata length %d does not match the footer's %d", n, int64(b.metaLength)-int64(prefix)))
	}
	info, err := verifyMessage(meta[prefix:])
	if err != nil {
		return Damaged(err)
	}
	switch {
	case info.header != header:
		return Damaged(fmt.Errorf("the footer points at a message of type %d, want %d", info.header, header))
	case info.bodyLength != b.bodyLength:
		return Damaged(fmt.Errorf("message body length %d does not match the footer's %d", info.bodyLength, b.bodyLength))
	case info.fits(schema) != nil:
		return Damaged(info.fits(schema))
	case info.bodyLength > MaxBody:
		return fmt.Errorf("record batch of %d bytes is larger than the %d GiB limit; write smaller batches", info.bodyLength, MaxBody>>30)
	case info.compressed:
		return checkExpansion(io.NewSectionReader(r, b.offset+int64(b.metaLength), b.bodyLength), info)
	}
	return nil
}
