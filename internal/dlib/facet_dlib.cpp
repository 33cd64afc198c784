// facet_dlib.cpp: the only C++ translation unit of package dlib (dlib's
// headers are heavy; keep everything here so it compiles once).

#include "facet_dlib.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms/interpolation.h>
#include <dlib/serialize.h>

namespace facet {

// gray_view is a read-only 8-bit grayscale image over a caller's buffer:
// dlib's generic image interface, so dlib reads the pixels in place.
struct gray_view {
	const unsigned char *pix = nullptr;
	long stride = 0, width = 0, height = 0;
};

inline long num_rows(const gray_view &img) { return img.height; }
inline long num_columns(const gray_view &img) { return img.width; }
inline long width_step(const gray_view &img) { return img.stride; }
inline const void *image_data(const gray_view &img) { return img.pix; }
// dlib's image_view wants a mutable image_data too; nothing here writes
// through it (gray_view is only ever an input).
inline void *image_data(gray_view &img) {
	return const_cast<unsigned char *>(img.pix);
}
inline void set_image_size(gray_view &, long, long) {
	throw std::logic_error("facet: gray_view is read-only");
}
inline void swap(gray_view &a, gray_view &b) { std::swap(a, b); }

}  // namespace facet

namespace dlib {
template <> struct image_traits<facet::gray_view> {
	typedef unsigned char pixel_type;
};
}  // namespace dlib

struct facet_dlib_detector {
	dlib::frontal_face_detector det;
	dlib::array2d<unsigned char> up[2];  // upsampling buffers, reused
	std::vector<dlib::rect_detection> raw;
	std::vector<facet_dlib_face> faces;
	std::vector<long> poses;  // filter index in det -> pose of the full detector
};

struct facet_dlib_predictor {
	dlib::shape_predictor sp;
};

namespace {

const char oom_msg[] = "dlib: out of memory";

char *dup_msg(const char *prefix, const char *what) {
	std::size_t a = std::strlen(prefix), b = std::strlen(what);
	char *s = static_cast<char *>(std::malloc(a + b + 1));
	if (s == nullptr) return const_cast<char *>(oom_msg);
	std::memcpy(s, prefix, a);
	std::memcpy(s + a, what, b + 1);
	return s;
}

// guard runs f and turns every exception into an error message.
template <typename F> char *guard(F f) {
	try {
		f();
		return nullptr;
	} catch (const std::bad_alloc &) {
		return const_cast<char *>(oom_msg);
	} catch (const std::exception &e) {
		return dup_msg("", e.what());
	} catch (...) {
		return dup_msg("", "unknown C++ exception");
	}
}

const dlib::frontal_face_detector &prototype() {
	// Deserialized once (thread-safe static); detectors are copies.
	static const dlib::frontal_face_detector p = dlib::get_frontal_face_detector();
	return p;
}

// trim collapses the runs of spaces and newlines in dlib's messages.
std::string trim(const std::string &s) {
	std::string out;
	bool space = false;
	for (char c : s) {
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = !out.empty();
			continue;
		}
		if (space) out += ' ';
		space = false;
		out += c;
	}
	return out;
}

}  // namespace

extern "C" {

void facet_dlib_free_error(char *err) {
	if (err != nullptr && err != oom_msg) std::free(err);
}

char *facet_dlib_detector_new(const int *poses, int n, facet_dlib_detector **out) {
	*out = nullptr;
	return guard([&] {
		const dlib::frontal_face_detector &full = prototype();
		std::vector<long> keep;
		if (n == 0) {
			for (unsigned long i = 0; i < full.num_detectors(); ++i) keep.push_back(static_cast<long>(i));
		}
		std::vector<dlib::frontal_face_detector::feature_vector_type> w;
		for (int i = 0; i < n; ++i) {
			if (poses[i] < 0 || static_cast<unsigned long>(poses[i]) >= full.num_detectors())
				throw std::runtime_error("pose out of range");
			keep.push_back(poses[i]);
			w.push_back(full.get_w(static_cast<unsigned long>(poses[i])));
		}
		facet_dlib_detector *d = n == 0
			? new facet_dlib_detector{full, {}, {}, {}, keep}
			: new facet_dlib_detector{dlib::frontal_face_detector(full.get_scanner(), full.get_overlap_tester(), w), {}, {}, {}, keep};
		*out = d;
	});
}

void facet_dlib_detector_free(facet_dlib_detector *d) {
	try {
		delete d;
	} catch (...) {
	}
}

char *facet_dlib_detect(facet_dlib_detector *d, const uint8_t *pix, long stride,
			long width, long height, int upsample, double adjust) {
	return guard([&] {
		d->faces.clear();
		d->raw.clear();
		facet::gray_view img;
		img.pix = pix;
		img.stride = stride;
		img.width = width;
		img.height = height;
		if (upsample <= 0) {
			d->det(img, d->raw, adjust);
		} else {
			dlib::pyramid_down<2> pyr;
			dlib::pyramid_up(img, d->up[0], pyr);
			for (int i = 1; i < upsample; ++i) {
				dlib::pyramid_up(d->up[0], d->up[1], pyr);
				dlib::swap(d->up[0], d->up[1]);
			}
			d->det(d->up[0], d->raw, adjust);
			for (auto &r : d->raw) r.rect = pyr.rect_down(r.rect, upsample);
		}
		d->faces.reserve(d->raw.size());
		for (const auto &r : d->raw) {
			facet_dlib_face f;
			f.x0 = r.rect.left();
			f.y0 = r.rect.top();
			f.x1 = r.rect.right() + 1;  // dlib's rectangles are inclusive
			f.y1 = r.rect.bottom() + 1;
			f.score = r.detection_confidence;
			f.pose = d->poses.at(r.weight_index);
			d->faces.push_back(f);
		}
	});
}

long facet_dlib_detector_count(const facet_dlib_detector *d) {
	return static_cast<long>(d->faces.size());
}

const facet_dlib_face *facet_dlib_detector_faces(const facet_dlib_detector *d) {
	return d->faces.data();
}

char *facet_dlib_predictor_load(const char *path, facet_dlib_predictor **out) {
	*out = nullptr;
	facet_dlib_predictor *p = nullptr;
	char *err = guard([&] {
		p = new facet_dlib_predictor;
		try {
			dlib::deserialize(path) >> p->sp;
		} catch (const dlib::serialization_error &e) {
			// dlib says "An error occurred while trying to read the first
			// object from the file '<path>'. ERROR: <why>": keep <why>.
			std::string why = e.what();
			std::size_t at = why.find("ERROR:");
			if (at != std::string::npos) why = why.substr(at + 6);
			throw std::runtime_error("not a dlib shape predictor model: " + trim(why));
		}
		if (p->sp.num_parts() == 0)
			throw std::runtime_error("not a dlib shape predictor model: no parts");
	});
	if (err != nullptr) {
		facet_dlib_predictor_free(p);
		return err;
	}
	*out = p;
	return nullptr;
}

void facet_dlib_predictor_free(facet_dlib_predictor *p) {
	try {
		delete p;
	} catch (...) {
	}
}

long facet_dlib_predictor_parts(const facet_dlib_predictor *p) {
	return static_cast<long>(p->sp.num_parts());
}

char *facet_dlib_landmarks(const facet_dlib_predictor *p, const uint8_t *pix,
			   long stride, long width, long height, long x0,
			   long y0, long x1, long y1, intptr_t *xy) {
	return guard([&] {
		facet::gray_view img;
		img.pix = pix;
		img.stride = stride;
		img.width = width;
		img.height = height;
		dlib::full_object_detection shape =
		    p->sp(img, dlib::rectangle(x0, y0, x1 - 1, y1 - 1));
		for (unsigned long i = 0; i < shape.num_parts(); ++i) {
			xy[2 * i] = static_cast<intptr_t>(shape.part(i).x());
			xy[2 * i + 1] = static_cast<intptr_t>(shape.part(i).y());
		}
	});
}

char *facet_dlib_test_throw(int kind) {
	return guard([&] {
		switch (kind) {
		case 0:
			throw std::runtime_error("facet test: runtime_error");
		case 1:
			throw dlib::error("facet test: dlib::error");
		default:
			throw 42;
		}
	});
}

}  // extern "C"
