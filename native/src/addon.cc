// Node-API entry points of robustfeat's native kernels. Every function works synchronously on
// Float32Arrays owned by tfjs' cpu-style backend; shapes come as plain numbers.
#include <node_api.h>
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "conv.h"
#include "dnnl_context.h"
#include "elementwise.h"
#include "napi_util.h"
#include "signal_guard.h"

namespace rf {

dnnl::engine& cpuEngine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

namespace {

constexpr const char* kVersion = "1";

napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}
napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}
napi_value undef(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

// Turns C++ exceptions (oneDNN errors included) into JS exceptions.
template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, "RF_NATIVE_DNNL", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

#define RF_FN(name) napi_value name(napi_env env, napi_callback_info info)

RF_FN(Version) { return guarded(env, [&] { return str(env, kVersion); }); }

RF_FN(DnnlVersion) {
  return guarded(env, [&] {
    const dnnl_version_t* v = dnnl_version();
    return str(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  });
}

RF_FN(SetNumThreads) {
  return guarded(env, [&] {
    Args a(env, info, 1);
    int64_t n = a.i64(0);
    if (n < 1) throw NapiError("threads must be >= 1");
    omp_set_num_threads(static_cast<int>(n));
    // OpenMP's worker threads run parts of every oneDNN call, so a process-directed signal
    // (SIGCHLD, SIGINT) delivered to one of them mid-sgemm would corrupt the heap as on the main
    // thread (signal_guard.h). They never need signals: block them there for good, so the kernel
    // delivers those to another thread. The pool only grows here, so every worker passes this.
#pragma omp parallel num_threads(static_cast<int>(n))
    {
      if (omp_get_thread_num() != 0) blockAsyncSignals(nullptr);
    }
    return undef(env);
  });
}

RF_FN(GetNumThreads) { return guarded(env, [&] { return num(env, omp_get_max_threads()); }); }

ConvShape convShapeFrom(const Args& a, size_t first) {
  auto v = a.i64s(first);
  if (v.size() != 17) throw NapiError("conv geometry must have 17 numbers");
  return ConvShape{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16]};
}

// conv2d(pass, geometry[17] = n h w ci oh ow co fh fw sh sw dh dw pt pl pb pr, a, b, out)
RF_FN(Conv2d) {
  return guarded(env, [&] {
    Args a(env, info, 5);
    int64_t pass = a.i64(0);
    if (pass < 0 || pass > 2) throw NapiError("conv2d: pass must be 0, 1 or 2");
    ConvShape s = convShapeFrom(a, 1);
    F32View x = a.f32(2), y = a.f32(3), out = a.f32(4);
    const size_t inSize = s.n * s.h * s.w * s.ci, outSize = s.n * s.oh * s.ow * s.co, wSize = s.fh * s.fw * s.ci * s.co;
    const size_t want[3][3] = {{inSize, wSize, outSize}, {outSize, wSize, inSize}, {inSize, outSize, wSize}};
    if (x.length != want[pass][0] || y.length != want[pass][1] || out.length != want[pass][2]) {
      throw NapiError("conv2d: buffer sizes do not match the geometry");
    }
    SignalsBlocked quiet;  // native/src/signal_guard.h: oneDNN must not be interrupted
    conv2d(static_cast<ConvPass>(pass), s, x.data, y.data, out.data);
    return undef(env);
  });
}

RF_FN(Conv2dImpl) {
  return guarded(env, [&] {
    Args a(env, info, 2);
    return str(env, conv2dImpl(static_cast<ConvPass>(a.i64(0)), convShapeFrom(a, 1)));
  });
}

// sgemm(transA, transB, m, n, k, A, B, C, batch, strideA, strideB): C[b] = op(A[b]) op(B[b]), row-major;
// a zero stride broadcasts that operand over the batch.
//
// Rows of op(A) go to dnnl_sgemm in zero-padded blocks of kSgemmRows, always with the same shape and
// leading dimensions: oneDNN's AVX2 sgemm sums a row in an order that depends on m and on the row's
// place in it, so a dense layer gave an image other logits in another batch (the prediction memo
// and every "same bits in any batch" check rest on that not happening). Within one block shape the
// rows are independent SIMD lanes, which test/backend-batch-invariance.test.ts checks.
constexpr int64_t kSgemmRows = 4;

RF_FN(Sgemm) {
  return guarded(env, [&] {
    Args a(env, info, 11);
    const bool transA = a.i64(0) != 0;
    const char ta = transA ? 'T' : 'N', tb = a.i64(1) ? 'T' : 'N';
    const int64_t m = a.i64(2), n = a.i64(3), k = a.i64(4);
    F32View A = a.f32(5), B = a.f32(6), C = a.f32(7);
    const int64_t batch = a.i64(8), sA = a.i64(9), sB = a.i64(10);
    if (C.length != static_cast<size_t>(batch * m * n) || A.length < static_cast<size_t>((batch - 1) * sA + m * k) ||
        B.length < static_cast<size_t>((batch - 1) * sB + k * n)) {
      throw NapiError("sgemm: buffer sizes do not match m, n, k and batch");
    }
    std::vector<float> blockA(static_cast<size_t>(kSgemmRows * k)), blockC(static_cast<size_t>(kSgemmRows * n));
    SignalsBlocked quiet;  // native/src/signal_guard.h: a signal mid-sgemm corrupts the heap
    for (int64_t b = 0; b < batch; b++) {
      const float* Ab = A.data + b * sA;
      float* Cb = C.data + b * m * n;
      for (int64_t r0 = 0; r0 < m; r0 += kSgemmRows) {
        const int64_t rows = std::min(kSgemmRows, m - r0);
        std::fill(blockA.begin(), blockA.end(), 0.0f);
        // op(A)'s rows r0.. as a kSgemmRows x k matrix ('N', lda k) or its transpose ('T', lda kSgemmRows).
        for (int64_t i = 0; i < rows; i++)
          for (int64_t j = 0; j < k; j++)
            blockA[transA ? j * kSgemmRows + i : i * k + j] = transA ? Ab[j * m + r0 + i] : Ab[(r0 + i) * k + j];
        dnnl_status_t st = dnnl_sgemm(ta, tb, kSgemmRows, n, k, 1.0f, blockA.data(), transA ? kSgemmRows : k, B.data + b * sB,
                                      tb == 'N' ? n : k, 0.0f, blockC.data(), n);
        if (st != dnnl_success) throw NapiError("dnnl_sgemm failed with status " + std::to_string(st));
        std::copy(blockC.begin(), blockC.begin() + rows * n, Cb + r0 * n);
      }
    }
    return undef(env);
  });
}

}  // namespace

napi_value registerElementwise(napi_env env, napi_value exports);
napi_value registerBatchNorm(napi_env env, napi_value exports);
napi_value registerPool(napi_env env, napi_value exports);
napi_value registerGroupBatchNorm(napi_env env, napi_value exports);
napi_value registerSgd(napi_env env, napi_value exports);
napi_value registerBnRelu(napi_env env, napi_value exports);
napi_value registerResample(napi_env env, napi_value exports);
napi_value registerBnEval(napi_env env, napi_value exports);
napi_value registerAugment(napi_env env, napi_value exports);

}  // namespace rf

static napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"version", nullptr, rf::Version, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dnnlVersion", nullptr, rf::DnnlVersion, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setNumThreads", nullptr, rf::SetNumThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getNumThreads", nullptr, rf::GetNumThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, rf::Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dImpl", nullptr, rf::Conv2dImpl, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgemm", nullptr, rf::Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  rf::registerElementwise(env, exports);
  rf::registerBatchNorm(env, exports);
  rf::registerGroupBatchNorm(env, exports);
  rf::registerSgd(env, exports);
  rf::registerBnRelu(env, exports);
  rf::registerResample(env, exports);
  rf::registerBnEval(env, exports);
  rf::registerAugment(env, exports);
  return rf::registerPool(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
