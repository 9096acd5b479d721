// Kernels for x86-64 CPUs with AVX2 and FMA (Haswell, Zen and newer); CMake compiles
// this file alone with -mavx2 -mfma, and core.cpp calls it only on such CPUs.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.hpp"

namespace core::avx2 {

constexpr const char* kName = "avx2";
constexpr std::size_t kLaneBytes = 256;

#include "kernels.inl"

}  // namespace core::avx2
