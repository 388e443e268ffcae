// Line charts: real PNG/SVG files of the asked size, text that made it into the SVG, NaN skipped,
// clear errors for unplottable input, atomic writes, and safe use from several threads.
#include "nabla/viz/line_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "image_checks.h"
#include "nabla/core/error.h"

using namespace nabla;
using namespace nabla::viz;
using namespace nabla::viz::testing;

// Under LeakSanitizer (the ASan build of the suite): PLplot reloads its cairo driver through libltdl
// for every figure and leaks 88 bytes of ltdl bookkeeping each time, and fontconfig keeps its font
// cache for the life of the process. Neither is ours to free; the hook is inert in other builds.
extern "C" const char* __lsan_default_suppressions() { return "leak:libltdl.so\nleak:libfontconfig.so\n"; }

namespace {

LinePlot two_curves() {
  LinePlot plot{"Loss per epoch", "epoch", "loss", {}};
  Series train{"train", {}, {}}, validation{"validation", {}, {}};
  for (int epoch = 1; epoch <= 8; ++epoch) {
    train.x.push_back(epoch);
    train.y.push_back(2.0 * std::exp(-epoch / 3.0));
    validation.x.push_back(epoch);
    validation.y.push_back(epoch % 3 == 0 ? std::nan("") : 2.2 * std::exp(-epoch / 3.5));  // no validation there
  }
  plot.series = {train, validation};
  return plot;
}

}  // namespace

TEST(LinePlot, WritesPngAndSvgOfTheAskedSizeWithTitleAxesAndLegend) {
  fs::path dir = fresh_test_dir();
  LinePlot plot = two_curves();
  plot.width = 640;
  plot.height = 480;
  save_line_plot(plot, (dir / "loss").string());

  PngSize size = png_size(dir / "loss.png");
  EXPECT_EQ(size.width, 640u);
  EXPECT_EQ(size.height, 480u);
  const std::string svg = read_bytes(dir / "loss.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const char* text : {"Loss per epoch", "epoch", "loss", "train", "validation"}) {
    EXPECT_TRUE(svg_has_text(svg, text)) << "the SVG lacks \"" << text << "\"";
  }
  EXPECT_TRUE(temporary_files(dir).empty());
}

TEST(LinePlot, DefaultSizeIs900By600) {
  fs::path dir = fresh_test_dir();
  save_line_plot(two_curves(), (dir / "loss").string());
  PngSize size = png_size(dir / "loss.png");
  EXPECT_EQ(size.width, 900u);
  EXPECT_EQ(size.height, 600u);
}

TEST(LinePlot, SeriesGetDistinctColours) {
  fs::path dir = fresh_test_dir();
  save_line_plot(two_curves(), (dir / "loss").string());
  const std::string svg = read_bytes(dir / "loss.svg");
  // tab10's blue and orange, as the svg driver spells them.
  EXPECT_NE(svg.find("#1F77B4"), std::string::npos);
  EXPECT_NE(svg.find("#FF7F0E"), std::string::npos);
}

// How many strokes (curve or legend sample) an SVG draws in one colour.
size_t strokes_in(const std::string& svg, const std::string& color) {
  size_t count = 0;
  for (size_t at = svg.find("stroke=\"" + color); at != std::string::npos; at = svg.find("stroke=\"" + color, at + 1)) {
    ++count;
  }
  return count;
}

TEST(LinePlot, NanPointsAreSkippedAndTheLineJoinsTheRest) {
  fs::path dir = fresh_test_dir();
  // Validation every other epoch, as History records it: NaN in between.
  LinePlot plot{"loss", "epoch", "loss", {Series{"validation", {1, 2, 3, 4, 5}, {1.0, NAN, 0.8, NAN, 0.7}}}};
  save_line_plot(plot, (dir / "sparse").string());
  EXPECT_EQ(strokes_in(read_bytes(dir / "sparse.svg"), "#1F77B4"), 2u) << "one joined curve + the legend sample";
  // A single drawable point draws no line, only its dot (and the legend sample).
  save_line_plot(LinePlot{"one", "epoch", "loss", {Series{"v", {1, 2, 3}, {NAN, 0.5, NAN}}}}, (dir / "one").string());
  const std::string one = read_bytes(dir / "one.svg");
  EXPECT_EQ(strokes_in(one, "#1F77B4"), 1u);
  EXPECT_NE(one.find("&#x2022;"), std::string::npos);  // the dot (U+2022) marking the point
}

TEST(LinePlot, NanAndNonPositiveOnLogAxisAreSkippedNotErrors) {
  fs::path dir = fresh_test_dir();
  LinePlot plot = two_curves();
  plot.series[0].y[2] = std::nan("");
  plot.series[0].y[3] = INFINITY;
  plot.series.push_back(Series{"only one value", {1, 2, 3}, {std::nan(""), 0.5, std::nan("")}});
  save_line_plot(plot, (dir / "linear").string());
  plot.log_y = true;
  plot.series[1].y[0] = 0.0;
  plot.series[1].y[1] = -1.0;
  save_line_plot(plot, (dir / "log").string());
  for (const char* name : {"linear.png", "linear.svg", "log.png", "log.svg"}) EXPECT_TRUE(fs::exists(dir / name));
}

TEST(LinePlot, FlatOrSinglePointSeriesStillDraws) {
  fs::path dir = fresh_test_dir();
  save_line_plot(LinePlot{"one epoch", "epoch", "loss", {Series{"train", {1}, {0.7}}}}, (dir / "single").string());
  save_line_plot(LinePlot{"flat", "step", "lr", {Series{"lr", {1, 2, 3}, {1e-3, 1e-3, 1e-3}}}},
                 (dir / "flat").string());
  EXPECT_EQ(png_size(dir / "single.png").width, 900u);
  EXPECT_EQ(png_size(dir / "flat.png").width, 900u);
  // The constant 0.001 gets an axis around it, not one from -0.5 to 0.5 where it would read as 0.
  const std::string flat_svg = read_bytes(dir / "flat.svg");
  EXPECT_TRUE(svg_has_text(flat_svg, "0.00100"));
  EXPECT_FALSE(svg_has_text(flat_svg, "0.4"));
}

TEST(LinePlot, UnplottableInputIsAnErrorNamingThePlot) {
  fs::path dir = fresh_test_dir();
  const std::string path = (dir / "bad").string();
  auto message_of = [&](const LinePlot& plot) {
    try {
      save_line_plot(plot, path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  LinePlot all_nan{"all nan", "epoch", "loss", {Series{"train", {1, 2}, {std::nan(""), std::nan("")}}}};
  EXPECT_NE(message_of(all_nan).find("no series has a finite"), std::string::npos) << message_of(all_nan);
  LinePlot mismatched{"mismatch", "epoch", "loss", {Series{"train", {1, 2, 3}, {1, 2}}}};
  EXPECT_NE(message_of(mismatched).find("3 x values but 2 y values"), std::string::npos);
  EXPECT_NE(message_of(LinePlot{"empty", "x", "y", {}}).find("no series"), std::string::npos);
  LinePlot log_of_negatives{"log", "x", "y", {Series{"s", {1, 2}, {-1, 0}}}, true};
  EXPECT_NE(message_of(log_of_negatives).find("positive"), std::string::npos);
  LinePlot tiny = two_curves();
  tiny.width = 10;
  EXPECT_NE(message_of(tiny).find("out of range"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "bad.png"));
  EXPECT_TRUE(temporary_files(dir).empty());
}

TEST(LinePlot, MissingDirectoryIsAnErrorNotACrash) {
  fs::path dir = fresh_test_dir();
  EXPECT_THROW(save_line_plot(two_curves(), (dir / "no" / "such" / "dir" / "loss").string()), Error);
}

TEST(LinePlot, RewritingReplacesTheFileWholeAndLeavesNoTemporaries) {
  fs::path dir = fresh_test_dir();
  const std::string path = (dir / "loss").string();
  LinePlot small = two_curves();
  small.width = 300;
  small.height = 200;
  save_line_plot(small, path);
  EXPECT_EQ(png_size(dir / "loss.png").width, 300u);
  save_line_plot(two_curves(), path);
  EXPECT_EQ(png_size(dir / "loss.png").width, 900u);
  EXPECT_EQ(fs::status(dir / "loss.png").permissions() & fs::perms::others_read, fs::perms::others_read);
  EXPECT_TRUE(temporary_files(dir).empty());
}

TEST(LinePlot, ManyFiguresFromSeveralThreadsAllComeOutWhole) {
  // PLplot has global state; the viz layer serialises it. Also checks streams are released.
  fs::path dir = fresh_test_dir();
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        LinePlot plot = two_curves();
        plot.width = 200 + 10 * t;
        plot.height = 150 + i;
        save_line_plot(plot, (dir / ("plot_" + std::to_string(t) + "_" + std::to_string(i))).string());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 4; ++i) {
      PngSize size = png_size(dir / ("plot_" + std::to_string(t) + "_" + std::to_string(i) + ".png"));
      EXPECT_EQ(size.width, uint32_t(200 + 10 * t));
      EXPECT_EQ(size.height, uint32_t(150 + i));
    }
  }
}

TEST(LinePlot, HashInLabelsIsShownLiterally) {
  fs::path dir = fresh_test_dir();
  LinePlot plot = two_curves();
  plot.title = "run #3";
  save_line_plot(plot, (dir / "hash").string());
  EXPECT_TRUE(svg_has_text(read_bytes(dir / "hash.svg"), "run #3"));
}
