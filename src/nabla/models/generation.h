// Sampling text from a LanguageModel: temperature, top-k and nucleus (top-p) filtering, streaming
// each token as it is chosen. Decoding is incremental (KV cache / recurrent state).
#pragma once
#include <functional>
#include <vector>

#include "nabla/core/random.h"
#include "nabla/models/language_model.h"

namespace nabla::models {

struct SamplingOptions {
  double temperature = 1.0;  // 0 = greedy (always the most likely token)
  int64_t top_k = 0;         // > 0 keeps only the k most likely tokens
  double top_p = 1.0;        // < 1 keeps the smallest set of tokens whose probability reaches top_p
  int64_t vocab_limit = 0;   // > 0 samples only ids below it (a tokenizer smaller than a padded embedding)
};

// Draws one token id from logits f32 [vocab].
int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen);

// Appends `count` sampled tokens to `prompt` (non-empty), calling on_token(id) for each as soon as
// it is chosen, and returns the new tokens. Once a model with a bounded context is full, the
// cache restarts from the last 3/4 of the context (a sliding window recomputed every quarter).
std::vector<int64_t> generate(LanguageModel& model, const std::vector<int64_t>& prompt, int64_t count,
                              const SamplingOptions& options, Generator& gen,
                              const std::function<void(int64_t)>& on_token = {});

// Batched: every row of `prompts` (equal lengths) continued by `count` tokens in one KV-cached
// pass per step, as transformers' generate(batch); rows sample independently. The prompt and the
// new tokens must fit the model's context. Returns the new tokens per row.
std::vector<std::vector<int64_t>> generate_batch(LanguageModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                                 int64_t count, const SamplingOptions& options, Generator& gen);

}  // namespace nabla::models
