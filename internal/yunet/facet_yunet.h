/* facet_yunet.h: the C interface of the project's thin wrapper around
 * OpenCV's FaceDetectorYN (the YuNet face detector, OpenCV 4.6), which
 * gocv does not wrap.
 *
 * Every function catches all C++ exceptions: a failing call returns a
 * non-NULL error message that the caller must release with
 * facet_yunet_free_error; NULL means success. */
#ifndef FACET_YUNET_H
#define FACET_YUNET_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct facet_yunet facet_yunet;

void facet_yunet_free_error(char *err);

/* Loads a YuNet ONNX model for input images of w x h pixels (changed by
 * each detect), keeping faces scoring at least score after non-maximum
 * suppression at nms, at most top_k before it. */
char *facet_yunet_new(const char *model, int w, int h, float score, float nms, int top_k, facet_yunet **out);
void facet_yunet_free(facet_yunet *d);
/* Detects faces in an 8-bit BGR cv::Mat (gocv's Mat pointer); the faces
 * (15 floats each: x, y, w, h, five landmarks' x and y, score) stay in d
 * until the next call: see facet_yunet_faces. */
char *facet_yunet_detect(facet_yunet *d, const void *bgr, int *n);
const float *facet_yunet_faces(const facet_yunet *d);

#ifdef __cplusplus
}
#endif

#endif
