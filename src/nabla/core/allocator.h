// Caching allocator: 64-byte aligned blocks kept in size-class free lists, so a training step
// that allocates the same sizes every step stops calling malloc after the first one.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nabla {

struct AllocatorStats {
  uint64_t allocations = 0;   // calls to allocate()
  uint64_t cache_hits = 0;    // served from a free list
  uint64_t bytes_in_use = 0;  // handed out and not yet returned
  uint64_t peak_bytes_in_use = 0;
  uint64_t bytes_cached = 0;  // held in free lists
};

class CachingAllocator {
 public:
  static CachingAllocator& instance();

  void* allocate(size_t nbytes);
  void deallocate(void* ptr, size_t nbytes);
  AllocatorStats stats() const;
  void release_cached();  // return every cached block to the system
  // Free lists never hold more than this; beyond it blocks go straight back to the system.
  void set_cache_limit(size_t bytes);

  static size_t size_class(size_t nbytes);
};

// Scratch memory for a kernel, from the caching allocator (so a step that needs the same scratch
// every time allocates nothing after the first) and uninitialised (a std::vector would zero it).
template <typename T>
class PooledBuffer {
 public:
  explicit PooledBuffer(size_t count)
      : bytes_(count * sizeof(T)), data_(static_cast<T*>(CachingAllocator::instance().allocate(bytes_))) {}
  ~PooledBuffer() { CachingAllocator::instance().deallocate(data_, bytes_); }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  T* data() const { return data_; }

 private:
  size_t bytes_;
  T* data_;
};

}  // namespace nabla
