// 2-D convolution and its two gradients through oneDNN, directly on tfjs' NHWC / HWIO buffers.
// Primitives are built once per geometry and cached: building one costs far more than running it
// on our small images.
#include "conv.h"

#include <cstring>
#include <stdexcept>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "dnnl_context.h"

namespace rf {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Geometry {
  memory::dims strides, dilates, padL, padR;
  memory::desc src, wei, dst, weiAny;
};

// Output size as oneDNN computes it (floor division); tfjs uses the same rule, so tfjs' own
// padding always gives tfjs' output size. A mismatch means a caller bug: refuse it.
int64_t outSize(int64_t in, int64_t k, int64_t d, int64_t s, int64_t p0, int64_t p1) {
  return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

Geometry geometryOf(const ConvShape& s) {
  if (outSize(s.h, s.fh, s.dh, s.sh, s.pt, s.pb) != s.oh || outSize(s.w, s.fw, s.dw, s.sw, s.pl, s.pr) != s.ow) {
    throw std::invalid_argument("conv2d: padding and output size disagree");
  }
  Geometry g;
  g.strides = {s.sh, s.sw};
  g.dilates = {s.dh - 1, s.dw - 1};
  g.padL = {s.pt, s.pl};
  g.padR = {s.pb, s.pr};
  // Logical dims are NCHW in oneDNN; the nhwc tag describes tfjs' storage.
  g.src = memory::desc({s.n, s.ci, s.h, s.w}, dt::f32, tag::nhwc);
  g.dst = memory::desc({s.n, s.co, s.oh, s.ow}, dt::f32, tag::nhwc);
  g.wei = memory::desc({s.co, s.ci, s.fh, s.fw}, dt::f32, tag::hwio);
  g.weiAny = memory::desc({s.co, s.ci, s.fh, s.fw}, dt::f32, tag::any);
  return g;
}

struct Plan {
  Geometry g;
  dnnl::primitive prim;
  std::string impl;
  memory::desc weiPrim;          // weights layout the primitive wants
  bool weiReorder = false;
  dnnl::reorder weiToPrim;       // user -> primitive (forward, backward data)
  dnnl::reorder weiFromPrim;     // primitive -> user (backward weights)
  std::unique_ptr<memory> weiBuf;
  // A strided 1x1 filter gradient computed as the unit-stride one over the pixels the filter
  // reads (see makePlan): the shape of that conv, and the gathered input.
  bool gatherStrided = false;
  ConvShape unit{};
  std::vector<float> gathered;
};

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry& g) {
  auto d = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                           g.src, g.weiAny, g.dst, g.strides, g.dilates, g.padL, g.padR);
  return dnnl::convolution_forward::primitive_desc(d, cpuEngine());
}

std::unique_ptr<Plan> makePlan(ConvPass pass, const ConvShape& s) {
  auto p = std::make_unique<Plan>();
  p->g = geometryOf(s);
  const Geometry& g = p->g;
  auto fwd = forwardPd(g);
  switch (pass) {
    case ConvPass::Forward:
      p->prim = dnnl::convolution_forward(fwd);
      p->weiPrim = fwd.weights_desc();
      p->impl = fwd.impl_info_str();
      break;
    case ConvPass::BackwardData: {
      auto d = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, g.src, g.weiAny, g.dst,
                                                     g.strides, g.dilates, g.padL, g.padR);
      auto pd = dnnl::convolution_backward_data::primitive_desc(d, cpuEngine(), fwd);
      p->prim = dnnl::convolution_backward_data(pd);
      p->weiPrim = pd.weights_desc();
      p->impl = pd.impl_info_str();
      break;
    }
    case ConvPass::BackwardWeights: {
      auto d = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src, g.weiAny, g.dst,
                                                        g.strides, g.dilates, g.padL, g.padR);
      auto pd = dnnl::convolution_backward_weights::primitive_desc(d, cpuEngine(), fwd);
      p->prim = dnnl::convolution_backward_weights(pd);
      p->weiPrim = pd.diff_weights_desc();
      p->impl = pd.impl_info_str();
      // oneDNN 2.6's jit_1x1:avx2 filter gradient is wrong for strides above 1 (test
      // backend-native-kernels, case '1x1 s2 same': max |diff| 3.8 against tfjs' cpu, and every
      // ResNet shortcut's filter gradient with it). The same sums over the pixels a strided 1x1
      // filter reads, gathered first, are a unit-stride 1x1 conv, which it computes right. Only
      // for that implementation: elsewhere (avx512) the primitive is right, and its bits stay.
      if (s.fh == 1 && s.fw == 1 && (s.sh > 1 || s.sw > 1) && p->impl.find("jit_1x1:avx2") != std::string::npos) {
        p->gatherStrided = true;
        p->unit = ConvShape{s.n, s.oh, s.ow, s.ci, s.oh, s.ow, s.co, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        p->gathered.assign(static_cast<size_t>(s.n * s.oh * s.ow * s.ci), 0.0f);
        p->impl += " (strided 1x1: gathered, then unit stride)";
      }
      break;
    }
  }
  p->weiReorder = p->weiPrim != g.wei;
  if (p->weiReorder) {
    p->weiBuf = std::make_unique<memory>(p->weiPrim, cpuEngine());
    if (pass == ConvPass::BackwardWeights) {
      p->weiFromPrim = dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), p->weiPrim, cpuEngine(), g.wei));
    } else {
      p->weiToPrim = dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), g.wei, cpuEngine(), p->weiPrim));
    }
  }
  return p;
}

using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;

Plan& planFor(ConvPass pass, const ConvShape& s) {
  static std::map<Key, std::unique_ptr<Plan>> cache;
  Key k{static_cast<int>(pass), s.n, s.h, s.w, s.ci, s.oh, s.ow, s.co, s.fh, s.fw, s.sh, s.sw, s.dh, s.dw, s.pt, s.pl, s.pb, s.pr};
  auto it = cache.find(k);
  if (it == cache.end()) it = cache.emplace(k, makePlan(pass, s)).first;
  return *it->second;
}

}  // namespace

void conv2d(ConvPass pass, const ConvShape& s, const float* a, const float* b, float* out) {
  Plan& p = planFor(pass, s);
  const Geometry& g = p.g;
  auto& eng = cpuEngine();
  auto& strm = cpuStream();
  auto mem = [&](const memory::desc& md, const float* ptr) { return memory(md, eng, const_cast<float*>(ptr)); };
  switch (pass) {
    case ConvPass::Forward: {
      memory wei = mem(g.wei, b);
      if (p.weiReorder) {
        p.weiToPrim.execute(strm, wei, *p.weiBuf);
        wei = *p.weiBuf;
      }
      p.prim.execute(strm, {{DNNL_ARG_SRC, mem(g.src, a)}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, mem(g.dst, out)}});
      break;
    }
    case ConvPass::BackwardData: {
      memory wei = mem(g.wei, b);
      if (p.weiReorder) {
        p.weiToPrim.execute(strm, wei, *p.weiBuf);
        wei = *p.weiBuf;
      }
      p.prim.execute(strm, {{DNNL_ARG_DIFF_DST, mem(g.dst, a)}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DIFF_SRC, mem(g.src, out)}});
      break;
    }
    case ConvPass::BackwardWeights: {
      if (p.gatherStrided) {
        // gathered[n, y, x, :] = src[n, y*sh - pt, x*sw - pl, :], zero where that is padding.
        float* dst = p.gathered.data();
        const size_t c = static_cast<size_t>(s.ci);
        for (int64_t n = 0; n < s.n; n++)
          for (int64_t y = 0; y < s.oh; y++)
            for (int64_t x = 0; x < s.ow; x++, dst += c) {
              const int64_t iy = y * s.sh - s.pt, ix = x * s.sw - s.pl;
              if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) {
                std::memset(dst, 0, c * sizeof(float));
              } else {
                std::memcpy(dst, a + ((n * s.h + iy) * s.w + ix) * s.ci, c * sizeof(float));
              }
            }
        conv2d(ConvPass::BackwardWeights, p.unit, p.gathered.data(), b, out);
        return;
      }
      memory user = mem(g.wei, out);
      memory target = p.weiReorder ? *p.weiBuf : user;
      p.prim.execute(strm, {{DNNL_ARG_SRC, mem(g.src, a)}, {DNNL_ARG_DIFF_DST, mem(g.dst, b)}, {DNNL_ARG_DIFF_WEIGHTS, target}});
      if (p.weiReorder) p.weiFromPrim.execute(strm, *p.weiBuf, user);
      break;
    }
  }
  strm.wait();
}

const char* conv2dImpl(ConvPass pass, const ConvShape& s) { return planFor(pass, s).impl.c_str(); }

}  // namespace rf
