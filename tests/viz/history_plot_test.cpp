// Run-history plots: the files `nabla plot` writes from a real History CSV (with NaN validation
// values) and a steps.csv, the CSV reader's leniency and its errors, and the moving average.
#include "nabla/viz/history_plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "../error_message.h"
#include "image_checks.h"
#include "nabla/core/error.h"
#include "nabla/train/history.h"
#include "nabla/viz/numeric_csv.h"

using namespace nabla;
using nabla::test_support::error_of;
using namespace nabla::viz;
using namespace nabla::viz::testing;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A History as fit() builds it: validation only on some epochs, so val_* columns hold NaN.
void write_history(const fs::path& run_dir, int epochs) {
  train::History history;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::map<std::string, double> logs = {
        {"loss", 1.0 / epoch}, {"accuracy", 0.5 + 0.04 * epoch}, {"lr", 0.01 * std::pow(0.9, epoch)}};
    if (epoch % 2 == 0) {
      logs["val_loss"] = 1.2 / epoch;
      logs["val_accuracy"] = 0.45 + 0.04 * epoch;
    }
    history.append(epoch, logs);
  }
  history.save_csv((run_dir / "history.csv").string());
}

void write_steps(const fs::path& run_dir, int steps) {
  std::ofstream out(run_dir / "steps.csv");
  out << "step,epoch,loss,lr,accuracy\n";
  for (int step = 1; step <= steps; ++step) {
    out << step << "," << (step - 1) / 50 + 1 << "," << 2.0 * std::exp(-step / 80.0) + 0.1 * std::sin(step) << ","
        << 0.001 * std::min(1.0, step / 20.0) << "," << 1 - std::exp(-step / 80.0) << "\n";
  }
}

std::vector<std::string> names_of(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  for (const auto& path : paths) names.push_back(fs::path(path).filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(HistoryPlot, WritesLossMetricStepAndLrPlotsIntoRunDirPlots) {
  fs::path run = fresh_test_dir();
  write_history(run, 6);
  write_steps(run, 300);
  std::vector<std::string> written = plot_run_history(run.string());
  EXPECT_EQ(names_of(written),
            (std::vector<std::string>{"accuracy.png", "accuracy.svg", "history.png", "history.svg", "loss.png",
                                      "loss.svg", "lr.png", "lr.svg", "steps_accuracy.png", "steps_accuracy.svg",
                                      "steps_loss.png", "steps_loss.svg"}));
  for (const auto& path : written) {
    EXPECT_EQ(fs::path(path).parent_path(), run / "plots");
    ASSERT_TRUE(fs::exists(path)) << path;
    if (fs::path(path).extension() == ".png") {
      PngSize size = png_size(path);
      // The history figure holds two panels side by side, each as large as a single plot's height.
      EXPECT_EQ(size.width, fs::path(path).stem() == "history" ? 1800u : 900u) << path;
      EXPECT_EQ(size.height, 600u) << path;
    } else {
      EXPECT_NE(read_bytes(path).find("<svg"), std::string::npos) << path;
    }
  }
  const std::string loss_svg = read_bytes(run / "plots" / "loss.svg");
  EXPECT_TRUE(svg_has_text(loss_svg, "train"));
  EXPECT_TRUE(svg_has_text(loss_svg, "validation"));
  const std::string steps_svg = read_bytes(run / "plots" / "steps_loss.svg");
  EXPECT_TRUE(svg_has_text(steps_svg, "moving average (15 steps)"));  // 300 steps / 20
  EXPECT_TRUE(svg_has_text(read_bytes(run / "plots" / "lr.svg"), "Learning rate per step"));
  // The articles' figure: accuracy and loss side by side, training and validation in each.
  const std::string history_svg = read_bytes(run / "plots" / "history.svg");
  EXPECT_TRUE(svg_has_text(history_svg, "Accuracy per epoch"));
  EXPECT_TRUE(svg_has_text(history_svg, "Loss per epoch"));
  EXPECT_TRUE(svg_has_text(history_svg, "validation"));
}

TEST(HistoryPlot, HistoryAloneGivesEpochPlotsAndLrPerEpochIntoAChosenDirectory) {
  fs::path run = fresh_test_dir();
  write_history(run, 3);
  const fs::path out = run / "elsewhere" / "figures";
  std::vector<std::string> written = plot_run_history(run.string(), out.string());
  EXPECT_EQ(names_of(written), (std::vector<std::string>{"accuracy.png", "accuracy.svg", "history.png", "history.svg",
                                                         "loss.png", "loss.svg", "lr.png", "lr.svg"}));
  EXPECT_TRUE(fs::exists(out / "loss.png"));
  EXPECT_TRUE(svg_has_text(read_bytes(out / "lr.svg"), "Learning rate per epoch"));
}

TEST(HistoryPlot, ValidationOnlyMetricsAndAllNanColumnsAreHandled) {
  fs::path run = fresh_test_dir();
  // val_top_5 has no train twin; "broken" never got a value; loss has NaN in the middle.
  write_text(run / "history.csv",
             "epoch,loss,val_top_5,broken\n"
             "1,0.9,0.5,\n"
             "2,nan,0.6,\n"
             "3,0.7,,\n");
  EXPECT_EQ(names_of(plot_run_history(run.string())),
            (std::vector<std::string>{"loss.png", "loss.svg", "top_5.png", "top_5.svg"}));
  EXPECT_TRUE(svg_has_text(read_bytes(run / "plots" / "top_5.svg"), "Top 5 per epoch"));
}

TEST(HistoryPlot, MalformedCsvIsAnErrorNamingFileAndLine) {
  fs::path run = fresh_test_dir();
  const std::string history = (run / "history.csv").string();
  write_text(history, "epoch,loss\n1,0.5\n2\n");
  std::string message = error_of([&] { plot_run_history(run.string()); });
  EXPECT_NE(message.find(history), std::string::npos) << message;
  EXPECT_NE(message.find("line 3"), std::string::npos) << message;
  EXPECT_NE(message.find("expected 2"), std::string::npos) << message;

  write_text(history, "epoch,loss\n1,0.5\n2,fast\n");
  message = error_of([&] { plot_run_history(run.string()); });
  EXPECT_NE(message.find("line 3, column \"loss\": \"fast\" is not a number"), std::string::npos) << message;

  write_text(history, "1,0.5\n2,0.4\n");
  message = error_of([&] { plot_run_history(run.string()); });
  EXPECT_NE(message.find("line 1: the header is missing"), std::string::npos) << message;

  write_text(history, "epoch,loss,loss\n1,2,3\n");
  EXPECT_NE(error_of([&] { plot_run_history(run.string()); }).find("appears twice"), std::string::npos);

  write_text(history, "");
  EXPECT_NE(error_of([&] { plot_run_history(run.string()); }).find("is empty"), std::string::npos);

  // A bad steps.csv is reported before anything is drawn.
  write_history(run, 2);
  write_text(run / "steps.csv", "step,loss\n1,0.5\n2,0.4,9\n");
  message = error_of([&] { plot_run_history(run.string()); });
  EXPECT_NE(message.find("steps.csv line 3"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(run / "plots" / "loss.png"));
}

TEST(HistoryPlot, NotARunDirectoryIsAnError) {
  fs::path run = fresh_test_dir();
  EXPECT_NE(error_of([&] { plot_run_history((run / "missing").string()); }).find("not a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { plot_run_history(run.string()); }).find("neither history.csv nor steps.csv"),
            std::string::npos);
  write_text(run / "history.csv", "epoch,loss,accuracy\n");
  EXPECT_NE(error_of([&] { plot_run_history(run.string()); }).find("no values to plot yet"), std::string::npos);
}

TEST(NumericCsv, ReadsWhatHistoryWritesAndToleratesCrlfSignsAndBlankLines) {
  fs::path dir = fresh_test_dir();
  write_text(dir / "t.csv", "epoch, loss ,val_loss\r\n1,+0.5,nan\r\n\r\n2,-1e-3,\r\n3,inf,-nan\r\n");
  NumericTable table = read_numeric_csv((dir / "t.csv").string());
  EXPECT_EQ(table.columns, (std::vector<std::string>{"epoch", "loss", "val_loss"}));
  ASSERT_EQ(table.rows(), 3u);
  EXPECT_EQ(table["loss"][0], 0.5);
  EXPECT_EQ(table["loss"][1], -1e-3);
  EXPECT_TRUE(std::isinf(table["loss"][2]));
  EXPECT_TRUE(std::isnan(table["val_loss"][0]));
  EXPECT_TRUE(std::isnan(table["val_loss"][1]));
  EXPECT_TRUE(std::isnan(table["val_loss"][2]));
  EXPECT_FALSE(table.has("accuracy"));
  EXPECT_THROW(table["accuracy"], Error);
  EXPECT_THROW(read_numeric_csv((dir / "absent.csv").string()), Error);
}

TEST(NumericCsv, ShortLastLineWithoutNewlineIsARowStillBeingWritten) {
  fs::path dir = fresh_test_dir();
  write_text(dir / "steps.csv", "step,epoch,loss,lr\n1,1,0.9,0.001\n2,1,0.8,0.001\n3,1,0.");
  EXPECT_EQ(read_numeric_csv((dir / "steps.csv").string()).rows(), 2u);
  // With its newline the same short line is damage, and so is a short line in the middle.
  write_text(dir / "steps.csv", "step,epoch,loss,lr\n1,1,0.9,0.001\n2,1,0.8,0.001\n3,1,0.\n");
  EXPECT_THROW(read_numeric_csv((dir / "steps.csv").string()), Error);
  write_text(dir / "steps.csv", "step,epoch,loss,lr\n1,1,0.9\n2,1,0.8,0.001");
  EXPECT_THROW(read_numeric_csv((dir / "steps.csv").string()), Error);
}

TEST(MovingAverage, CentredWindowSkipsNan) {
  const double nan = std::nan("");
  std::vector<double> averaged = moving_average({1, 2, 3, nan, 5}, 3);
  ASSERT_EQ(averaged.size(), 5u);
  EXPECT_DOUBLE_EQ(averaged[0], 1.5);  // window clipped at the start: (1+2)/2
  EXPECT_DOUBLE_EQ(averaged[1], 2.0);
  EXPECT_DOUBLE_EQ(averaged[2], 2.5);  // NaN skipped: (2+3)/2
  EXPECT_DOUBLE_EQ(averaged[3], 4.0);
  EXPECT_DOUBLE_EQ(averaged[4], 5.0);
  EXPECT_TRUE(std::isnan(moving_average({nan, nan}, 1)[0]));
  EXPECT_EQ(moving_average({4, 6}, 1), (std::vector<double>{4, 6}));
  EXPECT_THROW(moving_average({1}, 0), Error);
}
