// ReLU and its gradient's mask as the elementwise kernels compute them (elementwise.cc), for the
// fused kernels that apply them inside another pass.
#pragma once
#include <cstdint>
#include <cstring>

namespace rf {

// The Relu kernel: NaN passes through.
inline float reluOf(float v) { return v > 0.f ? v : (v != v ? v : 0.f); }

// mask > 0 ? v : +0 (the ReLU gradient kernel), by clearing the bits: GCC does not if-convert that
// select inside these loops ("control flow in loop"), and a branch on random signs made the loop
// scalar and several times slower.
inline float keepIf(float v, float mask) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bits &= 0u - static_cast<uint32_t>(mask > 0.f);
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

}  // namespace rf
