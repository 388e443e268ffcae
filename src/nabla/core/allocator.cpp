#include "nabla/core/allocator.h"

#include <sys/mman.h>

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace nabla {
namespace {

constexpr size_t kAlignment = 64;
// Large blocks go on 2 MiB pages: with 4 KiB pages a 25 MB activation needs thousands of TLB
// entries and streaming kernels stall on page walks (the kernel's THP mode here is "madvise").
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugePageThreshold = size_t(4) << 20;

void* system_allocate(size_t cls) {
  if (cls < kHugePageThreshold) return std::aligned_alloc(kAlignment, cls);
  const size_t rounded = (cls + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p) ::madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure just means small pages
  return p;
}

struct State {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  AllocatorStats stats;
  size_t cache_limit = size_t(8) << 30;
};

State& state() {
  static State* s = new State();  // never destroyed: tensors may outlive static destruction order
  return *s;
}

}  // namespace

CachingAllocator& CachingAllocator::instance() {
  static CachingAllocator allocator;
  return allocator;
}

// Four classes per power of two above 4 KiB (at most 25% waste), 64-byte steps below.
size_t CachingAllocator::size_class(size_t nbytes) {
  if (nbytes <= 4096) return (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t top = std::bit_floor(nbytes);
  size_t step = top / 4;
  return (nbytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t nbytes) {
  size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    s.stats.allocations++;
    s.stats.bytes_in_use += cls;
    if (s.stats.bytes_in_use > s.stats.peak_bytes_in_use) s.stats.peak_bytes_in_use = s.stats.bytes_in_use;
    auto it = s.free_lists.find(cls);
    if (it != s.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      s.stats.cache_hits++;
      s.stats.bytes_cached -= cls;
      return p;
    }
  }
  void* p = system_allocate(cls);
  if (!p) {
    release_cached();
    p = system_allocate(cls);
  }
  if (!p) throw std::bad_alloc();
  return p;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    s.stats.bytes_in_use -= cls;
    if (s.stats.bytes_cached + cls <= s.cache_limit) {
      s.free_lists[cls].push_back(ptr);
      s.stats.bytes_cached += cls;
      return;
    }
  }
  std::free(ptr);
}

AllocatorStats CachingAllocator::stats() const {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.stats;
}

void CachingAllocator::release_cached() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  for (auto& [cls, blocks] : s.free_lists)
    for (void* p : blocks) std::free(p);
  s.free_lists.clear();
  s.stats.bytes_cached = 0;
}

void CachingAllocator::set_cache_limit(size_t bytes) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.cache_limit = bytes;
}

}  // namespace nabla
