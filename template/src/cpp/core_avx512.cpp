// Kernels for x86-64 CPUs with AVX-512F (Skylake-SP, Ice Lake, Zen 4 and newer); CMake
// compiles this file alone with -mavx512f -mavx2 -mfma, and core.cpp calls it only there.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels.hpp"

namespace core::avx512 {

constexpr const char* kName = "avx512";
constexpr std::size_t kLaneBytes = 512;

#include "kernels.inl"

}  // namespace core::avx512
