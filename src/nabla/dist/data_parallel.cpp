#include "nabla/dist/data_parallel.h"

#include <chrono>
#include <cstring>
#include <sstream>

#include "nabla/autograd/engine.h"
#include "nabla/autograd/grad_mode.h"
#include "nabla/core/creation.h"
#include "nabla/core/error.h"
#include "nabla/core/profiler.h"

namespace nabla::dist {

void check_same_on_all_ranks(const std::string& text, const std::string& what) {
  if (world_size() == 1) return;
  const std::vector<std::string> all = all_gather(text);
  for (size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    std::istringstream a(all[0]), b(all[r]);
    std::string line_a, line_b;
    while (true) {  // the first line that differs
      const bool more_a = bool(std::getline(a, line_a)), more_b = bool(std::getline(b, line_b));
      if (!more_a) line_a = "(nothing)";
      if (!more_b) line_b = "(nothing)";
      if (line_a != line_b || (!more_a && !more_b)) break;
    }
    fail(what, " differs between ranks: rank ", r, " has ", line_b, " where rank 0 has ", line_a,
         "; start every rank with the same arguments");
  }
}

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module,
                                                 DistributedDataParallelOptions options)
    : module_(std::move(module)), alive_(std::make_shared<bool>(true)) {
  NABLA_CHECK(module_ != nullptr, "DistributedDataParallel: the module is null");
  NABLA_CHECK(options.bucket_cap_mb > 0, "DistributedDataParallel: bucket_cap_mb must be positive, got ",
              options.bucket_cap_mb);
  const auto named = module_->named_parameters();
  const auto buffers = module_->named_buffers();
  std::ostringstream layout;
  for (const auto& [name, p] : named)
    layout << "parameter " << name << " " << p.shape() << " " << dtype_name(p.dtype()) << "\n";
  for (const auto& [name, b] : buffers)
    layout << "buffer " << name << " " << b.shape() << " " << dtype_name(b.dtype()) << "\n";
  check_same_on_all_ranks(layout.str(), "the model");
  if (world_size() == 1) return;  // nothing to synchronise: the module trains as it would alone

  {  // every rank starts from rank 0's values
    NoGradGuard no_grad;
    for (const auto& list : {named, buffers})
      for (const auto& [name, t] : list) {
        NABLA_CHECK(t.is_contiguous(), "DistributedDataParallel: ", name, " is not contiguous");
        Tensor view = t;
        broadcast(view, 0);
      }
  }

  // Buckets in reverse registration order: roughly the order backward produces gradients.
  for (const auto& [name, p] : named)
    if (p.requires_grad()) {
      NABLA_CHECK(p.dtype() == DType::f32, "DistributedDataParallel: parameter ", name, " is ", dtype_name(p.dtype()),
                  "; only f32 parameters are reduced");
      params_.push_back(p);
    }
  const int64_t cap = std::max<int64_t>(1, int64_t(options.bucket_cap_mb * 1024 * 1024 / 4));
  bucket_of_.resize(params_.size());
  ready_.assign(params_.size(), false);
  for (size_t i = params_.size(); i-- > 0;) {
    if (buckets_.empty() || (!buckets_.back().offsets.empty() && buckets_.back().offsets.back() >= cap))
      buckets_.emplace_back();
    Bucket& b = buckets_.back();
    const int64_t start = b.offsets.empty() ? 0 : b.offsets.back();
    if (b.params.empty()) b.offsets.push_back(0);
    b.params.push_back(i);
    b.offsets.push_back(start + params_[i].numel());
    bucket_of_[i] = buckets_.size() - 1;
  }
  for (Bucket& b : buckets_) b.flat = Tensor::empty({b.offsets.back()});

  for (size_t i = 0; i < params_.size(); ++i) {
    std::weak_ptr<bool> alive = alive_;
    params_[i].register_grad_hook([this, alive, i](const Tensor&) {
      if (alive.lock()) on_gradient_ready(i);
    });
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  alive_.reset();
  for (Bucket& b : buckets_) b.reduction.wait();
}

void DistributedDataParallel::set_sample_counts(int64_t local, int64_t global) {
  NABLA_CHECK(local >= 0 && global > 0 && local <= global,
              "set_sample_counts: need 0 <= local <= global and "
              "global > 0, got local ",
              local, ", global ", global);
  if (local * world_size() == global) {  // equal shares: a plain average
    pre_scale_ = 1;
    post_scale_ = 1.0f / float(world_size());
  } else {
    pre_scale_ = float(local);
    post_scale_ = 1.0f / float(global);
  }
}

void DistributedDataParallel::on_gradient_ready(size_t param) {
  if (!sync_) return;
  if (!step_pending_) {
    step_pending_ = true;
    autograd::queue_callback([this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock()) finish_step();
    });
  }
  Bucket& bucket = buckets_[bucket_of_[param]];
  if (ready_[param]) {  // a second gradient for it in this backward (nested backward passes)
    if (bucket.launched) bucket.stale = true;
    return;
  }
  ready_[param] = true;
  if (++bucket.ready == int64_t(bucket.params.size())) launch(bucket);
  for (Bucket& b : buckets_) b.reduction.test();  // let MPI progress earlier reductions meanwhile
}

void DistributedDataParallel::launch(Bucket& bucket) {
  NABLA_PROFILE_OP("ddp bucket pack + all-reduce start");
  float* flat = bucket.flat.data<float>();
  for (size_t k = 0; k < bucket.params.size(); ++k) {
    const Tensor grad = params_[bucket.params[k]].grad();
    float* dst = flat + bucket.offsets[k];
    const int64_t n = bucket.offsets[k + 1] - bucket.offsets[k];
    if (!grad.defined()) {  // not used this step (here): contributes zero
      std::memset(dst, 0, size_t(n) * sizeof(float));
      continue;
    }
    const Tensor g = grad.contiguous();
    const float* src = g.data<float>();
    if (pre_scale_ == 1.0f) {
      std::memcpy(dst, src, size_t(n) * sizeof(float));
    } else {
      for (int64_t j = 0; j < n; ++j) dst[j] = src[j] * pre_scale_;
    }
  }
  bucket.launched = true;
  bucket.reduction = PendingReduction(flat, bucket.flat.numel());
}

void DistributedDataParallel::finish_step() {
  step_pending_ = false;
  for (Bucket& b : buckets_)
    if (!b.launched) launch(b);  // parameters that got no gradient this step count as zero
  const auto start = std::chrono::steady_clock::now();
  {
    NABLA_PROFILE_OP("ddp all-reduce wait");
    for (Bucket& b : buckets_) {
      b.reduction.wait();
      if (b.stale) {  // a gradient changed after its bucket left: reduce the final values again
        b.launched = false;
        launch(b);
        b.reduction.wait();
      }
    }
  }
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  NoGradGuard no_grad;
  for (Bucket& b : buckets_) {
    const float* flat = b.flat.data<float>();
    for (size_t k = 0; k < b.params.size(); ++k) {
      Tensor& p = params_[b.params[k]];
      if (!p.grad().defined() || !p.grad().is_contiguous()) p.impl()->grad = zeros(p.shape()).impl_ptr();
      Tensor g = p.grad();
      float* dst = g.data<float>();
      const int64_t offset = b.offsets[k], n = b.offsets[k + 1] - offset;
      for (int64_t j = 0; j < n; ++j) dst[j] = flat[offset + j] * post_scale_;
    }
    b.ready = 0;
    b.launched = b.stale = false;
  }
  ready_.assign(ready_.size(), false);
}

}  // namespace nabla::dist
