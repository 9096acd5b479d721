// Kernels for any CPU of the target architecture (SSE2 on x86-64): no ISA flags.
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "kernels.hpp"

namespace core::baseline {

constexpr const char* kName = "baseline";
constexpr std::size_t kLaneBytes = 128;

#include "kernels.inl"

}  // namespace core::baseline
