package arrowcheck

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// message is where one message of a stream lies.
type message struct {
	start, meta, body, end int // framing, metadata, body, next message
}

// messages splits a valid stream into its messages (the end marker left out).
func messages(t *testing.T, stream []byte) []message {
	t.Helper()
	var out []message
	for pos := 0; ; {
		n := int(binary.LittleEndian.Uint32(stream[pos+4:]))
		if n == 0 {
			return out
		}
		info, err := verifyMessage(stream[pos+8 : pos+8+n])
		if err != nil {
			t.Fatal(err)
		}
		m := message{start: pos, meta: pos + 8, body: pos + 8 + n}
		m.end = m.body + int(info.bodyLength)
		out = append(out, m)
		pos = m.end
	}
}

// root is the Message table of metadata buf and its header table.
func root(t *testing.T, buf []byte) (v *verifier, msg, header table) {
	t.Helper()
	v = newVerifier(buf, "test")
	msg, err := v.root("Message")
	if err != nil {
		t.Fatal(err)
	}
	header, _, err = v.subtable(msg, 2, "Message.header")
	if err != nil {
		t.Fatal(err)
	}
	return v, msg, header
}

// put32 and put64 write little-endian numbers into b at pos.
func put32(b []byte, pos int, v uint32) { binary.LittleEndian.PutUint32(b[pos:], v) }
func put64(b []byte, pos int, v uint64) { binary.LittleEndian.PutUint64(b[pos:], v) }

// readAll reads data to the end, as a stream or a file, validating every
// batch, and returns the rows read.
func readAll(data []byte) (int64, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	var next func() (arrow.RecordBatch, error)
	if bytes.HasPrefix(data, FileMagic) {
		f, err := NewFile(bytes.NewReader(data), br)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		next = f.Next
	} else {
		s, err := NewStream(br)
		if err != nil {
			return 0, err
		}
		defer s.Release()
		next = s.Next
	}
	var rows int64
	for {
		rec, err := next()
		if err != nil || rec == nil {
			return rows, err
		}
		if err := Validate(rec); err != nil {
			return rows, Damaged(err)
		}
		rows += rec.NumRows()
	}
}

// readErr reads data to the end and returns the error, failing if there
// is none or it does not mention want.
func readErr(t *testing.T, data []byte, want string) error {
	t.Helper()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readAll(data)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to mention %q", err, want)
	}
	// A damaged length must cost no more memory than the input holds (the
	// read-ahead and arrow-go's buffers stay well under this).
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20+uint64(8*len(data)) {
		t.Errorf("reading %d damaged bytes allocated %d MiB", len(data), grew>>20)
	}
	return err
}

func TestDamagedStream(t *testing.T) {
	good := goodTable(t, false)
	msgs := messages(t, good)
	if len(msgs) != 4 { // schema, 3 batches
		t.Fatalf("%d messages, want 4", len(msgs))
	}
	schemaMeta := func(b []byte) []byte { return b[msgs[0].meta:msgs[0].body] }
	batchMeta := func(b []byte) []byte { return b[msgs[1].meta:msgs[1].body] }
	for _, tc := range []struct {
		name, want string
		damage     func(b []byte) []byte
	}{
		{"huge metadata length", "over the 64 MiB limit", func(b []byte) []byte {
			put32(b, 4, 0x7fffff00)
			return b
		}},
		{"negative metadata length", "over the 64 MiB limit", func(b []byte) []byte {
			put32(b, 4, 0x80000000)
			return b
		}},
		{"huge field count", "Schema.fields: vector of 2147483647 entries runs past the end", func(b []byte) []byte {
			v, _, schema := root(t, schemaMeta(b))
			pos, err := v.ref(schema, 1, "fields")
			if err != nil || pos == 0 {
				t.Fatal("no fields", err)
			}
			put32(v.buf, pos, 0x7fffffff)
			return b
		}},
		{"field name past the end", "Field.name", func(b []byte) []byte {
			v, _, schema := root(t, schemaMeta(b))
			start, _, _ := v.vector(schema, 1, 4, "fields")
			field, _ := v.table(start+int(v.u32(start)), "field")
			pos, _ := v.ref(field, 0, "name")
			put32(v.buf, pos, 1<<30)
			return b
		}},
		{"vtable outside", "vtable at", func(b []byte) []byte {
			v, msg, _ := root(t, schemaMeta(b))
			put32(v.buf, msg.pos, 0x40000000)
			return b
		}},
		{"huge body length", "larger than the 4 GiB limit; write smaller batches", func(b []byte) []byte {
			v, msg, _ := root(t, batchMeta(b))
			pos, _ := v.field(msg, 3, 8, "bodyLength")
			put64(v.buf, pos, 1<<40)
			return b
		}},
		{"body length beyond the input", "ends inside a message", func(b []byte) []byte {
			v, msg, _ := root(t, batchMeta(b))
			pos, _ := v.field(msg, 3, 8, "bodyLength")
			put64(v.buf, pos, 3<<30) // under the limit: the read-ahead finds the input too short
			return b[:msgs[1].end]
		}},
		{"huge node count", "RecordBatch.nodes: vector of", func(b []byte) []byte {
			v, _, batch := root(t, batchMeta(b))
			pos, _ := v.ref(batch, 1, "nodes")
			put32(v.buf, pos, 0x10000000)
			return b
		}},
		{"huge buffer count", "RecordBatch.buffers: vector of", func(b []byte) []byte {
			v, _, batch := root(t, batchMeta(b))
			pos, _ := v.ref(batch, 2, "buffers")
			put32(v.buf, pos, 0xffffffff)
			return b
		}},
		{"buffer outside the body", "lies outside the", func(b []byte) []byte {
			v, _, batch := root(t, batchMeta(b))
			start, _, _ := v.vector(batch, 2, 16, "buffers")
			put64(v.buf, start+16, 1<<50)
			return b
		}},
		{"too few nodes", "its schema needs", func(b []byte) []byte {
			v, _, batch := root(t, batchMeta(b))
			pos, _ := v.ref(batch, 1, "nodes")
			put32(v.buf, pos, 1) // a valid vector, but 11 columns need 11 nodes
			return b
		}},
		{"string offsets past the data", "damaged", func(b []byte) []byte {
			v, _, batch := root(t, batchMeta(b))
			start, _, _ := v.vector(batch, 2, 16, "buffers")
			offsets := msgs[1].body + int(binary.LittleEndian.Uint64(v.buf[start+16:])) // id column: validity, offsets, data
			put32(b, offsets+4, 1<<20)
			return b
		}},
		{"string offsets going back", "offsets decrease", func(b []byte) []byte {
			v, _, batch := root(t, batchMeta(b))
			start, _, _ := v.vector(batch, 2, 16, "buffers")
			offsets := msgs[1].body + int(binary.LittleEndian.Uint64(v.buf[start+16:]))
			put32(b, offsets+8, 0) // the second id ends before the first
			return b
		}},
		{"not a schema first", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.damage == nil {
				data := append([]byte(nil), good[msgs[1].start:]...)
				readErr(t, data, "schema")
				return
			}
			err := readErr(t, tc.damage(bytes.Clone(good)), tc.want)
			// a body running past the end of the input looks like any cut stream
			if errors.Is(err, ErrTruncated) && tc.want != "ends inside a message" {
				t.Errorf("damage reported as truncation: %v", err)
			}
		})
	}
}

func TestDamagedFile(t *testing.T) {
	good := goodTable(t, true)
	// The footer: its length sits before the closing "ARROW1".
	n := int(binary.LittleEndian.Uint32(good[len(good)-10:]))
	footerAt := len(good) - 10 - n
	blocks := func(b []byte) (v *verifier, start int) {
		v = newVerifier(b[footerAt:footerAt+n], "test")
		footer, err := v.root("Footer")
		if err != nil {
			t.Fatal(err)
		}
		start, count, err := v.vector(footer, 3, 24, "recordBatches")
		if err != nil || count != 3 {
			t.Fatalf("%d record batch blocks (%v), want 3", count, err)
		}
		return v, start
	}
	for _, tc := range []struct {
		name, want string
		damage     func(b []byte)
	}{
		{"block offset outside the file", "record batch block 1 (offset 1099511627776", func(b []byte) {
			v, start := blocks(b)
			put64(v.buf, start+24, 1<<40)
		}},
		{"block body outside the file", "lies outside the", func(b []byte) {
			v, start := blocks(b)
			put64(v.buf, start+24+16, 1<<33)
		}},
		{"block metadata into the footer", "lies outside the", func(b []byte) {
			v, start := blocks(b)
			put32(v.buf, start+2*24+8, uint32(len(b)))
		}},
		{"huge block count", "Footer.recordBatches: vector of", func(b []byte) {
			v := newVerifier(b[footerAt:footerAt+n], "test")
			footer, _ := v.root("Footer")
			pos, _ := v.ref(footer, 3, "recordBatches")
			put32(v.buf, pos, 0x7fffffff)
		}},
		{"huge footer length", "footer length", func(b []byte) {
			put32(b, len(b)-10, 0x7ffffff0)
		}},
		{"block pointing at the schema", "the footer points at a message of type 1", func(b []byte) {
			v, start := blocks(b)
			// The schema message, right after "ARROW1\0\0".
			put64(v.buf, start, 8)
			put32(v.buf, start+8, 8+binary.LittleEndian.Uint32(b[12:]))
			put64(v.buf, start+16, 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			tc.damage(b)
			readErr(t, b, tc.want)
		})
	}
}

// TestCompressedAndDictionary checks that valid streams and files with
// compressed buffers and dictionary columns (which facet does not write,
// other Arrow writers do) still read, and that a compressed buffer claiming
// a huge uncompressed size is refused before arrow-go allocates it.
func TestCompressedAndDictionary(t *testing.T) {
	data := compressedDictTable(t)
	for name, b := range data {
		t.Run(name, func(t *testing.T) {
			if rows, err := readAll(b); err != nil || rows != 1000 {
				t.Fatalf("read %d rows (%v), want 1000", rows, err)
			}
		})
	}
	t.Run("decompression bomb", func(t *testing.T) {
		b := bytes.Clone(data["stream"])
		msgs := messages(t, b)
		last := msgs[len(msgs)-1]
		v, _, batch := root(t, b[last.meta:last.body])
		start, nbuf, _ := v.vector(batch, 2, 16, "buffers")
		for i := range nbuf {
			off := int(binary.LittleEndian.Uint64(v.buf[start+16*i:]))
			if binary.LittleEndian.Uint64(v.buf[start+16*i+8:]) >= 8 {
				put64(b, last.body+off, 1<<45)
				break
			}
		}
		readErr(t, b, "uncompressed")
	})
}
