// facet_dlib.cpp: the only C++ translation unit of package dlib (dlib's
// headers are heavy; keep everything here so it compiles once).

#include "facet_dlib.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
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

// facet_dlib_predictor is dlib's shape predictor (the ensemble of
// regression trees of Kazemi and Sullivan) with its trees laid out flat.
//
// Why not dlib::shape_predictor's own operator(): it spends about three
// quarters of its time waiting for memory. The 68-point model holds 15
// cascades of 500 trees with 16 leaves of 136 floats each (65 MB); every
// tree adds one leaf, read from a random place in those 65 MB, through a
// std::vector of heap-allocated dlib matrices (two dependent cache
// misses). Here each cascade's leaves are one array, all 500 leaves are
// chosen first and then added with the next few prefetched, so the reads
// overlap. The arithmetic is dlib's, in dlib's order (the same feature
// pixels from dlib::impl::extract_feature_pixel_values, the same float
// additions tree by tree, the same final transform), so the points are
// exactly dlib's: a test compares them with dlib's operator() (kept as
// the reference, loaded only for that test).
struct facet_dlib_predictor {
	dlib::matrix<float, 0, 1> initial_shape;
	std::vector<std::vector<unsigned long>> anchor_idx;
	std::vector<std::vector<dlib::vector<float, 2>>> deltas;
	struct cascade {
		long trees = 0, depth = 0;    // every tree has 2^depth leaves
		std::vector<dlib::impl::split_feature> splits;  // trees x (2^depth - 1), breadth first
		std::vector<float> leaves;    // trees x 2^depth x parts*2
	};
	std::vector<cascade> cascades;
	std::unique_ptr<dlib::shape_predictor> reference;  // tests only
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


// flatten checks a shape predictor's trees and lays them out flat in p:
// every tree of a cascade must be full, of one depth, with leaves of the
// shape's size and splits that read the cascade's feature pixels.
void flatten(facet_dlib_predictor *p, const std::vector<std::vector<dlib::impl::regression_tree>> &forests) {
	const long n = p->initial_shape.size();
	if (n == 0 || n % 2 != 0) throw std::runtime_error("not a dlib shape predictor model: no parts");
	if (forests.size() != p->anchor_idx.size() || forests.size() != p->deltas.size())
		throw std::runtime_error("not a dlib shape predictor model: cascades disagree");
	for (std::size_t c = 0; c < forests.size(); ++c) {
		const std::size_t feats = p->anchor_idx[c].size();
		if (p->deltas[c].size() != feats) throw std::runtime_error("not a dlib shape predictor model: feature pixels disagree");
		for (unsigned long a : p->anchor_idx[c])
			if (a >= static_cast<unsigned long>(n / 2)) throw std::runtime_error("not a dlib shape predictor model: anchor out of range");
		facet_dlib_predictor::cascade fc;
		fc.trees = static_cast<long>(forests[c].size());
		for (const auto &t : forests[c]) {
			const std::size_t leaves = t.leaf_values.size();
			if (leaves == 0 || (leaves & (leaves - 1)) != 0 || t.splits.size() + 1 != leaves)
				throw std::runtime_error("not a dlib shape predictor model: a tree is not full");
			long depth = 0;
			while ((std::size_t(1) << depth) < leaves) ++depth;
			if (fc.splits.empty() && fc.leaves.empty()) fc.depth = depth;
			if (depth != fc.depth) throw std::runtime_error("not a dlib shape predictor model: trees of different depths");
			for (const auto &sf : t.splits) {
				if (sf.idx1 >= feats || sf.idx2 >= feats) throw std::runtime_error("not a dlib shape predictor model: split out of range");
				fc.splits.push_back(sf);
			}
			for (const auto &l : t.leaf_values) {
				if (l.size() != n) throw std::runtime_error("not a dlib shape predictor model: leaf of the wrong size");
				fc.leaves.insert(fc.leaves.end(), &l(0), &l(0) + n);
			}
		}
		p->cascades.push_back(std::move(fc));
	}
}

// predict is dlib::shape_predictor::operator() on the flat trees.
std::vector<dlib::point> predict(const facet_dlib_predictor &p, const facet::gray_view &img, const dlib::rectangle &rect) {
	const long n = p.initial_shape.size();
	dlib::matrix<float, 0, 1> shape = p.initial_shape;
	std::vector<float> feats;
	std::vector<const float *> chosen;
	for (std::size_t c = 0; c < p.cascades.size(); ++c) {
		const facet_dlib_predictor::cascade &fc = p.cascades[c];
		dlib::impl::extract_feature_pixel_values(img, rect, shape, p.initial_shape, p.anchor_idx[c], p.deltas[c], feats);
		const long nsplits = (1L << fc.depth) - 1;
		chosen.resize(fc.trees);
		for (long t = 0; t < fc.trees; ++t) {
			const dlib::impl::split_feature *sp = fc.splits.data() + t * nsplits;
			long i = 0;
			while (i < nsplits) {
				const dlib::impl::split_feature &f = sp[i];
				i = feats[f.idx1] - feats[f.idx2] > f.thresh ? 2 * i + 1 : 2 * i + 2;
			}
			chosen[t] = fc.leaves.data() + ((t << fc.depth) + (i - nsplits)) * n;
		}
		float *cur = &shape(0);
		const long ahead = 8;  // trees whose leaves are fetched while one is added
		for (long t = 0; t < fc.trees; ++t) {
			if (t + ahead < fc.trees) {
				const char *next = reinterpret_cast<const char *>(chosen[t + ahead]);
				for (long b = 0; b < n * long(sizeof(float)); b += 64) __builtin_prefetch(next + b);
			}
			const float *leaf = chosen[t];
			for (long k = 0; k < n; ++k) cur[k] += leaf[k];
		}
	}
	const dlib::point_transform_affine to_img = dlib::impl::unnormalizing_tform(rect);
	std::vector<dlib::point> parts(n / 2);
	for (std::size_t i = 0; i < parts.size(); ++i) parts[i] = to_img(dlib::impl::location(shape, i));
	return parts;
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

char *facet_dlib_predictor_load(const char *path, int reference, facet_dlib_predictor **out) {
	*out = nullptr;
	facet_dlib_predictor *p = nullptr;
	char *err = guard([&] {
		p = new facet_dlib_predictor;
		std::vector<std::vector<dlib::impl::regression_tree>> forests;
		try {
			// The fields of dlib's serialize(shape_predictor), in its order.
			int version = 0;
			dlib::proxy_deserialize in = dlib::deserialize(path);
			in >> version;
			if (version != 1) throw dlib::serialization_error("unexpected shape_predictor version " + std::to_string(version));
			in >> p->initial_shape >> forests >> p->anchor_idx >> p->deltas;
			if (reference) {
				p->reference.reset(new dlib::shape_predictor);
				dlib::deserialize(path) >> *p->reference;
			}
		} catch (const dlib::serialization_error &e) {
			// dlib says "An error occurred while trying to read the first
			// object from the file '<path>'. ERROR: <why>": keep <why>.
			std::string why = e.what();
			std::size_t at = why.find("ERROR:");
			if (at != std::string::npos) why = why.substr(at + 6);
			throw std::runtime_error("not a dlib shape predictor model: " + trim(why));
		}
		flatten(p, forests);
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
	return static_cast<long>(p->initial_shape.size() / 2);
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
		const dlib::rectangle rect(x0, y0, x1 - 1, y1 - 1);
		std::vector<dlib::point> parts;
		if (p->reference) {
			dlib::full_object_detection shape = (*p->reference)(img, rect);
			for (unsigned long i = 0; i < shape.num_parts(); ++i) parts.push_back(shape.part(i));
		} else {
			parts = predict(*p, img, rect);
		}
		for (std::size_t i = 0; i < parts.size(); ++i) {
			xy[2 * i] = static_cast<intptr_t>(parts[i].x());
			xy[2 * i + 1] = static_cast<intptr_t>(parts[i].y());
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
