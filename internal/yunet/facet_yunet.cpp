// facet_yunet.cpp: see facet_yunet.h.
#include "facet_yunet.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>

struct facet_yunet {
	cv::Ptr<cv::FaceDetectorYN> det;
	cv::Mat faces; // continuous n x 15 CV_32F
};

static char *error(const std::string &msg) {
	char *e = static_cast<char *>(std::malloc(msg.size() + 1));
	if (e != nullptr) {
		std::memcpy(e, msg.c_str(), msg.size() + 1);
	}
	return e;
}

// guard runs f, turning any exception into an error message.
template <typename F> static char *guard(F f) {
	try {
		f();
		return nullptr;
	} catch (const cv::Exception &e) {
		return error(std::string("OpenCV: ") + e.what());
	} catch (const std::exception &e) {
		return error(e.what());
	} catch (...) {
		return error("unknown C++ exception");
	}
}

extern "C" {

void facet_yunet_free_error(char *err) { std::free(err); }

char *facet_yunet_new(const char *model, int w, int h, float score, float nms, int top_k, facet_yunet **out) {
	*out = nullptr;
	return guard([&] {
		facet_yunet *d = new facet_yunet();
		try {
			d->det = cv::FaceDetectorYN::create(model, "", cv::Size(w, h), score, nms, top_k);
			if (d->det.empty()) {
				throw std::runtime_error("FaceDetectorYN::create gave no detector");
			}
		} catch (...) {
			delete d;
			throw;
		}
		*out = d;
	});
}

void facet_yunet_free(facet_yunet *d) { delete d; }

char *facet_yunet_detect(facet_yunet *d, const void *bgr, int *n) {
	*n = 0;
	return guard([&] {
		const cv::Mat &img = *static_cast<const cv::Mat *>(bgr);
		if (img.empty() || img.type() != CV_8UC3) {
			throw std::runtime_error("want a non-empty 8-bit BGR image");
		}
		d->det->setInputSize(img.size());
		cv::Mat faces;
		d->det->detect(img, faces);
		if (faces.empty()) {
			d->faces.release();
			return;
		}
		if (faces.type() != CV_32F || faces.cols != 15) {
			throw std::runtime_error("FaceDetectorYN gave faces that are not rows of 15 floats");
		}
		d->faces = faces.isContinuous() ? faces : faces.clone();
		*n = d->faces.rows;
	});
}

const float *facet_yunet_faces(const facet_yunet *d) {
	return d->faces.empty() ? nullptr : d->faces.ptr<float>(0);
}

} // extern "C"
