package cvimage

// JPEG files are decoded here with libjpeg-turbo itself (the same
// libjpeg.so.62 OpenCV uses, with OpenCV's settings, so the pixels are
// the same) rather than through gocv.IMDecode: OpenCV lets libjpeg's
// warnings through to stderr and returns the picture, so a file cut in
// its scan and given an end-of-image marker again came back with its
// missing rows grey. Here the warnings that mean missing or corrupt data
// are errors.

/*
#cgo pkg-config: libjpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

enum { FACET_OK, FACET_ERROR, FACET_TRUNCATED, FACET_DAMAGED };

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int kind;
	char msg[JMSG_LENGTH_MAX];
} facet_jerr;

static void facet_error_exit(j_common_ptr c) {
	facet_jerr *e = (facet_jerr *)c->err;
	(*c->err->format_message)(c, e->msg);
	e->kind = FACET_ERROR;
	longjmp(e->jump, 1);
}

// facet_emit_message makes the warnings of missing or corrupt data
// errors; other warnings (extraneous bytes between segments, an odd JFIF
// version, ...) are counted as libjpeg does, and traces dropped.
static void facet_emit_message(j_common_ptr c, int level) {
	facet_jerr *e = (facet_jerr *)c->err;
	if (level >= 0) {
		return;
	}
	switch (c->err->msg_code) {
	case JWRN_HIT_MARKER:
	case JWRN_JPEG_EOF:
		e->kind = FACET_TRUNCATED;
		break;
	case JWRN_HUFF_BAD_CODE:
	case JWRN_ARITH_BAD_CODE:
	case JWRN_MUST_RESYNC:
		e->kind = FACET_DAMAGED;
		break;
	default:
		c->err->num_warnings++;
		return;
	}
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// facet_jpeg_decode decodes data, a JPEG of w x h pixels, into out
// (w*h*3 bytes, BGR, rows packed) as OpenCV's IMREAD_COLOR does:
// libjpeg's defaults, grey and colour JPEGs straight to BGR, CMYK through
// OpenCV's formula. It returns FACET_OK or a kind with msg set.
static int facet_jpeg_decode(const unsigned char *data, unsigned long len, unsigned char *out, int w, int h, char *msg) {
	struct jpeg_decompress_struct cinfo;
	facet_jerr jerr;
	unsigned char *volatile cmyk = NULL;
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = facet_error_exit;
	jerr.pub.emit_message = facet_emit_message;
	jerr.kind = FACET_OK;
	jerr.msg[0] = 0;
	if (setjmp(jerr.jump)) {
		jpeg_destroy_decompress(&cinfo);
		free(cmyk);
		memcpy(msg, jerr.msg, JMSG_LENGTH_MAX);
		return jerr.kind == FACET_OK ? FACET_ERROR : jerr.kind;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, len);
	jpeg_read_header(&cinfo, TRUE);
	int four = cinfo.num_components == 4;
	cinfo.out_color_space = four ? JCS_CMYK : JCS_EXT_BGR;
	jpeg_start_decompress(&cinfo);
	if ((int)cinfo.output_width != w || (int)cinfo.output_height != h || cinfo.output_components != (four ? 4 : 3)) {
		snprintf(jerr.msg, JMSG_LENGTH_MAX, "decoder reports %ux%u with %d channels, header %dx%d",
			cinfo.output_width, cinfo.output_height, cinfo.output_components, w, h);
		longjmp(jerr.jump, 1);
	}
	if (four) {
		cmyk = malloc((size_t)w * 4);
		if (!cmyk) {
			snprintf(jerr.msg, JMSG_LENGTH_MAX, "out of memory");
			longjmp(jerr.jump, 1);
		}
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		unsigned char *row = out + (size_t)cinfo.output_scanline * w * 3;
		JSAMPROW dst = four ? cmyk : row;
		jpeg_read_scanlines(&cinfo, &dst, 1);
		if (four) {
			// OpenCV's icvCvt_CMYK2BGR_8u_C4C3R.
			for (int x = 0; x < w; x++) {
				int c = cmyk[4*x], m = cmyk[4*x+1], y = cmyk[4*x+2], k = cmyk[4*x+3];
				row[3*x+2] = (unsigned char)(k - ((255 - c) * k >> 8));
				row[3*x+1] = (unsigned char)(k - ((255 - m) * k >> 8));
				row[3*x] = (unsigned char)(k - ((255 - y) * k >> 8));
			}
		}
	}
	// A progressive file cut between two scans and closed again decodes
	// without a warning: every coefficient must have reached full
	// precision (coef_bits 0; -1 is never sent).
	if (cinfo.progressive_mode) {
		for (int ci = 0; ci < cinfo.num_components; ci++) {
			for (int k = 0; k < DCTSIZE2; k++) {
				if (cinfo.coef_bits[ci][k] != 0) {
					snprintf(jerr.msg, JMSG_LENGTH_MAX, "progressive scans missing (component %d coefficient %d)", ci, k);
					jerr.kind = FACET_TRUNCATED;
					longjmp(jerr.jump, 1);
				}
			}
		}
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	free(cmyk);
	return FACET_OK;
}
*/
import "C"

import (
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/imagefile"
)

// decodeJPEG decodes a checked JPEG into a new w x h BGR Mat, before
// its EXIF orientation is applied.
func decodeJPEG(data []byte, info imagefile.Info) (gocv.Mat, error) {
	m := gocv.NewMatWithSize(info.Height, info.Width, gocv.MatTypeCV8UC3)
	out := m.DataPtrUint8() // OpenCV's memory: C may write it
	var msg [C.JMSG_LENGTH_MAX]C.char
	kind := C.facet_jpeg_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.int(info.Width), C.int(info.Height), &msg[0])
	if kind == C.FACET_OK {
		return m, nil
	}
	m.Close()
	text := C.GoString(&msg[0])
	switch kind {
	case C.FACET_TRUNCATED:
		return gocv.Mat{}, imagefile.Errorf(imagefile.ErrTruncated, "truncated JPEG: %s", text)
	case C.FACET_DAMAGED:
		return gocv.Mat{}, imagefile.Errorf(imagefile.ErrDamaged, "damaged JPEG: %s", text)
	}
	return gocv.Mat{}, imagefile.Errorf(imagefile.ErrDamaged, "JPEG not decodable: %s", text)
}
