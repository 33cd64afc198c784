// Package croptable holds the columns facet-crop adds to the sample table
// (the crop file, the face box, how it was found, the geometry that maps
// photo pixels to crop pixels, the crop's hashes) and the one rule by
// which every later stage finds a row's image: its crop when it has one,
// else its photo, a relative path tried from the working directory and
// then from the table's folder.
//
// It is pure Go, so tools that only read tables (facet-merge) stay free
// of OpenCV; internal/crop makes the crops.
package croptable

import (
	"fmt"
	"image"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/table"
)

// The columns facet-crop writes, besides dup.ColHash and dup.ColEdges.
const (
	ColCrop      = "crop_path"  // the crop file, null when the photo gave none
	ColX0        = "x0"         // the face box in the photo; -1 when none
	ColY0        = "y0"         //
	ColX1        = "x1"         //
	ColY1        = "y1"         //
	ColStage     = "crop_stage" // the detector stage that found the face
	ColScore     = "crop_score" // its score
	ColFaces     = "crop_faces" // faces that stage found in the photo
	ColLandmarks = "landmarks"  // 68 x,y pairs in photo pixels, null when none
	ColRegionX0  = "crop_x0"    // the square of the photo the crop shows; -1 when none
	ColRegionY0  = "crop_y0"    //
	ColSide      = "crop_side"  //
	ColAngle     = "crop_angle" // the --align rotation in degrees, applied first
	ColError     = "crop_error" // why the photo gave no crop, null when it did
	ColFace      = "crop_face"  // the face's index in its photo, -1 when none
)

// Fields are the columns facet-crop adds (or replaces), in its order.
var Fields = []arrow.Field{
	{Name: ColCrop, Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: ColX0, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColY0, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColX1, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColY1, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColStage, Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: ColScore, Type: arrow.PrimitiveTypes.Float32},
	{Name: ColFaces, Type: arrow.PrimitiveTypes.Int16},
	{Name: ColLandmarks, Type: landmarksType, Nullable: true},
	{Name: ColRegionX0, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColRegionY0, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColSide, Type: arrow.PrimitiveTypes.Int32},
	{Name: ColAngle, Type: arrow.PrimitiveTypes.Float32},
	{Name: ColError, Type: arrow.BinaryTypes.String, Nullable: true},
	// crop_hash: the crop's 64-bit perceptual hash (internal/dup), null
	// without a crop; facet-split links rows whose hashes are near.
	{Name: dup.ColHash, Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	// crop_hash_edges: the hashes of the crop with a little cut off each
	// edge (dup.Edges), by which a copy cropped tighter still links.
	{Name: dup.ColEdges, Type: dup.EdgesType, Nullable: true},
	{Name: ColFace, Type: arrow.PrimitiveTypes.Int16},
}

var landmarksType = arrow.ListOf(arrow.PrimitiveTypes.Int16)

// NumLandmarks is how many points a row's landmarks hold (dlib's 68).
const NumLandmarks = 68

// Reading a table (Arrow, Parquet, CSV) converts what other tools write
// for these columns to Fields.
func init() { table.Declare(Fields...) }

// Schema returns s with the crop columns (replacing any it had).
func Schema(s *arrow.Schema) *arrow.Schema { return table.ExtendSchema(s, Fields) }

// Row is what facet-crop recorded for one row, and the row's photo.
type Row struct {
	Photo string // the path column
	Crop  string // the crop file, "" when the photo gave none
	// Box is the face box in the photo, empty when none (-1s in the
	// table).
	Box   image.Rectangle
	Stage string
	Score float32
	Faces int
	// Landmarks are the face's 68 points in photo pixels, nil when none.
	Landmarks []image.Point
	// Region is the square of the photo the crop shows, empty when none
	// (or after an operation that moved the pixels), and Angle the
	// rotation about the box centre applied first: together they map
	// photo pixels to crop pixels.
	Region image.Rectangle
	Angle  float64
	Error  string // why the photo gave no crop; "" when it gave one
	Hash   uint64 // 0 with no crop
	Edges  *dup.Edges
	Face   int // the face's index in its photo, -1 when none
}

// Cropped reports whether the row has a crop of its own.
func (r Row) Cropped() bool { return r.Crop != "" }

// Image is the file a stage reads for the row: its crop when it has one,
// else its photo, found by Resolve from tableDir.
func (r Row) Image(tableDir string) string {
	if r.Crop != "" {
		return Resolve(r.Crop, tableDir)
	}
	return Resolve(r.Photo, tableDir)
}

// Resolve finds a path a table names. An absolute path, or a relative one
// that exists from the working directory, is itself; a relative path that
// does not but exists from tableDir (the folder of the table that names
// it, "" for standard input) is that; else it is itself, for the reader
// to report as missing.
func Resolve(path, tableDir string) string {
	if path == "" || filepath.IsAbs(path) || tableDir == "" {
		return path
	}
	if exists(path) {
		return path
	}
	if alt := filepath.Join(tableDir, path); exists(alt) {
		return alt
	}
	return path
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// TableDir is the folder relative paths of the named table may be
// relative to: "" for standard input ("-" or "").
func TableDir(name string) string {
	if name == "" || name == "-" {
		return ""
	}
	return filepath.Dir(name)
}

// Read returns the crop columns of rec's rows and their photos. A table
// without some of the columns (not cropped, or cropped by an older
// facet) reads as rows without them: no crop, empty boxes, no
// landmarks. A column of another type, or landmarks of another length
// than 68 points, is an error naming the column.
func Read(rec arrow.RecordBatch) ([]Row, error) {
	rows, err := read(rec)
	if err != nil {
		return nil, fmt.Errorf("croptable: %w", err)
	}
	return rows, nil
}

// ReadImages is Read of the photo and the crop file only (Face -1), for
// the stages that read a row's image and nothing else of its crop.
func ReadImages(rec arrow.RecordBatch) ([]Row, error) {
	rows, err := readImages(rec)
	if err != nil {
		return nil, fmt.Errorf("croptable: %w", err)
	}
	return rows, nil
}

func readImages(rec arrow.RecordBatch) ([]Row, error) {
	photo, err := table.Column[*array.String](rec, table.ColPath)
	if err != nil {
		return nil, err
	}
	crop, err := table.Column[*array.String](rec, ColCrop)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, rec.NumRows())
	for i := range rows {
		rows[i] = Row{Photo: str(photo, i), Crop: str(crop, i), Face: -1}
	}
	return rows, nil
}

func read(rec arrow.RecordBatch) ([]Row, error) {
	rows, err := readImages(rec)
	if err != nil {
		return nil, err
	}
	stage, err := table.Column[*array.String](rec, ColStage)
	if err != nil {
		return nil, err
	}
	errs, err := table.Column[*array.String](rec, ColError)
	if err != nil {
		return nil, err
	}
	var box, region [4]*array.Int32
	for k, name := range []string{ColX0, ColY0, ColX1, ColY1, ColRegionX0, ColRegionY0, ColSide} {
		c, err := table.Column[*array.Int32](rec, name)
		if err != nil {
			return nil, err
		}
		if k < 4 {
			box[k] = c
		} else {
			region[k-4] = c
		}
	}
	score, err := table.Column[*array.Float32](rec, ColScore)
	if err != nil {
		return nil, err
	}
	angle, err := table.Column[*array.Float32](rec, ColAngle)
	if err != nil {
		return nil, err
	}
	faces, err := table.Column[*array.Int16](rec, ColFaces)
	if err != nil {
		return nil, err
	}
	face, err := table.Column[*array.Int16](rec, ColFace)
	if err != nil {
		return nil, err
	}
	hash, err := table.Column[*array.Uint64](rec, dup.ColHash)
	if err != nil {
		return nil, err
	}
	lms, err := table.Column[*array.List](rec, ColLandmarks)
	if err != nil {
		return nil, err
	}
	edges, err := table.Column[*array.List](rec, dup.ColEdges)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		r.Stage = str(stage, i)
		r.Error = str(errs, i)
		if v, ok := ints(box[:], i); ok && v[2] > v[0] && v[3] > v[1] {
			r.Box = image.Rect(v[0], v[1], v[2], v[3])
		}
		if v, ok := ints(region[:3], i); ok && v[2] > 0 {
			r.Region = image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[2])
		}
		if score != nil && score.IsValid(i) {
			r.Score = score.Value(i)
		}
		if angle != nil && angle.IsValid(i) {
			r.Angle = float64(angle.Value(i))
		}
		if faces != nil && faces.IsValid(i) {
			r.Faces = int(faces.Value(i))
		}
		if face != nil && face.IsValid(i) {
			r.Face = int(face.Value(i))
		}
		if hash != nil && hash.IsValid(i) {
			r.Hash = hash.Value(i)
		}
		if r.Landmarks, err = landmarks(lms, i); err != nil {
			return nil, err
		}
		if r.Edges, err = dup.EdgesAt(edges, i); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	return rows, nil
}

func str(c *array.String, i int) string {
	if c == nil || c.IsNull(i) {
		return ""
	}
	return c.Value(i)
}

// ints are row i's values of cols, ok when every column is there and
// the values are not null. (A region may start above or left of the
// photo: facet-crop pads it.)
func ints(cols []*array.Int32, i int) (v [4]int, ok bool) {
	for k, c := range cols {
		if c == nil || c.IsNull(i) {
			return v, false
		}
		v[k] = int(c.Value(i))
	}
	return v, true
}

func landmarks(c *array.List, i int) ([]image.Point, error) {
	if c == nil || c.IsNull(i) {
		return nil, nil
	}
	vals, ok := c.ListValues().(*array.Int16)
	if !ok {
		return nil, fmt.Errorf("column %s is %s, want %s", ColLandmarks, c.DataType(), landmarksType)
	}
	start, end := c.ValueOffsets(i)
	if end-start != 2*NumLandmarks {
		return nil, fmt.Errorf("row %d: column %s holds %d values, want %d", i, ColLandmarks, end-start, 2*NumLandmarks)
	}
	pts := make([]image.Point, NumLandmarks)
	for k := range pts {
		pts[k] = image.Pt(int(vals.Value(int(start)+2*k)), int(vals.Value(int(start)+2*k+1)))
	}
	return pts, nil
}

// columns builds the crop columns (in the order of Fields) of rows. A row
// with an Error is a photo without a crop: nulls and -1s. The caller
// releases them.
func columns(rows []Row) []arrow.Array {
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(Fields, nil))
	defer b.Release()
	crop := b.Field(0).(*array.StringBuilder)
	box := []*array.Int32Builder{b.Field(1).(*array.Int32Builder), b.Field(2).(*array.Int32Builder), b.Field(3).(*array.Int32Builder), b.Field(4).(*array.Int32Builder)}
	stage := b.Field(5).(*array.StringBuilder)
	score := b.Field(6).(*array.Float32Builder)
	faces := b.Field(7).(*array.Int16Builder)
	lms := b.Field(8).(*array.ListBuilder)
	lmv := lms.ValueBuilder().(*array.Int16Builder)
	region := []*array.Int32Builder{b.Field(9).(*array.Int32Builder), b.Field(10).(*array.Int32Builder), b.Field(11).(*array.Int32Builder)}
	angle := b.Field(12).(*array.Float32Builder)
	errs := b.Field(13).(*array.StringBuilder)
	hash := b.Field(14).(*array.Uint64Builder)
	edges := b.Field(15).(*array.ListBuilder)
	edgev := edges.ValueBuilder().(*array.Uint64Builder)
	face := b.Field(16).(*array.Int16Builder)
	for _, r := range rows {
		face.Append(int16(r.Face))
		if r.Error != "" {
			crop.AppendNull()
			for _, c := range box {
				c.Append(-1)
			}
			stage.AppendNull()
			score.Append(0)
			faces.Append(0)
			lms.AppendNull()
			for _, c := range region {
				c.Append(-1)
			}
			angle.Append(0)
			errs.Append(r.Error)
			hash.AppendNull()
			edges.AppendNull()
			continue
		}
		crop.Append(r.Crop)
		for k, v := range []int{r.Box.Min.X, r.Box.Min.Y, r.Box.Max.X, r.Box.Max.Y} {
			box[k].Append(int32(v))
		}
		stage.Append(r.Stage)
		score.Append(r.Score)
		faces.Append(int16(r.Faces))
		if len(r.Landmarks) == 0 {
			lms.AppendNull()
		} else {
			lms.Append(true)
			for _, p := range r.Landmarks {
				lmv.Append(int16(p.X))
				lmv.Append(int16(p.Y))
			}
		}
		if r.Region.Empty() {
			for _, c := range region {
				c.Append(-1)
			}
		} else {
			region[0].Append(int32(r.Region.Min.X))
			region[1].Append(int32(r.Region.Min.Y))
			region[2].Append(int32(r.Region.Dx()))
		}
		angle.Append(float32(r.Angle))
		errs.AppendNull()
		hash.Append(r.Hash)
		if r.Edges == nil {
			edges.AppendNull()
		} else {
			edges.Append(true)
			for _, h := range r.Edges {
				edgev.Append(uint64(h))
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	cols := rec.Columns()
	for _, c := range cols {
		c.Retain()
	}
	return cols
}

// Extend returns rec with the crop columns of rows (one per row of rec),
// in the layout of Schema(rec.Schema()).
func Extend(rec arrow.RecordBatch, rows []Row) (arrow.RecordBatch, error) {
	if len(rows) != int(rec.NumRows()) {
		return nil, fmt.Errorf("croptable: %d rows of crop columns for %d rows", len(rows), rec.NumRows())
	}
	cols := columns(rows)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return table.Extend(rec, Schema(rec.Schema()), Fields, cols)
}
