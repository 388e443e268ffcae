#include "nabla/models/generation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"

namespace nabla::models {

namespace {

// Indices by descending score, equal scores by ascending index: a stable LSD radix sort on the
// floats' bits made order-preserving (50,257 scores in about a tenth of a comparison sort's time).
std::vector<int64_t> descending_order(const std::vector<float>& scores) {
  const size_t n = scores.size();
  std::vector<uint32_t> keys(n), keys_out(n);
  std::vector<int64_t> order(n), order_out(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &scores[i], 4);
    const uint32_t ascending = bits & 0x80000000u ? ~bits : bits | 0x80000000u;
    keys[i] = ~ascending;  // descending
    order[i] = int64_t(i);
  }
  for (int shift = 0; shift < 32; shift += 8) {
    size_t count[257] = {};
    for (uint32_t k : keys) ++count[((k >> shift) & 0xFF) + 1];
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (size_t i = 0; i < n; ++i) {
      const size_t at = count[(keys[i] >> shift) & 0xFF]++;
      keys_out[at] = keys[i];
      order_out[at] = order[i];
    }
    keys.swap(keys_out);
    order.swap(order_out);
  }
  return order;
}

}  // namespace

int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen) {
  NABLA_CHECK(logits.dim() == 1 && logits.numel() > 0, "sample_token: logits must be [vocab], got ", logits.shape());
  NABLA_CHECK(options.temperature >= 0 && std::isfinite(options.temperature),
              "sampling: temperature must be >= 0, got ", options.temperature);
  NABLA_CHECK(options.top_k >= 0, "sampling: top_k must be >= 0, got ", options.top_k);
  NABLA_CHECK(options.top_p > 0 && options.top_p <= 1, "sampling: top_p must be in (0, 1], got ", options.top_p);
  std::vector<float> scores = logits.to(DType::f32).to_vector<float>();
  if (options.vocab_limit > 0 && options.vocab_limit < int64_t(scores.size()))
    scores.resize(size_t(options.vocab_limit));
  const int64_t vocab = int64_t(scores.size());
  for (float s : scores) NABLA_CHECK(!std::isnan(s), "sampling: the model produced NaN logits");
  if (options.temperature == 0) return std::max_element(scores.begin(), scores.end()) - scores.begin();

  // Candidates sorted by score, cut to top-k, then to the nucleus.
  const int64_t keep = options.top_k > 0 ? std::min(options.top_k, vocab) : vocab;
  std::vector<int64_t> order;
  if (keep * 16 < vocab) {  // a few candidates: a partial sort
    order.resize(static_cast<size_t>(vocab));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), [&](int64_t a, int64_t b) {
      return scores[size_t(a)] > scores[size_t(b)] || (scores[size_t(a)] == scores[size_t(b)] && a < b);
    });
    order.resize(size_t(keep));
  } else {  // most of the vocabulary (top-p, plain sampling): a radix sort, linear in its size
    order = descending_order(scores);
    order.resize(size_t(keep));
  }
  std::vector<double> probs(order.size());
  const double top = scores[order[0]];
  double total = 0;
  for (size_t i = 0; i < order.size(); ++i)
    total += probs[i] = std::exp((scores[order[i]] - top) / options.temperature);
  size_t nucleus = order.size();
  if (options.top_p < 1) {
    double mass = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      mass += probs[i] / total;
      if (mass >= options.top_p) {
        nucleus = i + 1;
        break;
      }
    }
    total = std::accumulate(probs.begin(), probs.begin() + nucleus, 0.0);
  }
  double u = gen.uniform_double() * total;
  for (size_t i = 0; i < nucleus; ++i) {
    u -= probs[i];
    if (u < 0) return order[i];
  }
  return order[nucleus - 1];
}

std::vector<int64_t> generate(LanguageModel& model, const std::vector<int64_t>& prompt, int64_t count,
                              const SamplingOptions& options, Generator& gen,
                              const std::function<void(int64_t)>& on_token) {
  NABLA_CHECK(!prompt.empty(), "generate: the prompt must hold at least one token");
  NABLA_CHECK(count >= 0, "generate: the number of tokens must be >= 0, got ", count);
  for (int64_t id : prompt)
    NABLA_CHECK(id >= 0 && id < model.vocab_size(), "generate: prompt token ", id, " is outside the vocabulary of ",
                model.vocab_size());
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t context = model.context_length();
  std::vector<int64_t> history = prompt, produced;
  DecodeState state;
  // Feeds the last `n` tokens of history into a fresh state.
  auto refill = [&](size_t n) {
    state = DecodeState();
    std::vector<int64_t> window(history.end() - int64_t(n), history.end());
    return model.decode(tensor_i64(window, {1, int64_t(window.size())}), state);
  };
  Tensor logits = refill(context > 0 ? std::min(history.size(), size_t(context)) : history.size());
  for (int64_t i = 0; i < count; ++i) {
    const int64_t next = sample_token(logits.reshape({-1}), options, gen);
    produced.push_back(next);
    history.push_back(next);
    if (on_token) on_token(next);
    if (i + 1 == count) break;
    if (context > 0 && state.length >= context)
      logits = refill(size_t(std::max<int64_t>(1, context * 3 / 4)));
    else
      logits = model.decode(tensor_i64({next}, {1, 1}), state);
  }
  model.train(was_training);
  return produced;
}

std::vector<std::vector<int64_t>> generate_batch(LanguageModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                 int64_t count, const SamplingOptions& options, Generator& gen) {
  NABLA_CHECK(!prompts.empty() && !prompts[0].empty(), "generate_batch: needs at least one non-empty prompt");
  const size_t length = prompts[0].size();
  std::vector<int64_t> flat;
  for (const auto& p : prompts) {
    NABLA_CHECK(p.size() == length, "generate_batch: prompts must have equal lengths, got ", length, " and ", p.size());
    for (int64_t id : p)
      NABLA_CHECK(id >= 0 && id < model.vocab_size(), "generate_batch: prompt token ", id,
                  " is outside the vocabulary of ", model.vocab_size());
    flat.insert(flat.end(), p.begin(), p.end());
  }
  const int64_t rows = int64_t(prompts.size()), context = model.context_length();
  NABLA_CHECK(context == 0 || int64_t(length) + count <= context, "generate_batch: ", length, " prompt tokens and ",
              count, " new ones exceed the model's context of ", context);
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  DecodeState state;
  Tensor logits = model.decode(tensor_i64(flat, {rows, int64_t(length)}), state);  // [rows, vocab]
  std::vector<std::vector<int64_t>> produced(static_cast<size_t>(rows));
  std::vector<int64_t> next(static_cast<size_t>(rows));
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      next[size_t(r)] = sample_token(logits.select(0, r), options, gen);
      produced[size_t(r)].push_back(next[size_t(r)]);
    }
    if (i + 1 < count) logits = model.decode(tensor_i64(next, {rows, 1}), state);
  }
  if (was_training) model.train();
  return produced;
}

}  // namespace nabla::models
