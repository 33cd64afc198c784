// Package atomicfile writes whole files so that no reader ever sees half
// of one: the bytes go to a temporary file in the same folder, which is
// then renamed into place.
package atomicfile

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
)

// Write writes data to path, creating the folders above it. On any error
// nothing is left behind; an earlier file at path stays as it was.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes 0600; a result is for others to read too
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// WriteWith writes what write produces to path, as Write does; nothing
// is written when write fails.
func WriteWith(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	return Write(path, buf.Bytes())
}

// WritePNG encodes img as PNG to path, as Write does.
func WritePNG(path string, img image.Image) error {
	return WriteWith(path, func(w io.Writer) error { return png.Encode(w, img) })
}
