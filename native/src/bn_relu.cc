// ReLU fused into the op before it. Training-mode batch norm followed by ReLU: the forward
// writes relu(bn(x)) in the pass that wrote bn(x), and the gradient applies ReLU's mask (y > 0, the same test as x > 0 on ReLU's
// input) while it reads dy, instead of a ReLU pass and a ReLU-gradient pass over the full tensor.
//
// The arithmetic must be bit-identical to batchnorm.cc's bnTrain and bnTrainGrad followed by /
// preceded by the separate ReLU kernels (elementwise.cc): channelSums and the coefficients are shared (bn_train_math.h) and channelAffine
// below is batchnorm.cc's, copied expression for expression (same file-level flags, so the compiler
// contracts the same products into the same FMAs), with the mask applied to the value read.
// test/backend-bn-relu.test.ts compares both routes bit for bit. And the residual join
// relu(a + b) in one pass (its gradient is the ReLU kernel's, on the output).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "napi_util.h"
#include "bn_train_math.h"
#include "relu_mask.h"

namespace rf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

void expect(bool ok, const char* what) {
  if (!ok) throw NapiError(what);
}

// bnTrainRelu(x, rows, C, scale, offset, eps, y, mean, variance): bnTrain, then y = relu(y).
napi_value BnTrainRelu(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 9);
    F32View x = a.f32(0), scale = a.f32(3), offset = a.f32(4), y = a.f32(6), mean = a.f32(7), var = a.f32(8);
    const int64_t rows = a.i64(1), C = a.i64(2);
    const double eps = a.f64(5);
    expect(x.length == static_cast<size_t>(rows * C) && y.length == x.length, "bnTrainRelu: x/y sizes do not match rows x C");
    expect(scale.length == static_cast<size_t>(C) && offset.length == scale.length && mean.length == scale.length &&
               var.length == scale.length, "bnTrainRelu: channel vectors must have C entries");
    std::vector<double> s0, s1;
    channelSums(x.data, nullptr, nullptr, rows, C, s0, s1);
    std::vector<float> k1(C), k3(C);
    bnTrainCoefficients(s0, s1, rows, C, scale.data, offset.data, eps, mean.data, var.data, k1.data(), k3.data());
    const float* xd = x.data;
    const float* q1 = k1.data();
    const float* q3 = k3.data();
    float* out = y.data;
#pragma omp parallel for if (rows * C >= kParallelMin) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* ar = xd + r * C;
      float* o = out + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float t = q1[c] * ar[c] + q3[c];
        o[c] = reluOf(t);
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// bnTrainReluGrad(dy, y, x, rows, C, scale, mean, variance, eps, dx, dscale, doffset): bnTrainGrad
// of dy masked by y > 0.
napi_value BnTrainReluGrad(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info, 12);
    F32View dy = a.f32(0), y = a.f32(1), x = a.f32(2), scale = a.f32(5), mean = a.f32(6), var = a.f32(7);
    F32View dx = a.f32(9), dscale = a.f32(10), doffset = a.f32(11);
    const int64_t rows = a.i64(3), C = a.i64(4);
    const double eps = a.f64(8);
    expect(x.length == static_cast<size_t>(rows * C) && dy.length == x.length && y.length == x.length && dx.length == x.length,
           "bnTrainReluGrad: dy/y/x/dx sizes do not match rows x C");
    expect(scale.length == static_cast<size_t>(C) && mean.length == scale.length && var.length == scale.length &&
               dscale.length == scale.length && doffset.length == scale.length, "bnTrainReluGrad: channel vectors must have C entries");
    std::vector<double> sumDy, sumDyX;
    channelSums(dy.data, x.data, y.data, rows, C, sumDy, sumDyX);
    std::vector<float> k1(C), k2(C), k3(C);
    bnGradCoefficients(sumDy, sumDyX, rows, C, scale.data, mean.data, var.data, eps, dscale.data, doffset.data, k1.data(), k2.data(),
                       k3.data());
    const float* dyd = dy.data;
    const float* yd = y.data;
    const float* xd = x.data;
    const float* q1 = k1.data();
    const float* q2 = k2.data();
    const float* q3 = k3.data();
    float* out = dx.data;
#pragma omp parallel for if (rows * C >= kParallelMin) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* ar = dyd + r * C;
      const float* mr = yd + r * C;
      const float* br = xd + r * C;
      float* o = out + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float av = keepIf(ar[c], mr[c]);
        o[c] = q1[c] * av + q2[c] * br[c] + q3[c];
      }
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

// addRelu(a, b, out): out = relu(a + b), the residual join (Add, then the ReLU kernel).
napi_value AddRelu(napi_env env, napi_callback_info info) {
  try {
    Args args(env, info, 3);
    F32View a = args.f32(0), b = args.f32(1), out = args.f32(2);
    expect(a.length == b.length && out.length == a.length, "addRelu: a, b and out must have one size");
    const int64_t n = static_cast<int64_t>(a.length);
    const float* ad = a.data;
    const float* bd = b.data;
    float* o = out.data;
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      const float s = ad[i] + bd[i];
      o[i] = reluOf(s);
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, "RF_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace

napi_value registerBnRelu(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"bnTrainRelu", nullptr, BnTrainRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnTrainReluGrad", nullptr, BnTrainReluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addRelu", nullptr, AddRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  return exports;
}

}  // namespace rf
