// The caching allocator reuses blocks of the same size class instead of calling malloc.
#include <gtest/gtest.h>

#include <cstdint>

#include "nabla/nabla.h"

using namespace nabla;

TEST(CachingAllocator, ReusesFreedBlocksAndAligns) {
  auto& alloc = CachingAllocator::instance();
  void* p = alloc.allocate(1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  alloc.deallocate(p, 1000);
  auto before = alloc.stats();
  void* q = alloc.allocate(1000);
  EXPECT_EQ(q, p);
  EXPECT_EQ(alloc.stats().cache_hits, before.cache_hits + 1);
  alloc.deallocate(q, 1000);
}

TEST(CachingAllocator, SizeClassesWasteAtMostAQuarter) {
  for (size_t n : {size_t(1), size_t(65), size_t(4097), size_t(100000), size_t(123456789)}) {
    size_t cls = CachingAllocator::size_class(n);
    EXPECT_GE(cls, n);
    EXPECT_LE(double(cls), double(n) * 1.25 + 64);
  }
}

TEST(CachingAllocator, TrainingStepPatternStopsAllocating) {
  auto step = [] {
    Tensor a = randn({64, 32}), b = randn({32, 16});
    Tensor c = relu(matmul(a, b));
    return sum(c).item();
  };
  step();
  auto before = CachingAllocator::instance().stats();
  step();
  auto after = CachingAllocator::instance().stats();
  EXPECT_EQ(after.allocations - before.allocations, after.cache_hits - before.cache_hits);
}
