// The data a run config names ("data": {"dataset": "fashion_mnist" | "kjv_testament" | "kjv_lm" |
// "text_lm" | "csv" | "inline", ...}): train / validation / test datasets, the tokenizer for
// text, class names, and the example shape the model is built for.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nabla/data/dataset.h"
#include "nabla/data/tokenizer.h"
#include "nabla/data/transforms.h"
#include "nabla/io/config.h"
#include "nabla/models/registry.h"

namespace nabla::runs {

struct TaskData {
  std::shared_ptr<const data::Dataset> train, validation, test;  // validation/test may be null
  models::DataShape shape;
  std::shared_ptr<const data::Tokenizer> tokenizer;  // text datasets only
  std::vector<std::string> class_names;
  std::string prompt;     // a sensible default prompt for language models
  Tensor predict_inputs;  // inputs the config asks to predict after training (inline data), or undefined
  // data.standardize: what the inputs were shifted and scaled by ((x - mean) / std), so predictions
  // on new inputs do the same.
  std::optional<double> input_mean, input_std;
  std::vector<data::BatchTransform> train_transforms;  // data.augment: random crops and flips, training only
};

// Reads data.* and loads the datasets. `tokenizer` (from a saved run) is reused instead of
// building a new one, so ids match the trained model.
TaskData load_task_data(io::ConfigReader& data, uint64_t seed, std::shared_ptr<const data::Tokenizer> tokenizer = {});

const std::vector<std::string>& dataset_names();

// The loss and metrics a run trains a model of this task with (train::make_loss names).
std::string loss_for(models::Task task);
std::vector<std::string> metrics_for(models::Task task);

}  // namespace nabla::runs
