// The ranges of a run config's integer keys: generous for any real run, and small enough that
// products of them (epochs x steps x batch, tokens x width) stay far inside int64.
#pragma once
#include <cstdint>

namespace nabla::runs {

constexpr int64_t kMaxEpochs = 1'000'000;
constexpr int64_t kMaxBatch = int64_t(1) << 24;   // samples per step
constexpr int64_t kMaxSteps = 1'000'000'000;      // steps per epoch, accumulation, schedule periods
constexpr int64_t kMaxTokens = int64_t(1) << 30;  // tokens to generate, top_k
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxCount = 1'000'000'000;        // examples, sentences, word counts
constexpr int64_t kMaxSequence = int64_t(1) << 20;  // tokens per example

}  // namespace nabla::runs
