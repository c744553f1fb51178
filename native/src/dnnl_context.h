#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace rf {
// One CPU engine and one in-order stream for the whole process; kernels run synchronously on
// the calling (Node main) thread, which OpenMP fans out to the worker threads.
dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();
}  // namespace rf
