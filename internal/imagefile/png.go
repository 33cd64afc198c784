package imagefile

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// scanPNG reads a PNG's size from its IHDR chunk and walks its chunks by
// their lengths to the IEND chunk: a file cut anywhere ends inside a
// chunk or before IEND. The chunks' CRCs are left to the decoder.
func scanPNG(data []byte) (Info, error) {
	info := Info{Format: "png"}
	const ihdr = 8 + 8 + 13 + 4 // signature, length and type, data, CRC
	if len(data) < ihdr {
		return info, Errorf(ErrTruncated, "truncated PNG: %d bytes, shorter than its header", len(data))
	}
	if be32(data[8:]) != 13 || string(data[12:16]) != "IHDR" {
		return info, Errorf(ErrDamaged, "damaged PNG: its first chunk is not a header (IHDR)")
	}
	info.Width, info.Height = int(be32(data[16:])), int(be32(data[20:]))
	if err := checkSize("png", int64(be32(data[16:])), int64(be32(data[20:]))); err != nil {
		return info, err
	}
	idat := false
	for i := ihdr; ; {
		if i+8 > len(data) {
			return info, Errorf(ErrTruncated, "truncated PNG: the file ends before its IEND chunk")
		}
		n, typ := int64(be32(data[i:])), string(data[i+4:i+8])
		if n > 1<<31-1 {
			return info, Errorf(ErrDamaged, "damaged PNG: chunk %q of length %d", typ, n)
		}
		end := int64(i) + 12 + n
		if end > int64(len(data)) {
			return info, Errorf(ErrTruncated, "truncated PNG: its %s chunk runs past the end of the file", typ)
		}
		switch typ {
		case "IDAT":
			idat = true
		case "IEND":
			if !idat {
				return info, Errorf(ErrTruncated, "truncated PNG: no image data (IDAT) before IEND")
			}
			return info, nil
		}
		i = int(end)
	}
}
