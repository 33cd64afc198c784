package testdata

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

// JPEG encodes img at quality 90 for a test.
func JPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// PNG encodes img for a test.
func PNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// PNGBomb is a valid PNG header (CRC fixed) that claims side x side
// pixels, so only a size check can refuse it.
func PNGBomb(tb testing.TB, side uint32) []byte {
	data := PNG(tb, image.NewGray(image.Rect(0, 0, 4, 4)))
	// Signature (8) + IHDR length (4) + "IHDR" (4), then width and height.
	binary.BigEndian.PutUint32(data[16:], side)
	binary.BigEndian.PutUint32(data[20:], side)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

// ReadFile is the file's bytes, or fails the test.
func ReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// DecodePNG decodes the PNG file a program wrote, or fails the test.
func DecodePNG(tb testing.TB, path string) image.Image {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(ReadFile(tb, path)))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return img
}
