// Package cvimage reads and writes augment.Images with OpenCV (gocv):
// libjpeg-turbo decoding with the EXIF orientation applied, area
// resizing, JPEG encoding. It keeps the cgo side of image files in one
// place so internal/augment stays pure Go.
package cvimage

import (
	"errors"
	"fmt"
	"image"
	"os"
	"runtime"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/outfile"
)

// Load decodes an image file; with size > 0 it is resized to size x size
// (area interpolation).
func Load(path string, size int) (*augment.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if m.Empty() {
		return nil, fmt.Errorf("%s: not a decodable image", path)
	}
	if size > 0 {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, image.Pt(size, size), 0, 0, gocv.InterpolationArea)
		return augment.FromBGR(small.Cols(), small.Rows(), small.ToBytes())
	}
	return augment.FromBGR(m.Cols(), m.Rows(), m.ToBytes())
}

// SaveJPEG encodes img as JPEG at quality and writes it (internal/outfile:
// whole or not at all).
func SaveJPEG(path string, img *augment.Image, quality int) error {
	buf, err := EncodeJPEG(img, quality)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return outfile.WriteFile(path, buf)
}

// EncodeJPEG encodes img as JPEG at quality.
func EncodeJPEG(img *augment.Image, quality int) ([]byte, error) {
	// gocv's NewMatFromBytes wraps the Go slice without copying it, and
	// nothing on the Go side refers to it afterwards: without KeepAlive the
	// collector may free it before the encoder reads it, and the file gets
	// whatever was written there since (seen as augment's TestShards
	// failing now and then).
	bgr := img.BGR()
	m, err := gocv.NewMatFromBytes(img.H, img.W, gocv.MatTypeCV8UC3, bgr)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, quality})
	runtime.KeepAlive(bgr)
	if err == nil && len(buf) == 0 {
		err = errors.New("OpenCV encoded nothing")
	}
	return buf, err
}
