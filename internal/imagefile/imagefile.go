// Package imagefile decides, before any pixel is decoded, whether the
// bytes of an image file are an image facet reads: one of the formats
// OpenCV decodes (JPEG, PNG, BMP, WebP; not GIF), not empty, not larger
// than MaxPixels, and whole (a JPEG's scan reaches its end-of-image
// marker, a PNG reaches its IEND chunk). It is pure Go so that programs
// without cgo share the same rules; internal/cvimage decodes the pixels
// after Check has passed.
package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register Go's decoders for Decode (programs without cgo)
	_ "image/png"
	"io"
	"os"
	"syscall"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// MaxPixels is the largest image accepted: 100 megapixels, far above any
// face photo and far below what exhausts memory when decoded (3 bytes a
// pixel: 300 MB).
const MaxPixels = 100_000_000

// MaxFileBytes is the largest image file read: 1 GiB, more than any
// image under MaxPixels needs, so that a huge file is refused before it
// is read into memory.
const MaxFileBytes = 1 << 30

// The kinds of refusal; every error of Check and ReadFile wraps one, so
// errors.Is tells them apart while the message stays specific.
var (
	ErrEmpty     = errors.New("empty file")
	ErrFormat    = errors.New("not a supported image")
	ErrTooLarge  = errors.New("image too large")
	ErrTruncated = errors.New("truncated image")
	ErrDamaged   = errors.New("damaged image")
)

// Error is a refusal: Msg is what to tell the user, Kind one of the Err
// values above.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf makes an Error of kind.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Info is what Check learns from an image file without decoding pixels.
type Info struct {
	Format        string // "jpeg", "png", "bmp" or "webp"
	Width, Height int    // as stored, before the EXIF orientation
	// Orientation is the EXIF orientation of a JPEG (1-8, 1 when it has
	// none): how to turn the stored pixels for display.
	Orientation int
}

// Check reads the format and size of an image from its bytes and checks
// that it is whole, without decoding pixels. It refuses empty data,
// formats OpenCV does not decode (GIF among them), images over
// MaxPixels, and truncated JPEG and PNG files.
func Check(data []byte) (Info, error) {
	var info Info
	var err error
	switch {
	case len(data) == 0:
		return info, Errorf(ErrEmpty, "empty file")
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		info, _, err = scanJPEG(data)
	case bytes.HasPrefix(data, pngSignature):
		info, err = scanPNG(data)
	case bytes.HasPrefix(data, []byte("BM")):
		info, err = scanBMP(data)
	case len(data) >= 12 && bytes.HasPrefix(data, []byte("RIFF")) && string(data[8:12]) == "WEBP":
		info, err = scanWebP(data)
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		return info, Errorf(ErrFormat, "GIF is not supported (OpenCV cannot decode it): convert it to PNG")
	default:
		return info, Errorf(ErrFormat, "not an image facet reads (JPEG, PNG, BMP or WebP)")
	}
	if err != nil {
		return info, err
	}
	if info.Orientation == 0 {
		info.Orientation = 1
	}
	return info, nil
}

// checkSize refuses sizes that are not positive or over MaxPixels.
func checkSize(format string, w, h int64) error {
	if w <= 0 || h <= 0 {
		return Errorf(ErrDamaged, "%s with size %dx%d", format, w, h)
	}
	if w*h > MaxPixels {
		return Errorf(ErrTooLarge, "%dx%d %s is over the %d-megapixel limit", w, h, format, MaxPixels/1_000_000)
	}
	return nil
}

// ReadFile reads an image file whole: a regular file of at most
// MaxFileBytes (a FIFO, a device or a folder is refused without reading
// it).
func ReadFile(path string) ([]byte, error) {
	data, _, err := ReadFileInfo(path)
	return data, err
}

// ReadFileInfo is ReadFile, and the file's information as it was read
// (size, modification time).
func ReadFileInfo(path string) ([]byte, os.FileInfo, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it changes
	// nothing for a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, Errorf(ErrFormat, "%s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxFileBytes {
		return nil, nil, Errorf(ErrTooLarge, "%s: file of %d bytes is over the %d MiB limit for an image", path, st.Size(), MaxFileBytes>>20)
	}
	// The size is read once: a file that grows meanwhile is read up to
	// that size plus one byte, so it cannot make this allocate more.
	data, err := io.ReadAll(io.LimitReader(f, st.Size()+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > st.Size() {
		return nil, nil, fmt.Errorf("%s: the file grew while it was read", path)
	}
	return data, st, nil
}

// Decode reads and checks an image file and decodes it with Go's own
// decoders. It is for programs built without cgo (facet-merge's contact
// sheet); every other program decodes with internal/cvimage, after the
// same Check. The EXIF orientation is not applied.
func Decode(path string) (image.Image, Info, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, Info{}, err
	}
	info, err := Check(data)
	if err != nil {
		return nil, info, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, info, Errorf(ErrDamaged, "decoding %s: %v", info.Format, err)
	}
	return img, info, nil
}

// scanWebP checks a WebP's RIFF length against the file and reads its
// size.
func scanWebP(data []byte) (Info, error) {
	riff := int64(le32(data[4:8])) + 8
	if riff > int64(len(data)) {
		return Info{}, Errorf(ErrTruncated, "truncated WebP: %d of its %d bytes", len(data), riff)
	}
	cfg, err := webp.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Info{}, Errorf(ErrDamaged, "damaged WebP header: %v", err)
	}
	return Info{Format: "webp", Width: cfg.Width, Height: cfg.Height}, checkSize("webp", int64(cfg.Width), int64(cfg.Height))
}

// scanBMP reads a BMP's size from its header and, when its pixels are
// stored uncompressed, checks the file holds them all.
func scanBMP(data []byte) (Info, error) {
	if len(data) < 26 {
		return Info{}, Errorf(ErrTruncated, "truncated BMP: %d bytes, shorter than its header", len(data))
	}
	offset, hdr := int64(le32(data[10:])), le32(data[14:])
	var w, h, bpp, compression int64
	switch {
	case hdr == 12: // BITMAPCOREHEADER
		w, h, bpp = int64(le16(data[18:])), int64(le16(data[20:])), int64(le16(data[24:]))
	case hdr >= 40 && len(data) >= 34:
		w, h = int64(int32(le32(data[18:]))), int64(int32(le32(data[22:])))
		bpp, compression = int64(le16(data[28:])), int64(le32(data[30:]))
	default:
		return Info{}, Errorf(ErrDamaged, "damaged BMP header (header size %d)", hdr)
	}
	h = max(h, -h) // negative: stored top-down
	if err := checkSize("bmp", w, h); err != nil {
		return Info{}, err
	}
	if compression == 0 || compression == 3 { // BI_RGB, BI_BITFIELDS
		need := offset + (bpp*w+31)/32*4*h
		if need > int64(len(data)) {
			return Info{}, Errorf(ErrTruncated, "truncated BMP: %d of its %d bytes", len(data), need)
		}
	}
	return Info{Format: "bmp", Width: int(w), Height: int(h)}, nil
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
