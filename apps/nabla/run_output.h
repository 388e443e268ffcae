// What `train` and `eval` show after the numbers: plots, a confusion matrix, a generated sample.
#pragma once
#include <ostream>
#include <string>

#include "nabla/models/generation.h"
#include "nabla/runs/runs.h"

namespace nabla::cli {

// Writes the history plots into RUN_DIR/plots and lists them.
void write_history_plots(const std::string& run_dir, std::ostream& out);
// Classifiers: predictions on the test set -> RUN_DIR/plots/confusion_matrix.{png,svg}.
void write_confusion_matrix(runs::LoadedRun& run, const data::Dataset& test, const std::string& run_dir,
                            std::ostream& out);
// Language models: streams `tokens` sampled tokens after `prompt` to out; returns the text.
std::string stream_sample(runs::LoadedRun& run, const std::string& prompt, int64_t tokens,
                          const models::SamplingOptions& options, uint64_t seed, std::ostream& out);

}  // namespace nabla::cli
