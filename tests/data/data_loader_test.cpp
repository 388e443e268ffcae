// DataLoader: seeded shuffling, drop_last, prefetch giving the same batches, errors from the
// worker, shutdown mid-epoch; the transforms; language-model and sequence-classification datasets.
#include "nabla/data/data_loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/data/text_datasets.h"

using namespace nabla;
using data::Batch;
using data::DataLoader;
using data::DataLoaderOptions;

namespace {

std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  // x = the sample index as f32 [n, 2] (i, -i); y = i.
  std::vector<float> x(size_t(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    x[size_t(2 * i)] = float(i);
    x[size_t(2 * i + 1)] = -float(i);
  }
  return std::make_shared<data::TensorDataset>(tensor(x, {n, 2}), arange(n));
}

std::vector<std::vector<int64_t>> epoch_labels(DataLoader& loader, int64_t epoch) {
  std::vector<std::vector<int64_t>> out;
  for (Batch& b : loader.epoch(epoch)) out.push_back(b.y.to_vector<int64_t>());
  return out;
}

// A dataset that records which thread built its batches and can fail or be slow on request.
class Probe : public data::Dataset {
 public:
  explicit Probe(bool prefetchable, int64_t fail_at = -1, int delay_ms = 0)
      : prefetchable_(prefetchable), fail_at_(fail_at), delay_ms_(delay_ms) {}
  int64_t size() const override { return 40; }
  bool can_prefetch() const override { return prefetchable_; }
  std::pair<Tensor, Tensor> batch(const Tensor& indices) const override {
    if (delay_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    if (std::this_thread::get_id() != caller_) ++off_thread_;
    ++built_;
    if (indices.at<int64_t>({0}) == fail_at_) fail("Probe: sample ", fail_at_, " is corrupt");
    return {indices.to(DType::f32), indices};
  }
  mutable std::atomic<int> built_{0}, off_thread_{0};

 private:
  bool prefetchable_;
  int64_t fail_at_;
  int delay_ms_;
  std::thread::id caller_ = std::this_thread::get_id();
};

}  // namespace

TEST(DataLoader, InOrderBatchesAndDropLast) {
  DataLoader loader(numbered(10), {.batch_size = 4});
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  EXPECT_EQ(epoch_labels(loader, 0), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  DataLoader dropping(numbered(10), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(dropping.batches_per_epoch(), 2);
  EXPECT_EQ(epoch_labels(dropping, 0), (std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  // x follows y: the dataset's rows stay paired.
  dropping.start_epoch(0);
  Batch b = *dropping.next();
  EXPECT_EQ(b.x.shape(), Shape({4, 2}));
  EXPECT_EQ(b.x.at<float>({3, 1}), -3.0f);
  EXPECT_EQ(b.size(), 4);
}

TEST(DataLoader, ShuffleIsSeededPerEpoch) {
  auto dataset = numbered(100);
  DataLoader a(dataset, {.batch_size = 16, .shuffle = true, .seed = 7});
  DataLoader b(dataset, {.batch_size = 16, .shuffle = true, .seed = 7, .prefetch = false});
  DataLoader c(dataset, {.batch_size = 16, .shuffle = true, .seed = 8});
  const auto a0 = epoch_labels(a, 0), a1 = epoch_labels(a, 1);
  EXPECT_EQ(a0, epoch_labels(b, 0));  // same seed, same batches, with or without prefetch
  EXPECT_EQ(a1, epoch_labels(b, 1));
  EXPECT_NE(a0, a1);                  // epochs differ
  EXPECT_NE(a0, epoch_labels(c, 0));  // seeds differ
  // Epoch e uses seed + e: loader c's epoch 0 is loader a's epoch 1.
  EXPECT_EQ(epoch_labels(c, 0), a1);
  // Each epoch is a permutation.
  std::vector<int64_t> seen;
  for (const auto& batch : a0) seen.insert(seen.end(), batch.begin(), batch.end());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, arange(100).to_vector<int64_t>());
  // Re-running an epoch repeats it exactly.
  EXPECT_EQ(epoch_labels(a, 0), a0);
}

TEST(DataLoader, PrefetchBuildsOffThreadOnlyWhenTheDatasetAllows) {
  auto safe = std::make_shared<Probe>(true), unsafe = std::make_shared<Probe>(false);
  DataLoader fast(safe, {.batch_size = 4}), careful(unsafe, {.batch_size = 4});
  EXPECT_TRUE(fast.prefetching());
  EXPECT_FALSE(careful.prefetching());
  EXPECT_EQ(epoch_labels(fast, 0), epoch_labels(careful, 0));
  EXPECT_EQ(safe->off_thread_.load(), 10);
  EXPECT_EQ(unsafe->off_thread_.load(), 0);
}

TEST(DataLoader, PrefetchOverlapsTheNextBatchWithTheCallersWork) {
  // Each batch takes 20 ms to build and each "training step" 20 ms: with prefetch the two overlap.
  auto slow = std::make_shared<Probe>(true, -1, 20);
  DataLoader loader(slow, {.batch_size = 4});
  const auto start = std::chrono::steady_clock::now();
  for (Batch& b : loader.epoch(0)) {
    (void)b;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 330) << "10 batches of 20 ms build + 20 ms work took " << ms << " ms (serial would be 400)";
}

TEST(DataLoader, WorkerErrorsAreRethrownForTheirBatch) {
  auto failing = std::make_shared<Probe>(true, /*fail_at=*/8);
  DataLoader loader(failing, {.batch_size = 4});
  loader.start_epoch(0);
  EXPECT_EQ(loader.next()->y.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(loader.next()->y.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));
  try {
    loader.next();
    FAIL() << "expected the worker's error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 8 is corrupt"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(loader.next().has_value());  // the epoch ended with its error
  // The next epoch starts cleanly and fails at the same place.
  loader.start_epoch(1);
  EXPECT_TRUE(loader.next().has_value());
}

TEST(DataLoader, DestructionMidEpochJoinsCleanly) {
  auto slow = std::make_shared<Probe>(true, -1, 5);
  {
    DataLoader loader(slow, {.batch_size = 2, .prefetch_depth = 3});
    loader.start_epoch(0);
    loader.next();
  }  // the worker is still building; the destructor must stop and join it
  const int built = slow->built_.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(slow->built_.load(), built);  // nothing runs after destruction
  EXPECT_LT(built, 20);
  // Restarting epochs mid-way drops the stale batches.
  DataLoader loader(numbered(12), {.batch_size = 4});
  loader.start_epoch(0);
  loader.next();
  EXPECT_EQ(epoch_labels(loader, 5)[0], (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(DataLoader, ExplicitOrderAndBadArguments) {
  DataLoader loader(numbered(6), {.batch_size = 4});
  loader.start_epoch(0, tensor_i64({5, 3, 1}));
  EXPECT_EQ(loader.next()->y.to_vector<int64_t>(), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_FALSE(loader.next().has_value());
  EXPECT_THROW(loader.start_epoch(0, tensor({1.0f})), Error);
  EXPECT_THROW(DataLoader(numbered(3), {.batch_size = 0}), Error);
  DataLoader unstarted(numbered(3));
  EXPECT_THROW(unstarted.next(), Error);
}

TEST(Transforms, NormalizeAndOneHot) {
  auto images =
      std::make_shared<data::TensorDataset>(tensor({1, 3, 5, 7, 2, 4, 6, 8}, {2, 2, 1, 2}), tensor_i64({2, 0}));
  DataLoader loader(images, {.batch_size = 2, .transforms = {data::normalize({1, 5}, {2, 1}), data::one_hot(3)}});
  loader.start_epoch(0);
  Batch b = *loader.next();
  // Channel 0 is (v - 1) / 2, channel 1 is v - 5.
  EXPECT_EQ(b.x.to_vector<float>(), (std::vector<float>{0, 1, 0, 2, 0.5f, 1.5f, 1, 3}));
  EXPECT_EQ(b.y.shape(), Shape({2, 3}));
  EXPECT_EQ(b.y.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0}));
  // The dataset's own tensors are untouched.
  EXPECT_EQ(images->x().at<float>({0, 0, 0, 0}), 1.0f);

  DataLoader bad(std::make_shared<data::TensorDataset>(zeros({2, 1}), tensor_i64({0, 5})),
                 {.batch_size = 2, .transforms = {data::one_hot(3)}});
  bad.start_epoch(0);
  EXPECT_THROW(bad.next(), Error);
}

TEST(Transforms, RandomCropAndFlipAreSeededAndIndependentOfPrefetch) {
  const int64_t n = 64;
  auto images = std::make_shared<data::TensorDataset>(randn({n, 2, 6, 5}), arange(n));
  auto make = [&](uint64_t seed, bool prefetch) {
    return std::make_unique<DataLoader>(
        images, DataLoaderOptions{.batch_size = 8,
                                  .shuffle = true,
                                  .seed = seed,
                                  .prefetch = prefetch,
                                  .transforms = {data::random_crop(2), data::random_horizontal_flip()}});
  };
  auto a = make(3, true), b = make(3, false), c = make(4, true);
  std::vector<float> xa, xb, xc, xa_next_epoch;
  for (Batch& batch : a->epoch(0)) {
    auto v = batch.x.to_vector<float>();
    xa.insert(xa.end(), v.begin(), v.end());
  }
  for (Batch& batch : b->epoch(0)) {
    auto v = batch.x.to_vector<float>();
    xb.insert(xb.end(), v.begin(), v.end());
  }
  for (Batch& batch : c->epoch(0)) {
    auto v = batch.x.to_vector<float>();
    xc.insert(xc.end(), v.begin(), v.end());
  }
  for (Batch& batch : a->epoch(1)) {
    auto v = batch.x.to_vector<float>();
    xa_next_epoch.insert(xa_next_epoch.end(), v.begin(), v.end());
  }
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
  EXPECT_NE(xa, xa_next_epoch);
}

TEST(Transforms, CropShiftsWithZeroFillAndFlipMirrors) {
  // A 1x1x3x3 image 1..9; with padding 1 every crop is a shift by -1, 0 or +1 in each direction.
  Tensor image = tensor({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  int shifted = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Batch b{image, tensor_i64({0}), tensor_i64({0})};
    Generator gen(seed);
    data::random_crop(1)(b, gen);
    const auto v = b.x.to_vector<float>();
    // The centre pixel (5) survives any shift of at most one, somewhere in the 3x3 window.
    EXPECT_NE(std::find(v.begin(), v.end(), 5.0f), v.end());
    shifted += v != image.to_vector<float>();
  }
  EXPECT_GT(shifted, 10);  // 8 of 9 offsets move the image
  // A fill value (a standardised black) takes the border's place: every value is the image's or -2.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Batch filled{image, tensor_i64({0}), tensor_i64({0})};
    Generator fill_gen(seed);
    data::random_crop(1, -2.0f)(filled, fill_gen);
    for (float v : filled.x.to_vector<float>()) EXPECT_TRUE(v == -2.0f || (v >= 1 && v <= 9)) << v;
  }
  Batch b{image, tensor_i64({0}), tensor_i64({0})};
  Generator gen(0);
  data::random_horizontal_flip(1.0)(b, gen);
  EXPECT_EQ(b.x.to_vector<float>(), (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7}));
  Batch flat{zeros({2, 3}), tensor_i64({0, 1}), tensor_i64({0, 1})};
  EXPECT_THROW(data::random_crop(1)(flat, gen), Error);
}

TEST(TextDatasets, LanguageModelWindowsPredictTheNextToken) {
  std::vector<int64_t> tokens(23);
  for (int64_t i = 0; i < 23; ++i) tokens[size_t(i)] = 100 + i;
  data::LanguageModelDataset windows(tokens, /*seq_len=*/5);  // stride = seq_len
  EXPECT_EQ(windows.size(), 4);                               // starts 0, 5, 10, 15 (15 + 5 + 1 <= 23)
  auto [x, y] = windows.batch(tensor_i64({3, 0}));
  EXPECT_EQ(x.shape(), Shape({2, 5}));
  EXPECT_EQ(x.dtype(), DType::i64);
  EXPECT_EQ(x.to_vector<int64_t>(), (std::vector<int64_t>{115, 116, 117, 118, 119, 100, 101, 102, 103, 104}));
  EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{116, 117, 118, 119, 120, 101, 102, 103, 104, 105}));
  data::LanguageModelDataset overlapping(tokens, 5, /*stride=*/1);
  EXPECT_EQ(overlapping.size(), 18);
  EXPECT_THROW(windows.batch(tensor_i64({4})), Error);
  EXPECT_THROW(data::LanguageModelDataset(std::vector<int64_t>{1, 2, 3}, 5), Error);
  // Through the loader, shuffled and prefetched.
  DataLoader loader(std::make_shared<data::LanguageModelDataset>(tokens, 5, 1),
                    {.batch_size = 4, .shuffle = true, .seed = 1, .drop_last = true});
  int batches = 0;
  for (Batch& b : loader.epoch(0)) {
    EXPECT_EQ(b.x.shape(), Shape({4, 5}));
    const auto xs = b.x.to_vector<int64_t>(), ys = b.y.to_vector<int64_t>();
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(ys[i], xs[i] + 1);
    ++batches;
  }
  EXPECT_EQ(batches, 4);
}

TEST(TextDatasets, SequencesArePaddedOrTruncatedToMaxLen) {
  std::vector<std::vector<int64_t>> seqs = {{5, 6, 7, 8, 9}, {3}, {}};
  data::SequenceClassificationDataset end(seqs, tensor_i64({1, 0, 1}), /*max_len=*/3);
  auto [x, y] = end.batch(arange(3));
  EXPECT_EQ(x.to_vector<int64_t>(), (std::vector<int64_t>{5, 6, 7, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));
  data::SequenceClassificationDataset start(seqs, tensor({1, 0, 1}), 3, /*pad_id=*/-1, data::Padding::start);
  auto [xs, ys] = start.batch(tensor_i64({1, 0}));
  EXPECT_EQ(xs.to_vector<int64_t>(), (std::vector<int64_t>{-1, -1, 3, 5, 6, 7}));
  EXPECT_EQ(ys.dtype(), DType::f32);
  EXPECT_THROW(data::SequenceClassificationDataset(seqs, tensor_i64({1, 0}), 3), Error);
}

// Data-parallel sharding: every rank takes the same number of steps; over an epoch the ranks'
// real samples are each sample exactly once; each step's global batch is what one process with
// batch_size x ranks would take; a rank left without a sample gets a placeholder.
TEST(DataLoaderSharding, RanksCoverEachSampleOnceInLockstep) {
  for (int64_t replicas : {2, 3, 4}) {
    for (int64_t n : {96, 103, 97}) {
      auto data = numbered(n);
      DataLoader whole(data, {.batch_size = 8 * replicas, .shuffle = true, .seed = 9});
      std::vector<std::vector<int64_t>> reference = epoch_labels(whole, 2);
      std::vector<int64_t> seen(size_t(n), 0);
      std::vector<std::vector<int64_t>> step_union(reference.size());
      int placeholders = 0;
      for (int64_t r = 0; r < replicas; ++r) {
        DataLoader loader(data, {.batch_size = 8, .shuffle = true, .seed = 9, .num_replicas = replicas, .rank = r});
        EXPECT_EQ(loader.batches_per_epoch(), whole.batches_per_epoch());
        int64_t step = 0;
        for (Batch& b : loader.epoch(2)) {
          ASSERT_LT(step, int64_t(reference.size()));
          EXPECT_EQ(b.global_size, int64_t(reference[size_t(step)].size()));
          EXPECT_LE(b.size(), 8);
          if (b.placeholder) {
            ++placeholders;
            EXPECT_EQ(b.real_size(), 0);
            EXPECT_EQ(b.size(), 1);
          } else {
            for (int64_t label : b.y.to_vector<int64_t>()) {
              seen[size_t(label)]++;
              step_union[size_t(step)].push_back(label);
            }
          }
          ++step;
        }
        EXPECT_EQ(step, int64_t(reference.size())) << "every rank takes the same number of steps";
      }
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[size_t(i)], 1) << "sample " << i << ", " << replicas << " ranks";
      for (size_t s = 0; s < reference.size(); ++s) {
        std::sort(step_union[s].begin(), step_union[s].end());
        std::sort(reference[s].begin(), reference[s].end());
        EXPECT_EQ(step_union[s], reference[s]) << "step " << s;
      }
      const int64_t last = n % (8 * replicas);
      EXPECT_EQ(placeholders, last > 0 && last < replicas ? replicas - last : 0) << n << " samples, " << replicas;
    }
  }
  EXPECT_THROW(DataLoader(numbered(4), {.num_replicas = 2, .rank = 2}), Error);
}
