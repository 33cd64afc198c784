package imagefile

import "bytes"

// scanJPEG walks a JPEG's marker segments: each segment is skipped by
// its length (so an end-of-image marker inside an EXIF thumbnail does
// not count), the frame header gives the size, and the entropy-coded
// data after each start-of-scan is followed to the marker that ends it.
// The file is whole when a scan was seen and the walk reaches an
// end-of-image marker; bytes after it are ignored, as decoders do. end
// is the offset just after that marker.
//
// It is written here rather than taken from a library because Go's
// image/jpeg stops at the frame header in DecodeConfig and decodes every
// pixel otherwise, and no kept library offers the walk alone; it is
// fuzzed (FuzzJPEGScan).
//
// A file cut inside its scan and given an end-of-image marker again
// passes this walk; only decoding the scan finds it (internal/cvimage
// makes libjpeg's warning for it an error).
func scanJPEG(data []byte) (info Info, end int, err error) {
	info.Format = "jpeg"
	var frame, scan bool
	i := 2 // after SOI
	for {
		// Decoders skip stray bytes between segments (with a warning);
		// so does the walk. Then 0xff fill bytes, then the marker.
		k := bytes.IndexByte(data[i:], 0xff)
		if k < 0 {
			return info, 0, jpegEnd(scan)
		}
		i += k
		for i < len(data) && data[i] == 0xff {
			i++
		}
		if i >= len(data) {
			return info, 0, jpegEnd(scan)
		}
		m := data[i]
		i++
		switch {
		case m == 0x00: // a stuffed zero outside a scan: stray data
			continue
		case m == 0xd8:
			return info, 0, Errorf(ErrDamaged, "damaged JPEG: a second start-of-image marker")
		case m == 0xd9:
			if !scan {
				return info, 0, Errorf(ErrTruncated, "truncated JPEG: end-of-image marker before any image data")
			}
			return info, i, nil
		case m >= 0xd0 && m <= 0xd7 || m == 0x01: // RSTn, TEM: no length
			continue
		}
		if i+2 > len(data) {
			return info, 0, jpegEnd(scan)
		}
		n := int(be16(data[i:]))
		if n < 2 {
			return info, 0, Errorf(ErrDamaged, "damaged JPEG: marker 0x%02x with length %d", m, n)
		}
		if i+n > len(data) {
			return info, 0, Errorf(ErrTruncated, "truncated JPEG: the segment of marker 0x%02x runs past the end of the file", m)
		}
		seg := data[i+2 : i+n]
		i += n
		switch {
		case isSOF(m):
			if frame {
				return info, 0, Errorf(ErrDamaged, "damaged JPEG: two frame headers")
			}
			if len(seg) < 6 {
				return info, 0, Errorf(ErrDamaged, "damaged JPEG: short frame header")
			}
			frame = true
			info.Height, info.Width = int(be16(seg[1:])), int(be16(seg[3:]))
			if err := checkSize("jpeg", int64(info.Width), int64(info.Height)); err != nil {
				return info, 0, err
			}
		case m == 0xe1 && info.Orientation == 0 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			info.Orientation = exifOrientation(seg[6:])
		case m == 0xda: // SOS
			if !frame {
				return info, 0, Errorf(ErrDamaged, "damaged JPEG: a scan before the frame header")
			}
			scan = true
			end, ok := scanEnd(data, i)
			if !ok {
				return info, 0, Errorf(ErrTruncated, "truncated JPEG: the image data ends without an end-of-image marker")
			}
			i = end
		}
	}
}

// jpegEnd is the error for a JPEG whose bytes end before its
// end-of-image marker.
func jpegEnd(scan bool) error {
	if !scan {
		return Errorf(ErrTruncated, "truncated JPEG: the file ends before its image data")
	}
	return Errorf(ErrTruncated, "truncated JPEG: the file ends without an end-of-image marker")
}

// scanEnd follows entropy-coded data from i to the 0xff of the marker
// that ends it: 0xff 0x00 is a stuffed byte and 0xff 0xd0-0xd7 a restart
// marker, both inside the data. ok is false when the data runs to the
// end of the file.
func scanEnd(data []byte, i int) (int, bool) {
	for {
		k := bytes.IndexByte(data[i:], 0xff)
		if k < 0 {
			return 0, false
		}
		i += k
		j := i + 1
		for j < len(data) && data[j] == 0xff { // fill bytes before a marker
			j++
		}
		if j >= len(data) {
			return 0, false
		}
		if b := data[j]; b != 0x00 && (b < 0xd0 || b > 0xd7) {
			return j - 1, true
		}
		i = j + 1
	}
}

// isSOF reports a start-of-frame marker (0xc0-0xcf but DHT 0xc4, JPG
// 0xc8 and DAC 0xcc).
func isSOF(m byte) bool {
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 from EXIF
// data (a TIFF header and its IFDs): 1-8, or 1 when it is absent or
// malformed. Only this one tag is needed, so it is read here rather than
// with an EXIF library.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var u16 func([]byte) uint16
	var u32 func([]byte) uint32
	switch string(tiff[:2]) {
	case "II":
		u16, u32 = le16, le32
	case "MM":
		u16, u32 = be16, be32
	default:
		return 1
	}
	if u16(tiff[2:]) != 42 {
		return 1
	}
	off := int64(u32(tiff[4:]))
	if off+2 > int64(len(tiff)) {
		return 1
	}
	n := int64(u16(tiff[off:]))
	for e := off + 2; e+12 <= int64(len(tiff)) && e < off+2+12*n; e += 12 {
		if u16(tiff[e:]) != 0x0112 {
			continue
		}
		if typ, count := u16(tiff[e+2:]), u32(tiff[e+4:]); typ != 3 || count != 1 {
			return 1
		}
		if v := int(u16(tiff[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
