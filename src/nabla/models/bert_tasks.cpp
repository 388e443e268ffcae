#include "nabla/models/bert_tasks.h"

#include <algorithm>
#include <numeric>

#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/data/masked_lm.h"
#include "nabla/ops/activation.h"

namespace nabla::models {
namespace {

Tensor model_input(const std::vector<int64_t>& ids, const Bert& model) {
  NABLA_CHECK(int64_t(ids.size()) <= model.config.max_position_embeddings, "the text makes ", ids.size(),
              " tokens with [CLS] and [SEP], more than the model's ", model.config.max_position_embeddings,
              " positions; shorten it");
  return tensor_i64(ids, {1, int64_t(ids.size())});
}

}  // namespace

std::vector<MaskFill> fill_mask(Bert& model, const data::Tokenizer& tokenizer, const std::string& text, int64_t top_k) {
  NABLA_CHECK(model.config.head == "mlm", "fill_mask needs a masked-LM BERT (BertForMaskedLM), this one has head \"",
              model.config.head, "\"");
  // [CLS] text [SEP]: WordPiece's own way (its spec names the special tokens), else by BERT's names.
  data::WordPieceTokenizer::Encoding encoding;
  int64_t mask = 0;
  std::string mask_token = "[MASK]";
  if (const auto* wordpiece = dynamic_cast<const data::WordPieceTokenizer*>(&tokenizer)) {
    mask_token = wordpiece->spec().mask_token;
    mask = wordpiece->id_of(mask_token);
    encoding = wordpiece->encode_for_model(text);
  } else {
    const data::MaskedLMTokens specials = data::masked_lm_tokens(tokenizer);
    mask = specials.mask;
    encoding.ids = {specials.cls};
    for (int64_t id : tokenizer.encode(text)) encoding.ids.push_back(id);
    encoding.ids.push_back(specials.sep);
    encoding.token_types.assign(encoding.ids.size(), 0);
  }
  std::vector<MaskFill> fills;
  for (size_t i = 0; i < encoding.ids.size(); ++i)
    if (encoding.ids[i] == mask) fills.push_back({int64_t(i), {}});
  NABLA_CHECK(!fills.empty(), "no ", mask_token, " in \"", text, "\"; put ", mask_token,
              " where a word should be filled in");
  NoGradGuard no_grad;
  const Tensor ids = model_input(encoding.ids, model);
  const Tensor probs = softmax(model.forward(ids, tensor_i64(encoding.token_types, ids.shape()), ones_like(ids)), -1);
  for (MaskFill& fill : fills) {
    const std::vector<float> p = probs.select(0, 0).select(0, fill.position).contiguous().to_vector<float>();
    std::vector<int64_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t k = size_t(std::min<int64_t>(top_k, int64_t(p.size())));
    std::partial_sort(order.begin(), order.begin() + long(k), order.end(), [&](int64_t a, int64_t b) {
      return p[size_t(a)] > p[size_t(b)] || (p[size_t(a)] == p[size_t(b)] && a < b);
    });
    for (size_t j = 0; j < k; ++j) fill.candidates.emplace_back(tokenizer.token(order[j]), p[size_t(order[j])]);
  }
  return fills;
}

std::vector<double> classify(Bert& model, const data::WordPieceTokenizer& tokenizer, const std::string& a,
                             const std::optional<std::string>& b) {
  NABLA_CHECK(model.config.head == "classifier", "classify needs a BERT sequence classifier, this one has head \"",
              model.config.head, "\"");
  const auto encoding = tokenizer.encode_for_model(a, b);
  NoGradGuard no_grad;
  const Tensor ids = model_input(encoding.ids, model);
  const Tensor probs = softmax(model.forward(ids, tensor_i64(encoding.token_types, ids.shape()), ones_like(ids)), -1);
  const std::vector<float> p = probs.select(0, 0).contiguous().to_vector<float>();
  return std::vector<double>(p.begin(), p.end());
}

}  // namespace nabla::models
