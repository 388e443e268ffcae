// Storage: a reference-counted byte buffer shared by a tensor and all its views. It also carries
// the version counter that autograd uses to catch in-place changes to saved tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "nabla/core/allocator.h"

namespace nabla {

class Storage {
 public:
  // Owned memory from the caching allocator.
  explicit Storage(size_t nbytes) : nbytes_(nbytes), data_(CachingAllocator::instance().allocate(nbytes)) {}
  // Borrowed memory (e.g. a memory-mapped file); `release` runs when the last view dies.
  Storage(void* data, size_t nbytes, std::function<void()> release)
      : nbytes_(nbytes), data_(data), release_(std::move(release)) {}
  ~Storage() {
    if (release_)
      release_();
    else
      CachingAllocator::instance().deallocate(data_, nbytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  size_t nbytes_;
  void* data_;
  std::function<void()> release_;
  uint64_t version_ = 0;
};

}  // namespace nabla
