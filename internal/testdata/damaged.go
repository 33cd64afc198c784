package testdata

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// FaceJPEG is a real face JPEG: the first UTKFace chip of the real data
// when it is there (a 200x200 JFIF file, its bytes unchanged), else a
// 200x200 picture encoded here, so tests of damaged files always run.
func FaceJPEG(tb testing.TB) []byte {
	tb.Helper()
	d, _ := dataDir(tb)
	if names, err := filepath.Glob(filepath.Join(d, "faces", "utkface", "*.jpg")); err == nil && len(names) > 0 {
		sort.Strings(names)
		data, err := os.ReadFile(names[0])
		if err != nil {
			tb.Fatal(err)
		}
		return data
	}
	// A drawn face: an oval on a gradient, two eyes, a mouth.
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			c := color.RGBA{uint8(60 + x/4), uint8(80 + y/4), 120, 255}
			dx, dy := float64(x-100)/60, float64(y-105)/80
			switch {
			case dx*dx+dy*dy > 1:
			case (x-78)*(x-78)+(y-85)*(y-85) < 60, (x-122)*(x-122)+(y-85)*(y-85) < 60:
				c = color.RGBA{40, 30, 30, 255}
			case y > 140 && y < 148 && x > 80 && x < 120:
				c = color.RGBA{150, 60, 60, 255}
			default:
				c = color.RGBA{uint8(210 - y/8), 170, 140, 255}
			}
			img.Set(x, y, c)
		}
	}
	return JPEG(tb, img)
}

// CutFaces are FaceJPEG whole and cut at 30% of its bytes, the ways a
// download or a full disk leaves a JPEG: the cut alone, the cut with an
// end-of-image marker appended, and the same two of the face with an
// EXIF thumbnail, whose own end marker then lies near the cut file's end
// (a check for "ends with an end marker" passes them all).
type CutFaces struct {
	Face, Cut, CutEOI, ThumbCut, ThumbCutEOI []byte
}

// CutFaceJPEGs makes the CutFaces.
func CutFaceJPEGs(tb testing.TB) CutFaces {
	tb.Helper()
	face := FaceJPEG(tb)
	eoi := []byte{0xff, 0xd9}
	thumb := JPEG(tb, image.NewGray(image.Rect(0, 0, 16, 16)))
	exif := WithEXIF(tb, face, 1, thumb)
	c := CutFaces{Face: face, Cut: face[:len(face)*3/10], ThumbCut: exif[:len(exif)*3/10]}
	if !bytes.Contains(c.ThumbCut[max(0, len(c.ThumbCut)-4096):], eoi) {
		tb.Fatal("the thumbnail's end marker is not at the cut file's tail: the case tests nothing")
	}
	c.CutEOI = append(bytes.Clone(c.Cut), eoi...)
	c.ThumbCutEOI = append(bytes.Clone(c.ThumbCut), eoi...)
	return c
}

// WithEXIF inserts an EXIF APP1 segment right after a JPEG's start
// marker, holding IFD0's Orientation tag and, when thumb is not nil, a
// thumbnail JPEG (IFD1) at the end of the segment, so the segment's last
// bytes are the thumbnail's end-of-image marker.
func WithEXIF(tb testing.TB, jpg []byte, orientation uint16, thumb []byte) []byte {
	tb.Helper()
	le := binary.LittleEndian
	var t []byte
	t = append(t, "II"...)
	t = le.AppendUint16(t, 42)
	t = le.AppendUint32(t, 8) // IFD0
	t = le.AppendUint16(t, 1) // one entry: Orientation, SHORT, 1
	t = le.AppendUint16(t, 0x0112)
	t = le.AppendUint16(t, 3)
	t = le.AppendUint32(t, 1)
	t = le.AppendUint16(t, orientation)
	t = le.AppendUint16(t, 0)
	if thumb == nil {
		t = le.AppendUint32(t, 0)
	} else {
		ifd1 := uint32(len(t) + 4)
		t = le.AppendUint32(t, ifd1)
		t = le.AppendUint16(t, 2) // JPEGInterchangeFormat and its length, LONG
		t = le.AppendUint16(t, 0x0201)
		t = le.AppendUint16(t, 4)
		t = le.AppendUint32(t, 1)
		t = le.AppendUint32(t, ifd1+2+2*12+4)
		t = le.AppendUint16(t, 0x0202)
		t = le.AppendUint16(t, 4)
		t = le.AppendUint32(t, 1)
		t = le.AppendUint32(t, uint32(len(thumb)))
		t = le.AppendUint32(t, 0)
		t = append(t, thumb...)
	}
	payload := append([]byte("Exif\x00\x00"), t...)
	if len(payload)+2 > 0xffff {
		tb.Fatalf("EXIF segment of %d bytes", len(payload))
	}
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(jpg[2:])
	return out.Bytes()
}

// GIF encodes a small GIF.
func GIF(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// BlackPNG is a whole, valid w x h 8-bit grey PNG of black pixels, its
// rows compressed as they are made (a decoder has to allocate w*h
// pixels; making it does not).
func BlackPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var idat bytes.Buffer
	z, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	if err != nil {
		tb.Fatal(err)
	}
	row := make([]byte, 1+w) // filter byte 0, then the pixels
	for range h {
		z.Write(row)
	}
	if err := z.Close(); err != nil {
		tb.Fatal(err)
	}
	chunk := func(out []byte, typ string, data []byte) []byte {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(append(c, typ...), data...)
		c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
		return append(out, c...)
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8 bits, grey, deflate, filter 0, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = chunk(out, "IHDR", ihdr)
	out = chunk(out, "IDAT", idat.Bytes())
	return chunk(out, "IEND", nil)
}
