#include "nabla/data/masked_lm.h"

#include "nabla/core/creation.h"
#include "nabla/core/error.h"

namespace nabla::data {

MaskedLMTokens masked_lm_tokens(const Tokenizer& tokenizer) {
  MaskedLMTokens t;
  for (int64_t id = 0, n = tokenizer.vocab_size(); id < n; ++id) {
    const std::string token = tokenizer.token(id);
    if (token == "[PAD]" && t.pad < 0) t.pad = id;
    if (token == "[CLS]" && t.cls < 0) t.cls = id;
    if (token == "[SEP]" && t.sep < 0) t.sep = id;
    if (token == "[MASK]" && t.mask < 0) t.mask = id;
  }
  std::string missing;
  for (const auto& [name, id] : {std::pair{"[PAD]", t.pad}, {"[CLS]", t.cls}, {"[SEP]", t.sep}, {"[MASK]", t.mask}})
    if (id < 0) missing += std::string(missing.empty() ? "" : ", ") + name;
  NABLA_CHECK(missing.empty(), "masked-LM data needs BERT's special tokens, but the ", tokenizer.type(),
              " tokenizer has no ", missing,
              "; use a sentencepiece tokenizer with \"special_tokens\": true, or an imported BERT's WordPiece");
  return t;
}

std::pair<Tensor, Tensor> mask_tokens(const Tensor& ids, const MaskingOptions& o, Generator& gen) {
  NABLA_CHECK(ids.dtype() == DType::i64, "mask_tokens: ids must be i64, got ", dtype_name(ids.dtype()));
  NABLA_CHECK(o.vocab_size > 0 && o.tokens.mask >= 0 && o.tokens.mask < o.vocab_size,
              "mask_tokens: needs the vocabulary size and the [MASK] id inside it");
  Tensor inputs = ids.contiguous().clone(), labels = Tensor::empty(ids.shape(), DType::i64);
  int64_t* x = inputs.data<int64_t>();
  int64_t* y = labels.data<int64_t>();
  const MaskedLMTokens& s = o.tokens;
  for (int64_t i = 0, n = inputs.numel(); i < n; ++i) {
    const int64_t id = x[i];
    const bool special = id == s.pad || id == s.cls || id == s.sep || id == s.mask;
    if (special || gen.uniform_double() >= o.probability) {
      y[i] = -100;
      continue;
    }
    y[i] = id;
    const double action = gen.uniform_double();
    if (action < o.mask_fraction)
      x[i] = s.mask;
    else if (action < o.mask_fraction + o.random_fraction)
      x[i] = gen.randint(0, o.vocab_size);
  }
  return {inputs, labels};
}

BatchTransform masked_lm(MaskingOptions options) {
  return [options](Batch& batch, Generator& gen) {
    auto [inputs, labels] = mask_tokens(batch.x, options, gen);
    batch.x = inputs;
    batch.y = labels;
  };
}

Tensor masked_lm_windows(const std::vector<int64_t>& stream, int64_t seq_len, const MaskedLMTokens& tokens) {
  NABLA_CHECK(seq_len >= 3, "masked-LM windows need seq_len >= 3 ([CLS], a token, [SEP]), got ", seq_len);
  const int64_t body = seq_len - 2, windows = int64_t(stream.size()) / body;
  std::vector<int64_t> out;
  out.reserve(size_t(windows * seq_len));
  for (int64_t w = 0; w < windows; ++w) {
    out.push_back(tokens.cls);
    out.insert(out.end(), stream.begin() + w * body, stream.begin() + (w + 1) * body);
    out.push_back(tokens.sep);
  }
  return tensor_i64(out, {windows, seq_len});
}

}  // namespace nabla::data
