// Small helpers over the Node-API C interface: argument unpacking with errors that name the
// argument, so a wrong call from JS fails loudly instead of reading garbage.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rf {

struct NapiError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct F32View {
  float* data;
  size_t length;
};

struct Args {
  napi_env env;
  std::vector<napi_value> values;

  Args(napi_env e, napi_callback_info info, size_t expected) : env(e), values(expected) {
    size_t argc = expected;
    napi_get_cb_info(env, info, &argc, values.data(), nullptr, nullptr);
    if (argc != expected) {
      throw NapiError("expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc));
    }
  }

  int64_t i64(size_t i) const {
    int64_t v = 0;
    if (napi_get_value_int64(env, values[i], &v) != napi_ok) throw NapiError("argument " + std::to_string(i) + " must be a number");
    return v;
  }

  double f64(size_t i) const {
    double v = 0;
    if (napi_get_value_double(env, values[i], &v) != napi_ok) throw NapiError("argument " + std::to_string(i) + " must be a number");
    return v;
  }

  F32View f32(size_t i) const {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, values[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_float32_array) {
      throw NapiError("argument " + std::to_string(i) + " must be a Float32Array");
    }
    return {static_cast<float*>(data), length};
  }

  std::vector<int64_t> i64s(size_t i) const {
    uint32_t n = 0;
    if (napi_get_array_length(env, values[i], &n) != napi_ok) throw NapiError("argument " + std::to_string(i) + " must be an array");
    std::vector<int64_t> out(n);
    for (uint32_t k = 0; k < n; k++) {
      napi_value e;
      napi_get_element(env, values[i], k, &e);
      if (napi_get_value_int64(env, e, &out[k]) != napi_ok) throw NapiError("argument " + std::to_string(i) + " must hold numbers");
    }
    return out;
  }
};

}  // namespace rf
