// Deterministic multi-threading for the core: large arrays are cut into chunks of a fixed
// size, which run on a small pool of threads shared by every caller, and per-chunk results
// are combined in chunk order. The chunks do not depend on the thread count, so neither do
// the results: 1, 2 or 16 threads give the same bits.
#pragma once

#include <cstddef>
#include <vector>

namespace core {

// Elements per chunk: 512 KiB of float64, small enough to balance the work between threads
// and large enough that taking a chunk (one atomic increment) costs nothing beside it.
constexpr std::size_t kChunkSize = std::size_t{1} << 16;

// From this many elements on, kernels run in chunks on the pool; below it, in one piece on
// the caller's thread, as waking other threads would cost more than it saves (measured in
// docs/performance.md of the template).
constexpr std::size_t kParallelMinSize = std::size_t{1} << 18;

// The CPUs this process may run on (its affinity mask where the OS has one), at least 1.
std::size_t available_cpus() noexcept;

// The threads a call may use, the caller's own included: available_cpus() unless set.
std::size_t num_threads() noexcept;

// Caps the threads of later calls (n >= 1; 0 means available_cpus() again). Process-wide.
void set_num_threads(std::size_t n) noexcept;

namespace detail {
using ChunkTask = void (*)(const void* context, std::size_t chunk) noexcept;

// Runs task(context, i) for every i < chunks, each once, on up to num_threads() threads: the
// caller's, which always works, and the pool's. A caller that finds the pool busy with
// another call runs all its chunks itself, so callers never add up to more threads than
// num_threads() plus themselves. Returns when every chunk is done.
void run_chunks(std::size_t chunks, ChunkTask task, const void* context) noexcept;
}  // namespace detail

// Calls body(begin, count) for the chunks of [0, n): on the pool from kParallelMinSize
// elements on, else once for all of [0, n) on this thread. body must not throw, and must
// write nothing that another chunk reads or writes.
template <typename Body>
void for_each_chunk(const std::size_t n, const Body& body) noexcept {
  if (n < kParallelMinSize) {
    body(std::size_t{0}, n);
    return;
  }
  struct Context {
    const Body* body;
    std::size_t n;
  };
  const Context context{&body, n};
  detail::run_chunks((n + kChunkSize - 1) / kChunkSize,
                     [](const void* raw, const std::size_t chunk) noexcept {
                       const auto& c = *static_cast<const Context*>(raw);
                       const std::size_t begin = chunk * kChunkSize;
                       (*c.body)(begin, c.n - begin < kChunkSize ? c.n - begin : kChunkSize);
                     },
                     &context);
}

// Reduces [0, n): partial(begin, count) gives a chunk's result, and the results are folded
// left in chunk order with combine(accumulated, next), whatever thread computed them. Below
// kParallelMinSize it is partial(0, n). Throws std::bad_alloc if the per-chunk results find
// no memory.
template <typename Result, typename Partial, typename Combine>
Result reduce_chunks(const std::size_t n, const Partial& partial, const Combine& combine) {
  if (n < kParallelMinSize) {
    return partial(std::size_t{0}, n);
  }
  std::vector<Result> results((n + kChunkSize - 1) / kChunkSize);
  for_each_chunk(n, [&](const std::size_t begin, const std::size_t count) noexcept {
    results[begin / kChunkSize] = partial(begin, count);
  });
  Result total = results[0];
  for (std::size_t i = 1; i < results.size(); ++i) {
    total = combine(total, results[i]);
  }
  return total;
}

}  // namespace core
