package crop

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"

	"github.com/boostershot/facet/internal/dup"
)

// Meta is what a crop file says about itself.
type Meta struct {
	Facet     string          `json:"facet"`    // metaTag: marks facet's own crops
	Settings  string          `json:"settings"` // the settings the crop was made with; a resume reuses only crops with equal settings
	Source    string          `json:"source"`   // the photo it was cut from
	Box       image.Rectangle `json:"box"`      // the face box in the photo
	Stage     string          `json:"stage"`
	Score     float64         `json:"score"`
	Faces     int             `json:"faces"`
	Landmarks []image.Point   `json:"landmarks,omitempty"`
	// Region is the square of the photo the crop shows, and Angle the
	// rotation (degrees, about the box centre) applied first by --align:
	// together they map photo pixels to crop pixels.
	Region image.Rectangle `json:"region"`
	Angle  float64         `json:"angle,omitempty"`
	// Hash is the crop's perceptual hash (internal/dup) taken from its
	// pixels before encoding; 0 in crops made before it was recorded,
	// which a resume hashes from the decoded file.
	Hash uint64 `json:"hash,omitempty"`
	// Given is the box the crop was asked for (GivenBoxes mode; Box is it
	// clipped to the photo), empty for a detected face.
	Given image.Rectangle `json:"given,omitzero"`
	// Edges are the hashes of the same pixels with a little cut off each
	// edge (dup.Edges), recorded with Hash.
	Edges *dup.Edges `json:"edges,omitempty"`
	// SourceSize and SourceTime (modification time, Unix nanoseconds)
	// are the photo's when it was cut: a resume crops again a photo
	// replaced since (0 in crops made before they were recorded, which a
	// resume crops again too).
	SourceSize int64 `json:"source_size,omitempty"`
	SourceTime int64 `json:"source_mtime,omitempty"`
}

const metaTag = "facet-crop/1"

// pngKeyword is the tEXt chunk keyword facet's metadata uses.
const pngKeyword = "facet"

var (
	pngSig = []byte("\x89PNG\r\n\x1a\n")
	// ErrNoMeta means the file is not a facet crop (or predates the metadata).
	ErrNoMeta = errors.New("no facet metadata")
)

// Embed adds m to an encoded JPEG (as a COM segment after SOI) or PNG
// (as a tEXt chunk after IHDR).
func Embed(img []byte, m Meta) ([]byte, error) {
	m.Facet = metaTag
	js, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	switch {
	case len(img) > 2 && img[0] == 0xff && img[1] == 0xd8:
		if len(js)+2 > 0xffff {
			return nil, errors.New("crop metadata too long for a JPEG comment")
		}
		seg := []byte{0xff, 0xfe, 0, 0}
		binary.BigEndian.PutUint16(seg[2:], uint16(len(js)+2))
		out := make([]byte, 0, len(img)+len(seg)+len(js))
		out = append(out, img[:2]...)
		out = append(out, seg...)
		out = append(out, js...)
		return append(out, img[2:]...), nil
	case bytes.HasPrefix(img, pngSig) && len(img) >= 33:
		data := append([]byte(pngKeyword+"\x00"), js...)
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		chunk = append(chunk, "tEXt"...)
		chunk = append(chunk, data...)
		chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
		end := 8 + 25 // signature + IHDR chunk (length, type, 13 bytes, crc)
		out := make([]byte, 0, len(img)+len(chunk))
		out = append(out, img[:end]...)
		out = append(out, chunk...)
		return append(out, img[end:]...), nil
	}
	return nil, errors.New("crop: can only embed metadata in JPEG or PNG")
}

// Extract reads the metadata Embed wrote. It reads only the file's
// header segments, not its pixels.
func Extract(img []byte) (Meta, error) {
	var raw []byte
	switch {
	case len(img) > 4 && img[0] == 0xff && img[1] == 0xd8:
		for i := 2; i+4 <= len(img) && img[i] == 0xff; {
			marker := img[i+1]
			if marker == 0xda || marker == 0xd9 { // start of scan, end of image
				break
			}
			n := int(binary.BigEndian.Uint16(img[i+2:]))
			if n < 2 || i+2+n > len(img) {
				break
			}
			if marker == 0xfe {
				raw = img[i+4 : i+2+n]
				break
			}
			i += 2 + n
		}
	case bytes.HasPrefix(img, pngSig):
		for i := 8; i+12 <= len(img); {
			n := int(binary.BigEndian.Uint32(img[i:]))
			if n < 0 || i+12+n > len(img) {
				break
			}
			typ := string(img[i+4 : i+8])
			if typ == "IDAT" {
				break
			}
			if data := img[i+8 : i+8+n]; typ == "tEXt" && bytes.HasPrefix(data, []byte(pngKeyword+"\x00")) {
				raw = data[len(pngKeyword)+1:]
				break
			}
			i += 12 + n
		}
	}
	if raw == nil {
		return Meta{}, ErrNoMeta
	}
	var m Meta
	if err := json.Unmarshal(raw, &m); err != nil || m.Facet != metaTag {
		return Meta{}, fmt.Errorf("%w: unreadable comment", ErrNoMeta)
	}
	return m, nil
}
