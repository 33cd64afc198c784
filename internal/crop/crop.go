// Package crop cuts a face out of a photo and writes it as a
// self-describing image file: the detection that produced a crop (box,
// stage, score, landmarks, settings) travels inside the file, in a JPEG
// comment or a PNG text chunk, so a resumed run can reuse the crop
// without detecting again and without a side file to keep in step.
package crop

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/table"
)

// Geometry says how a face box becomes a crop.
type Geometry struct {
	// Margin grows the face box on every side by this fraction of its
	// width (left, right) and height (top, bottom).
	Margin float64
	// Size is the side of the square output in pixels.
	Size int
}

// Region is the square area of the photo a crop covers: the face box
// grown by the margin, then grown along its shorter side to a square
// around the same centre. It may reach outside the photo; Extract fills
// that part with black, so faces are never stretched.
func (g Geometry) Region(box image.Rectangle) image.Rectangle {
	w, h := float64(box.Dx()), float64(box.Dy())
	cx, cy := float64(box.Min.X+box.Max.X)/2, float64(box.Min.Y+box.Max.Y)/2
	side := math.Max(w*(1+2*g.Margin), h*(1+2*g.Margin))
	half := side / 2
	x0, y0 := int(math.Round(cx-half)), int(math.Round(cy-half))
	s := max(1, int(math.Round(side)))
	return image.Rect(x0, y0, x0+s, y0+s)
}

// Extract cuts region out of img (black where the region leaves the
// photo) and resizes it to Size x Size. The caller closes the result.
func (g Geometry) Extract(img gocv.Mat, region image.Rectangle) (gocv.Mat, error) {
	if img.Empty() {
		return gocv.NewMat(), errors.New("crop: empty image")
	}
	if g.Size < 1 || region.Empty() {
		return gocv.NewMat(), fmt.Errorf("crop: size %d, region %v", g.Size, region)
	}
	bounds := image.Rect(0, 0, img.Cols(), img.Rows())
	inside := region.Intersect(bounds)
	if inside.Empty() {
		return gocv.NewMat(), fmt.Errorf("crop: region %v lies outside the %dx%d image", region, bounds.Dx(), bounds.Dy())
	}
	// gocv does not catch OpenCV exceptions: every rectangle handed to it
	// is inside the image by construction (Intersect above).
	part := img.Region(inside)
	defer part.Close()
	padded := gocv.NewMat()
	defer padded.Close()
	gocv.CopyMakeBorder(part, &padded,
		inside.Min.Y-region.Min.Y, region.Max.Y-inside.Max.Y,
		inside.Min.X-region.Min.X, region.Max.X-inside.Max.X,
		gocv.BorderConstant, color.RGBA{A: 255})
	out := gocv.NewMat()
	interp := gocv.InterpolationArea
	if region.Dx() < g.Size {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(padded, &out, image.Pt(g.Size, g.Size), 0, 0, interp)
	return out, nil
}

// Path is where the crop of the row with this id goes under dir: the id
// as a relative path, with ext added unless the id ends with it already
// ("eval/abc.jpg" stays, "face.png" becomes "face.png.jpg", face 2 of
// a.jpg, id a.jpg#2, becomes a.jpg#2.jpg), so photos that differ only by
// their extension get crops of their own. Ids that would leave dir (absolute, "..", empty segments, backslashes, control
// characters) are refused (table.CheckID). (An id without extension and
// the same id with ext meet on one file; Pool.Crop refuses the second.)
func Path(dir, id, ext string) (string, error) {
	if err := table.CheckID(id); err != nil {
		return "", err
	}
	rel := filepath.FromSlash(id)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("id %q would escape the output folder: refusing it as a path", id)
	}
	if !strings.HasSuffix(rel, ext) {
		rel += ext
	}
	return filepath.Join(dir, rel), nil
}

// ToCrop maps a point of the photo into the crop's pixels (of a crop
// size pixels wide): rotated by angle degrees about the centre of box as
// --align did, then offset and scaled from region.
func ToCrop(p image.Point, box, region image.Rectangle, angle float64, size int) (x, y float64) {
	px, py := float64(p.X), float64(p.Y)
	if angle != 0 {
		cx, cy := float64(box.Min.X+box.Max.X)/2, float64(box.Min.Y+box.Max.Y)/2
		a := angle * math.Pi / 180
		// OpenCV's getRotationMatrix2D: counter-clockwise by angle, y down.
		dx, dy := px-cx, py-cy
		px = math.Cos(a)*dx + math.Sin(a)*dy + cx
		py = -math.Sin(a)*dx + math.Cos(a)*dy + cy
	}
	s := float64(size) / float64(region.Dx())
	return (px - float64(region.Min.X)) * s, (py - float64(region.Min.Y)) * s
}
