package imagefile

import (
	"errors"
	"image"
	"testing"

	"github.com/boostershot/facet/internal/testdata"
)

// FuzzJPEGScan feeds the JPEG structure walk arbitrary bytes: it must
// never panic, every refusal must be one of the kinds, and a file it
// accepts must be refused when cut anywhere before its end-of-image
// marker (the walk never takes a cut file for a whole one), while the
// file up to that marker is accepted alike.
func FuzzJPEGScan(f *testing.F) {
	face := testdata.FaceJPEG(f)
	thumb := testdata.JPEG(f, image.NewGray(image.Rect(0, 0, 8, 8)))
	f.Add(face, uint16(len(face)/3))
	f.Add(testdata.WithEXIF(f, face, 6, thumb), uint16(900))
	f.Add(face[:len(face)*3/10], uint16(10))
	f.Add(append(append([]byte{}, face[:len(face)*3/10]...), 0xff, 0xd9), uint16(len(face)/4))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9}, uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
			data = append([]byte{0xff, 0xd8}, data...)
		}
		info, end, err := scanJPEG(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil || e.Msg == "" {
				t.Fatalf("error %v is not a refusal of a kind", err)
			}
			return
		}
		if end < 4 || end > len(data) || data[end-2] != 0xff || data[end-1] != 0xd9 {
			t.Fatalf("accepted with end %d of %d bytes", end, len(data))
		}
		if info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > MaxPixels {
			t.Fatalf("accepted a size of %dx%d", info.Width, info.Height)
		}
		if again, end2, err := scanJPEG(data[:end]); err != nil || end2 != end || again != info {
			t.Fatalf("the file up to its end marker: %+v, %d, %v; want %+v, %d", again, end2, err, info, end)
		}
		if c := int(cut) % end; c >= 2 {
			if _, _, err := scanJPEG(data[:c]); err == nil {
				t.Fatalf("cut at %d of %d (end marker at %d): accepted", c, len(data), end)
			}
		}
	})
}

// FuzzCheck feeds Check arbitrary bytes in every format it knows: it must
// never panic, refuse with one of the kinds, and accept only a known
// format of a size within MaxPixels.
func FuzzCheck(f *testing.F) {
	f.Add(testdata.FaceJPEG(f))
	f.Add(testdata.PNG(f, image.NewGray(image.Rect(0, 0, 5, 3))))
	f.Add(testdata.PNGBomb(f, 20000))
	f.Add(testdata.GIF(f))
	f.Add([]byte("BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x18\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\x00"))
	f.Add([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Check(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil || e.Msg == "" {
				t.Fatalf("error %v is not a refusal of a kind", err)
			}
			return
		}
		switch info.Format {
		case "jpeg", "png", "bmp", "webp":
		default:
			t.Fatalf("accepted format %q", info.Format)
		}
		if info.Width <= 0 || info.Height <= 0 || int64(info.Width)*int64(info.Height) > MaxPixels || info.Orientation < 1 || info.Orientation > 8 {
			t.Fatalf("accepted %+v", info)
		}
	})
}
