// Package cvimage is facet's one image decoder (and its JPEG encoder),
// on OpenCV (gocv) and libjpeg-turbo: every program that reads pixels
// (facet-prep --verify, crop, augment, train, infer) decodes here, so
// "readable" means the same from prep to infer. A file is first checked
// by internal/imagefile without decoding a pixel (format, the pixel
// limit imagefile.MaxPixels, a whole file); JPEGs are then decoded with
// libjpeg-turbo's warnings of missing or corrupt data as errors and the
// EXIF orientation applied, other formats by OpenCV. It keeps the cgo
// side of image files in one place so internal/augment stays pure Go.
package cvimage

import (
	"errors"
	"fmt"
	"image"
	"runtime"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/imagefile"
)

// Decode checks and decodes the bytes of an image file into a BGR Mat
// (grey, alpha and CMYK images become 3-channel BGR; a JPEG is turned by
// its EXIF orientation). The caller closes the Mat; on error there is
// none. Errors wrap imagefile's kinds (imagefile.ErrTruncated, ...).
func Decode(data []byte) (gocv.Mat, error) {
	info, err := imagefile.Check(data)
	if err != nil {
		return gocv.Mat{}, err
	}
	if info.Format == "jpeg" {
		m, err := decodeJPEG(data, info)
		if err != nil {
			return gocv.Mat{}, err
		}
		return orient(m, info.Orientation), nil
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		return gocv.Mat{}, imagefile.Errorf(imagefile.ErrDamaged, "%s not decodable: %v", info.Format, err)
	}
	if m.Empty() {
		m.Close()
		return gocv.Mat{}, imagefile.Errorf(imagefile.ErrDamaged, "damaged %s: OpenCV cannot decode it", info.Format)
	}
	return m, nil
}

// Read reads and decodes an image file (see Decode); errors name the
// file.
func Read(path string) (gocv.Mat, error) {
	data, err := imagefile.ReadFile(path)
	if err != nil {
		return gocv.Mat{}, err
	}
	m, err := Decode(data)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Verify reports whether an image file decodes (facet-prep --verify):
// the whole decode, as every later stage does it.
func Verify(path string) error {
	m, err := Read(path)
	if err != nil {
		return err
	}
	return m.Close()
}

// Load decodes an image file; with size > 0 it is resized to size x size
// (area interpolation).
func Load(path string, size int) (*augment.Image, error) {
	m, err := Read(path)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if size > 0 {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, image.Pt(size, size), 0, 0, gocv.InterpolationArea)
		return augment.FromBGR(small.Cols(), small.Rows(), small.ToBytes())
	}
	return augment.FromBGR(m.Cols(), m.Rows(), m.ToBytes())
}

// orient turns m by an EXIF orientation (1-8) as OpenCV's
// ApplyExifOrientation does, closing m when it makes a new Mat.
func orient(m gocv.Mat, orientation int) gocv.Mat {
	if orientation <= 1 || orientation > 8 {
		return m
	}
	if orientation >= 5 { // 5-8 swap rows and columns first
		t := gocv.NewMat()
		gocv.Transpose(m, &t)
		m.Close()
		m = t
	}
	flip := map[int]int{2: 1, 3: -1, 4: 0, 6: 1, 7: -1, 8: 0}
	code, ok := flip[orientation]
	if !ok { // 5: the transpose alone
		return m
	}
	f := gocv.NewMat()
	gocv.Flip(m, &f, code)
	m.Close()
	return f
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
