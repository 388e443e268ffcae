// Turns a run's history.csv / steps.csv into line charts: train and validation curves share a chart
// (val_X next to X, as Keras names them), noisy per-step values get a moving average on top.
#include "nabla/viz/history_plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "nabla/core/error.h"
#include "nabla/viz/line_plot.h"
#include "nabla/viz/numeric_csv.h"

namespace nabla::viz {
namespace {

namespace fs = std::filesystem;

bool has_finite(const std::vector<double>& values) {
  return std::any_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

// The x axis: the named column, or 1, 2, 3... when a hand-made file lacks it.
std::vector<double> x_values(const NumericTable& table, const std::string& column) {
  if (table.has(column)) return table[column];
  std::vector<double> x(table.rows());
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i + 1);
  return x;
}

// "val_top_5_accuracy" -> "Top 5 accuracy": titles read as words.
std::string words(const std::string& key) {
  std::string text = key;
  std::replace(text.begin(), text.end(), '_', ' ');
  if (!text.empty()) text[0] = char(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// Metric names become file names; anything but letters, digits, '-', '_' and '.' turns into '_'.
std::string file_stem(const std::string& name) {
  std::string stem = name;
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return stem;
}

class PlotWriter {
 public:
  explicit PlotWriter(fs::path out_dir) : out_dir_(std::move(out_dir)) {}

  // Drops series without a single finite value; skips the chart when none is left.
  void save(LinePlot plot, const std::string& name) {
    std::erase_if(plot.series, [](const Series& s) { return !has_finite(s.y); });
    if (plot.series.empty()) return;
    const std::string base = (out_dir_ / file_stem(name)).string();
    save_line_plot(plot, base);
    written_.push_back(base + ".png");
    written_.push_back(base + ".svg");
  }
  void save_side_by_side(std::vector<LinePlot> panels, const std::string& name) {
    for (LinePlot& plot : panels) std::erase_if(plot.series, [](const Series& s) { return !has_finite(s.y); });
    std::erase_if(panels, [](const LinePlot& plot) { return plot.series.empty(); });
    if (panels.empty()) return;
    const std::string base = (out_dir_ / file_stem(name)).string();
    save_line_plots_side_by_side(panels, base);
    written_.push_back(base + ".png");
    written_.push_back(base + ".svg");
  }
  const std::vector<std::string>& written() const { return written_; }

 private:
  fs::path out_dir_;
  std::vector<std::string> written_;
};

void plot_epochs(const NumericTable& history, bool lr_per_step, PlotWriter& writer) {
  const std::vector<double> epochs = x_values(history, "epoch");
  auto epoch_series = [&](const std::string& label, const std::string& column, int color) {
    return Series{label, epochs, history[column], color};
  };
  auto train_and_validation = [&](const std::string& key) {
    LinePlot plot{words(key) + " per epoch", "epoch", key, {}};
    if (history.has(key)) plot.series.push_back(epoch_series("train", key, 0));
    if (history.has("val_" + key)) plot.series.push_back(epoch_series("validation", "val_" + key, 1));
    return plot;
  };
  writer.save(train_and_validation("loss"), "loss");
  // The articles' figure: accuracy and loss side by side, training and validation in each.
  if (history.has("accuracy") && history.has("loss"))
    writer.save_side_by_side({train_and_validation("accuracy"), train_and_validation("loss")}, "history");

  // Every other column is a metric; "val_accuracy" joins "accuracy" (or stands alone without it).
  std::vector<std::string> metrics;
  for (const auto& column : history.columns) {
    if (column == "epoch" || column == "lr" || column == "loss" || column == "val_loss") continue;
    std::string metric = column.rfind("val_", 0) == 0 ? column.substr(4) : column;
    if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) metrics.push_back(metric);
  }
  for (const auto& metric : metrics) writer.save(train_and_validation(metric), metric);

  if (!lr_per_step && history.has("lr")) {
    writer.save(LinePlot{"Learning rate per epoch", "epoch", "learning rate", {epoch_series("learning rate", "lr", 0)}},
                "lr");
  }
}

void plot_steps(const NumericTable& steps, PlotWriter& writer) {
  const std::vector<double> x = x_values(steps, "step");
  // About 20 windows across the run: smooth enough to see the trend, short enough to keep its shape.
  const size_t window = std::clamp<size_t>(steps.rows() / 20, 1, 500);
  for (const auto& column : steps.columns) {
    if (column == "step" || column == "epoch" || column == "lr") continue;
    LinePlot plot{words(column) + " per step", "step", column, {}};
    plot.series.push_back(Series{"per step", x, steps[column], 0});
    if (window >= 3) {
      plot.series.front().opacity = 0.35;
      plot.series.push_back(
          Series{"moving average (" + std::to_string(window) + " steps)", x, moving_average(steps[column], window), 0});
    }
    writer.save(plot, "steps_" + column);
  }
  if (steps.has("lr")) {
    writer.save(
        LinePlot{"Learning rate per step", "step", "learning rate", {Series{"learning rate", x, steps["lr"], 0}}},
        "lr");
  }
}

}  // namespace

std::vector<double> moving_average(const std::vector<double>& values, size_t window) {
  NABLA_CHECK(window >= 1, "moving_average: the window must hold at least one value");
  // Prefix sums over finite values only, so a NaN neither poisons nor shrinks its neighbours' means.
  std::vector<double> sum(values.size() + 1, 0.0);
  std::vector<size_t> count(values.size() + 1, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    bool finite = std::isfinite(values[i]);
    sum[i + 1] = sum[i] + (finite ? values[i] : 0.0);
    count[i + 1] = count[i] + (finite ? 1 : 0);
  }
  std::vector<double> averaged(values.size());
  const size_t before = (window - 1) / 2, after = window / 2;
  for (size_t i = 0; i < values.size(); ++i) {
    size_t begin = i >= before ? i - before : 0;
    size_t end = std::min(values.size(), i + after + 1);
    size_t n = count[end] - count[begin];
    averaged[i] = n == 0 ? std::nan("") : (sum[end] - sum[begin]) / double(n);
  }
  return averaged;
}

std::vector<std::string> plot_run_history(const std::string& run_dir, const std::string& out_dir) {
  NABLA_CHECK(fs::is_directory(run_dir), "plot: ", run_dir, " is not a directory; give the run directory ",
              "that `nabla train --out` wrote");
  const fs::path history_path = fs::path(run_dir) / "history.csv";
  const fs::path steps_path = fs::path(run_dir) / "steps.csv";
  const bool has_history = fs::exists(history_path), has_steps = fs::exists(steps_path);
  NABLA_CHECK(has_history || has_steps, "plot: ", run_dir, " has neither history.csv nor steps.csv; ",
              "is it a run directory, and has training finished its first epoch?");
  // Read both before drawing anything, so a malformed file leaves no partial set of new plots.
  NumericTable history, steps;
  if (has_history) history = read_numeric_csv(history_path.string());
  if (has_steps) steps = read_numeric_csv(steps_path.string());

  const fs::path out = out_dir.empty() ? fs::path(run_dir) / "plots" : fs::path(out_dir);
  std::error_code error;
  fs::create_directories(out, error);
  NABLA_CHECK(!error, "plot: cannot create the output directory ", out.string(), ": ", error.message());

  PlotWriter writer(out);
  const bool lr_per_step = has_steps && steps.has("lr") && has_finite(steps["lr"]);
  if (has_history) plot_epochs(history, lr_per_step, writer);
  if (has_steps) plot_steps(steps, writer);
  NABLA_CHECK(!writer.written().empty(), "plot: ", run_dir, ": ", has_history ? "history.csv" : "",
              has_history && has_steps ? " and " : "", has_steps ? "steps.csv" : "",
              " hold no values to plot yet; train for at least one epoch first");
  return writer.written();
}

}  // namespace nabla::viz
