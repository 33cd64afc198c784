// Package imagefile decodes image files with Go's own decoders, with a
// guard against decompression bombs: the header is read first and an
// image larger than MaxPixels is refused before any pixel is decoded.
package imagefile

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register decoders
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

// MaxPixels is the largest image accepted: 100 megapixels, far above any
// face photo and far below what exhausts memory when decoded.
const MaxPixels = 100_000_000

// ErrTooLarge is returned for images over MaxPixels.
var ErrTooLarge = errors.New("image too large")

// Config reads an image's size and format from its header, refusing empty
// files and sizes over MaxPixels.
func Config(r io.Reader) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return cfg, format, errors.New("truncated image header")
		}
		return cfg, format, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, format, fmt.Errorf("%s with size %dx%d", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return cfg, format, fmt.Errorf("%w: %dx%d %s is over %d megapixels", ErrTooLarge, cfg.Width, cfg.Height, format, MaxPixels/1_000_000)
	}
	return cfg, format, nil
}

// Decode reads a whole image file.
func Decode(path string) (image.Image, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		return nil, "", errors.New("empty file")
	}
	br := bufio.NewReader(f)
	if _, _, err := Config(br); err != nil {
		return nil, "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, "", err
	}
	br.Reset(f)
	img, format, err := image.Decode(br)
	if err != nil {
		return nil, format, fmt.Errorf("decoding %s: %w", format, err)
	}
	return img, format, nil
}
