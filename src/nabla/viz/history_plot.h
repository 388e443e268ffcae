// Training-history plots for a run directory (what `nabla plot RUN_DIR` draws): loss and each metric
// per epoch (train and validation), per-step loss with a moving average, and the learning rate.
#pragma once
#include <string>
#include <vector>

namespace nabla::viz {

// Reads RUN_DIR/history.csv (one row per epoch, columns epoch,loss,accuracy,val_loss,val_accuracy,lr,...,
// any subset, as train::History::save_csv writes it) and RUN_DIR/steps.csv (one row per optimizer step:
// step,epoch,loss,lr and optional metric columns); at least one must exist. Writes PNG + SVG pairs into
// `out_dir` (default RUN_DIR/plots, created if needed):
//   loss            train and validation loss per epoch
//   history         accuracy and loss side by side, train and validation in each (the articles' figure;
//                   when accuracy is logged)
//   <metric>        train and val_<metric> per epoch, one pair of files per metric
//   steps_loss      per-step loss, raw and a moving average (likewise steps_<metric>)
//   lr              learning rate per step (per epoch when steps.csv lacks it)
// Returns the paths written. Malformed CSV throws nabla::Error naming the file and line.
std::vector<std::string> plot_run_history(const std::string& run_dir, const std::string& out_dir = "");

// Centred moving average over `window` points that skips NaN (NaN where a window has no values).
std::vector<double> moving_average(const std::vector<double>& values, size_t window);

}  // namespace nabla::viz
