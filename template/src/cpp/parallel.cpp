// The pool behind parallel.hpp. Plain C++17 threads rather than OpenMP: a wheel then needs no
// OpenMP runtime (libgomp or libomp, which auditwheel would have to bundle and which clash
// when two are loaded into one process), every toolchain builds it (zig's included), and the
// core decides itself how a busy pool, a fork and a thread cap behave.
#include "parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define CORE_HAS_FORK 1
#endif

namespace core {
namespace {

// One call's chunks. Threads take the next chunk with one atomic increment until none is left.
struct Job {
  detail::ChunkTask task;
  const void* context;
  std::size_t chunks;
  std::atomic<std::size_t> next{0};
  std::size_t seats;        // pool threads that may still join; guarded by Pool::mutex_
  std::size_t running = 0;  // pool threads working on it; guarded by Pool::mutex_

  Job(const detail::ChunkTask t, const void* c, const std::size_t n, const std::size_t s) noexcept
      : task(t), context(c), chunks(n), seats(s) {}

  void work() noexcept {
    for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < chunks;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      task(context, i);
    }
  }
};

// Threads that sleep until a call posts a job. It only grows (to the largest thread count
// asked for) and is never destroyed: its threads are detached, and exit with the process, so
// no call can find it half torn down at interpreter shutdown.
class Pool {
 public:
#if defined(CORE_HAS_FORK)
  const pid_t owner = getpid();
#endif
  Pool* const abandoned;  // the parent's pool, after a fork: kept, as its state is not ours

  explicit Pool(Pool* const previous) noexcept : abandoned(previous) {}

  void run(Job& job, const std::size_t helpers) noexcept {
    // One call at a time: another finds the pool busy and works alone.
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || helpers == 0) {
      job.work();
      return;
    }
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      grow(helpers);
      job.seats = std::min(helpers, threads_);
      job_ = &job;
      ++generation_;
    }
    wake_.notify_all();
    job.work();
    std::unique_lock<std::mutex> lock(mutex_);
    job.seats = 0;  // every chunk is taken: a thread waking only now has nothing to do
    done_.wait(lock, [&job] { return job.running == 0; });
    job_ = nullptr;
  }

 private:
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  Job* job_ = nullptr;
  unsigned long long generation_ = 0;
  std::size_t threads_ = 0;

  // Under mutex_. A thread the OS refuses leaves fewer helpers, not an error.
  void grow(const std::size_t wanted) noexcept {
    for (; threads_ < wanted; ++threads_) {
      try {
        // It starts from the generation before the job being posted, so it joins that job.
        std::thread([this, seen = generation_] { serve(seen); }).detach();
      } catch (const std::exception&) {
        return;
      }
    }
  }

  [[noreturn]] void serve(unsigned long long seen) noexcept {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      Job* const job = job_;
      if (job == nullptr || job->seats == 0) {
        continue;
      }
      --job->seats;
      ++job->running;
      lock.unlock();
      job->work();
      lock.lock();
      if (--job->running == 0) {
        done_.notify_all();
      }
    }
  }
};

std::atomic<Pool*> the_pool{nullptr};
std::atomic<std::size_t> thread_cap{0};

// The pool of this process, made at first need. A child of fork() has only the thread that
// forked: the parent's pool (its threads gone, its locks maybe held) is left alone, and the
// child makes its own.
Pool* pool() noexcept {
  Pool* current = the_pool.load(std::memory_order_acquire);
  for (;;) {
#if defined(CORE_HAS_FORK)
    const bool ours = current != nullptr && current->owner == getpid();
#else
    const bool ours = current != nullptr;
#endif
    if (ours) {
      return current;
    }
    Pool* const fresh = new (std::nothrow) Pool(current);
    if (fresh == nullptr) {
      return nullptr;
    }
    if (the_pool.compare_exchange_strong(current, fresh, std::memory_order_acq_rel)) {
      return fresh;
    }
    delete fresh;  // another thread made one first: `current` is now that one
  }
}

std::size_t count_cpus() noexcept {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) {
      return static_cast<std::size_t>(count);
    }
  }
#endif
  const unsigned count = std::thread::hardware_concurrency();
  return count > 0 ? count : 1;
}

}  // namespace

std::size_t available_cpus() noexcept {
  static const std::size_t count = count_cpus();
  return count;
}

std::size_t num_threads() noexcept {
  const std::size_t cap = thread_cap.load(std::memory_order_relaxed);
  return cap > 0 ? cap : available_cpus();
}

void set_num_threads(const std::size_t n) noexcept {
  thread_cap.store(n, std::memory_order_relaxed);
}

namespace detail {

void run_chunks(const std::size_t chunks, const ChunkTask task,
                const void* const context) noexcept {
  const std::size_t threads = std::min(num_threads(), chunks);
  Job job(task, context, chunks, 0);
  Pool* const shared = threads > 1 ? pool() : nullptr;
  if (shared == nullptr) {
    job.work();
    return;
  }
  shared->run(job, threads - 1);
}

}  // namespace detail
}  // namespace core
