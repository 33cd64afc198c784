/* facet_dlib.h: the C interface of the project's thin wrapper around dlib's
 * HOG frontal face detector and shape predictor (facet_dlib.cpp).
 *
 * Every function catches all C++ exceptions: a failing call returns a
 * non-NULL error message that the caller must release with
 * facet_dlib_free_error; NULL means success. Images are 8-bit grayscale,
 * row-major, rows `stride` bytes apart; the caller checks them. */
#ifndef FACET_DLIB_H
#define FACET_DLIB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_dlib_detector facet_dlib_detector;
typedef struct facet_dlib_predictor facet_dlib_predictor;

/* One detection: box [x0,x1) x [y0,y1) in input pixels, dlib's detection
 * confidence, and which of the detector's five filters fired. */
typedef struct {
	long x0, y0, x1, y1;
	double score;
	long pose;
} facet_dlib_face;

void facet_dlib_free_error(char *err);

/* Makes a detector with the given poses (indices of the frontal face
 * detector's five filters, in increasing order); n == 0 keeps all five. */
char *facet_dlib_detector_new(const int *poses, int n, facet_dlib_detector **out);
void facet_dlib_detector_free(facet_dlib_detector *d);
/* Runs the detector on the image, upsampled `upsample` times by 2 first,
 * with dlib's threshold moved by `adjust`; the faces, in input pixels, stay
 * in d until the next call: see facet_dlib_detector_count / _faces. */
char *facet_dlib_detect(facet_dlib_detector *d, const uint8_t *pix, long stride,
			long width, long height, int upsample, double adjust);
long facet_dlib_detector_count(const facet_dlib_detector *d);
const facet_dlib_face *facet_dlib_detector_faces(const facet_dlib_detector *d);

/* Loads a shape predictor; reference != 0 makes it run dlib's own
 * shape_predictor::operator() (tests compare the two). */
char *facet_dlib_predictor_load(const char *path, int reference, facet_dlib_predictor **out);
void facet_dlib_predictor_free(facet_dlib_predictor *p);
long facet_dlib_predictor_parts(const facet_dlib_predictor *p);
/* Writes num_parts (x, y) pairs into xy (2*num_parts intptr_t, which has
 * the size of Go's int) for the face box [x0,x1) x [y0,y1). Safe to call
 * from several threads on one predictor. */
char *facet_dlib_landmarks(const facet_dlib_predictor *p, const uint8_t *pix,
			   long stride, long width, long height, long x0,
			   long y0, long x1, long y1, intptr_t *xy);

/* For tests: throws a C++ exception of the given kind inside the wrapper
 * (0: std::runtime_error, 1: dlib::error, 2: an int) and returns the
 * caught message. */
char *facet_dlib_test_throw(int kind);

#ifdef __cplusplus
}
#endif

#endif
