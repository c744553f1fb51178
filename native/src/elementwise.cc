// Memory-bound kernels tfjs' cpu backend runs slowly in JS: binary ops where one side broadcasts
// along the last (channel) axis or is a scalar, unary maps, and reductions to or along the last
// axis. Each is one pass, vectorised by the compiler and split over OpenMP threads.
#include <cmath>
#include <cstdint>
#include <string>

#include "elementwise.h"
#include "napi_util.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, thread start-up costs more than it saves

enum Binary : int { Add = 0, Sub, Mul, Div, SquaredDiff, Max, Min, Pow, ReluGrad };
enum Unary : int { Relu = 0, Step, Neg, Exp, Log, Sqrt, Rsqrt, Square, Reciprocal, Abs, Sign };
enum Reduce : int { Sum = 0, Mean, RMax, RMin };

template <typename F>
inline void applyBinary(int op, F&& visit) {
  switch (op) {
    case Add: visit([](float x, float y) { return x + y; }); break;
    case Sub: visit([](float x, float y) { return x - y; }); break;
    case Mul: visit([](float x, float y) { return x * y; }); break;
    case Div: visit([](float x, float y) { return x / y; }); break;
    case SquaredDiff: visit([](float x, float y) { float d = x - y; return d * d; }); break;
    case Max: visit([](float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); }); break;
    case Min: visit([](float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); }); break;
    case Pow: visit([](float x, float y) { return std::pow(x, y); }); break;
    case ReluGrad: visit([](float dy, float x) { return x > 0.f ? dy : 0.f; }); break;
    default: throw NapiError("binary: unknown op " + std::to_string(op));
  }
}

// out[r, c] = f(a[r*aR + c*aC], b[r*bR + c*bC]) for r < rows, c < cols: strides of 0 broadcast.
// Covers same shape (rows=1), channel vectors ([C] against [..., C]) and scalars.
template <typename F>
void binaryLoop(F f, const float* a, int64_t aR, int64_t aC, const float* b, int64_t bR, int64_t bC, float* out,
                int64_t rows, int64_t cols) {
  const bool par = rows * cols >= kParallelMin;
  if (rows == 1) {
#pragma omp parallel for if (par) schedule(static)
    for (int64_t c = 0; c < cols; c++) out[c] = f(a[c * aC], b[c * bC]);
    return;
  }
#pragma omp parallel for if (par) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* ar = a + r * aR;
    const float* br = b + r * bR;
    float* o = out + r * cols;
    if (aC == 1 && bC == 1) {
      for (int64_t c = 0; c < cols; c++) o[c] = f(ar[c], br[c]);
    } else if (aC == 1 && bC == 0) {
      const float bv = br[0];
      for (int64_t c = 0; c < cols; c++) o[c] = f(ar[c], bv);
    } else if (aC == 0 && bC == 1) {
      const float av = ar[0];
      for (int64_t c = 0; c < cols; c++) o[c] = f(av, br[c]);
    } else {
      for (int64_t c = 0; c < cols; c++) o[c] = f(ar[c * aC], br[c * bC]);
    }
  }
}

template <typename F>
void unaryLoop(F f, const float* x, float* out, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = f(x[i]);
}

// binary(op, a, aRowStride, aColStride, b, bRowStride, bColStride, out, rows, cols)
napi_value BinaryFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 10);
    const int op = static_cast<int>(a.i64(0));
    F32View x = a.f32(1), y = a.f32(4), out = a.f32(7);
    const int64_t xR = a.i64(2), xC = a.i64(3), yR = a.i64(5), yC = a.i64(6), rows = a.i64(8), cols = a.i64(9);
    auto reach = [&](int64_t r, int64_t c) { return (rows - 1) * r + (cols - 1) * c + 1; };
    if (out.length != static_cast<size_t>(rows * cols) || static_cast<int64_t>(x.length) < reach(xR, xC) ||
        static_cast<int64_t>(y.length) < reach(yR, yC)) {
      throw NapiError("binary: buffer sizes do not match rows, cols and strides");
    }
    applyBinary(op, [&](auto f) { binaryLoop(f, x.data, xR, xC, y.data, yR, yC, out.data, rows, cols); });
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// unary(op, x, out)
napi_value UnaryFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 3);
    const int op = static_cast<int>(a.i64(0));
    F32View x = a.f32(1), out = a.f32(2);
    if (x.length != out.length) throw NapiError("unary: input and output sizes differ");
    const int64_t n = static_cast<int64_t>(x.length);
    switch (op) {
      case Relu: unaryLoop([](float v) { return v > 0.f ? v : (v != v ? v : 0.f); }, x.data, out.data, n); break;
      case Step: unaryLoop([](float v) { return v > 0.f ? 1.f : (v != v ? v : 0.f); }, x.data, out.data, n); break;
      case Neg: unaryLoop([](float v) { return -v; }, x.data, out.data, n); break;
      case Exp: unaryLoop([](float v) { return std::exp(v); }, x.data, out.data, n); break;
      case Log: unaryLoop([](float v) { return std::log(v); }, x.data, out.data, n); break;
      case Sqrt: unaryLoop([](float v) { return std::sqrt(v); }, x.data, out.data, n); break;
      case Rsqrt: unaryLoop([](float v) { return 1.f / std::sqrt(v); }, x.data, out.data, n); break;
      case Square: unaryLoop([](float v) { return v * v; }, x.data, out.data, n); break;
      case Reciprocal: unaryLoop([](float v) { return 1.f / v; }, x.data, out.data, n); break;
      case Abs: unaryLoop([](float v) { return std::fabs(v); }, x.data, out.data, n); break;
      case Sign: unaryLoop([](float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); }, x.data, out.data, n); break;
      default: throw NapiError("unary: unknown op " + std::to_string(op));
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// reduce(op, x, rows, cols, alongRows, out): alongRows -> out[cols] over rows, else out[rows] over cols.
napi_value ReduceFn(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 6);
    const int op = static_cast<int>(a.i64(0));
    F32View x = a.f32(1), out = a.f32(5);
    const int64_t rows = a.i64(2), cols = a.i64(3);
    const bool alongRows = a.i64(4) != 0;
    if (x.length != static_cast<size_t>(rows * cols) || out.length != static_cast<size_t>(alongRows ? cols : rows)) {
      throw NapiError("reduce: buffer sizes do not match rows and cols");
    }
    if (op < Sum || op > RMin) throw NapiError("reduce: unknown op " + std::to_string(op));
    const float* xd = x.data;
    float* o = out.data;
    const bool isMax = op == RMax, isMin = op == RMin;
    auto combine = [&](float acc, float v) {
      if (isMax) return (v > acc || v != v) ? v : acc;
      if (isMin) return (v < acc || v != v) ? v : acc;
      return acc + v;
    };
    if (alongRows) {
      // Per-thread partial rows, accumulated in double for long reductions (N*H*W up to ~10^6).
      const int64_t chunk = 256;
#pragma omp parallel for if (rows * cols >= kParallelMin) schedule(static)
      for (int64_t c0 = 0; c0 < cols; c0 += chunk) {
        const int64_t c1 = c0 + chunk < cols ? c0 + chunk : cols;
        double accD[chunk];
        float accF[chunk];
        for (int64_t c = c0; c < c1; c++) {
          accD[c - c0] = 0.0;
          accF[c - c0] = xd[c];
        }
        for (int64_t r = 0; r < rows; r++) {
          const float* xr = xd + r * cols;
          if (isMax || isMin) {
            for (int64_t c = c0; c < c1; c++) accF[c - c0] = combine(accF[c - c0], xr[c]);
          } else {
            for (int64_t c = c0; c < c1; c++) accD[c - c0] += xr[c];
          }
        }
        for (int64_t c = c0; c < c1; c++) {
          o[c] = (isMax || isMin) ? accF[c - c0] : static_cast<float>(op == Mean ? accD[c - c0] / rows : accD[c - c0]);
        }
      }
    } else {
#pragma omp parallel for if (rows * cols >= kParallelMin) schedule(static)
      for (int64_t r = 0; r < rows; r++) {
        const float* xr = xd + r * cols;
        if (isMax || isMin) {
          float acc = xr[0];
          for (int64_t c = 1; c < cols; c++) acc = combine(acc, xr[c]);
          o[r] = acc;
        } else {
          double acc = 0.0;
          for (int64_t c = 0; c < cols; c++) acc += xr[c];
          o[r] = static_cast<float>(op == Mean ? acc / cols : acc);
        }
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerElementwise(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"binary", nullptr, BinaryFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, UnaryFn, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, ReduceFn, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
