// facet_onnx.cpp: the only C++ translation unit of package onnx. No C++
// exception leaves it: each entry point runs its body in guard().

#include "facet_onnx.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

struct facet_onnx_net {
	cv::dnn::Net net;
	std::vector<cv::String> names;  // output layer names, in the caller's order
	std::vector<cv::Mat> outs;      // outputs of the last forward
};

namespace {

const char oom_msg[] = "out of memory";

char *dup_msg(const std::string &what) {
	char *s = static_cast<char *>(std::malloc(what.size() + 1));
	if (s == nullptr) return const_cast<char *>(oom_msg);
	std::memcpy(s, what.c_str(), what.size() + 1);
	return s;
}

// guard runs f and turns every exception into an error message. For a
// cv::Exception it keeps err (the message proper) and the function name,
// not the source file and line that what() starts with.
template <typename F> char *guard(F f) {
	try {
		f();
		return nullptr;
	} catch (const std::bad_alloc &) {
		return const_cast<char *>(oom_msg);
	} catch (const cv::Exception &e) {
		std::string msg = e.err;
		if (e.code == cv::Error::StsAssert) msg = "assertion failed: " + msg;
		if (!e.func.empty()) msg += " (in " + e.func + ")";
		return dup_msg(msg);
	} catch (const std::exception &e) {
		return dup_msg(e.what());
	} catch (...) {
		return dup_msg("unknown C++ exception");
	}
}

// quiet silences OpenCV's logging while it lives: the importer logs
// each node it refuses to stderr, and the message comes back as the
// exception anyway (package onnx prints nothing of its own).
struct quiet {
	cv::utils::logging::LogLevel was;
	quiet() : was(cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT)) {}
	~quiet() { cv::utils::logging::setLogLevel(was); }
};

}  // namespace

extern "C" {

void facet_onnx_free_error(char *err) {
	if (err != oom_msg) std::free(err);
}

char *facet_onnx_load(const char *model, size_t len, const char *const *outs,
		      int nouts, facet_onnx_net **out) {
	*out = nullptr;
	return guard([&] {
		facet_onnx_net *p = new facet_onnx_net;
		try {
			quiet q;
			p->net = cv::dnn::readNetFromONNX(model, len);
			if (p->net.empty()) throw std::runtime_error("OpenCV read an empty net");
			p->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
			p->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
			for (int i = 0; i < nouts; i++) p->names.emplace_back(outs[i]);
		} catch (...) {
			delete p;
			throw;
		}
		*out = p;
	});
}

void facet_onnx_free(facet_onnx_net *net) {
	try {
		delete net;
	} catch (...) {
	}
}

char *facet_onnx_forward(facet_onnx_net *net, const char *input, float *x,
			 int n, int c, int h, int w) {
	return guard([&] {
		net->outs.clear();
		const int sizes[4] = {n, c, h, w};
		// A header over the caller's buffer: no copy here (setInput makes
		// the one copy OpenCV's input layer keeps).
		cv::Mat blob(4, sizes, CV_32F, x);
		net->net.setInput(blob, input);
		net->net.forward(net->outs, net->names);
		for (auto &m : net->outs) {
			if (m.type() != CV_32F) throw std::runtime_error("an output is not float32");
			if (!m.isContinuous()) m = m.clone();
		}
	});
}

const float *facet_onnx_output(const facet_onnx_net *net, int k, int *ndims,
			       int *dims) {
	if (k < 0 || k >= (int)net->outs.size()) return nullptr;
	const cv::Mat &m = net->outs[k];
	if (m.type() != CV_32F) return nullptr;
	*ndims = m.dims;
	for (int i = 0; i < m.dims && i < 8; i++) dims[i] = m.size[i];
	return reinterpret_cast<const float *>(m.data);
}

int facet_onnx_num_threads(void) {
	try {
		return cv::getNumThreads();
	} catch (...) {
		return -1;
	}
}

char *facet_onnx_test_throw(int kind) {
	return guard([&] {
		switch (kind) {
		case 0:
			throw std::runtime_error("test runtime_error");
		case 1:
			CV_Error(cv::Error::StsBadArg, "test cv::Exception");
		default:
			throw 42;
		}
	});
}

}  // extern "C"
