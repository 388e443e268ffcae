// Confusion matrices: counting from label tensors, and a PLplot heat map laid out in millimetres so
// long class names ("T-shirt/top", "Ankle boot") get the margin they need and cells stay square.
#include "nabla/viz/confusion_matrix.h"

#include <plplot/plstream.h>

#include <algorithm>
#include <cstdio>

#include "nabla/core/error.h"
#include "nabla/viz/plot_device.h"

namespace nabla::viz {
namespace {

constexpr int64_t kMaxClasses = 200;       // beyond this a heat map of cells stops being readable
constexpr int64_t kMaxWrittenCounts = 30;  // cells hold their count up to this many classes
constexpr int64_t kMaxNamedClasses = 40;   // beyond this only every n-th class is named
constexpr double kGlyphWidth = 0.62;       // average glyph width as a fraction of the character height

std::vector<int64_t> class_indices(const Tensor& labels, const char* which) {
  NABLA_CHECK(labels.defined(), "confusion_counts: ", which, " is an undefined tensor");
  const DType dtype = labels.dtype();
  NABLA_CHECK(dtype == DType::i64 || dtype == DType::i32 || dtype == DType::u8, "confusion_counts: ", which,
              " must hold integer class indices (i64, i32 or u8), got ", dtype_name(dtype),
              "; for scores or probabilities take argmax(-1) first");
  return labels.to(DType::i64).to_vector<int64_t>();
}

// Per-character width estimate: enough to reserve margins, which is all it is used for.
double text_width_mm(const std::string& text, double char_height_mm) {
  return double(text.size()) * kGlyphWidth * char_height_mm;
}

}  // namespace

std::vector<std::vector<int64_t>> confusion_counts(const Tensor& predicted, const Tensor& target, int64_t classes) {
  NABLA_CHECK(classes >= 1, "confusion_counts: classes must be at least 1, got ", classes);
  const std::vector<int64_t> p = class_indices(predicted, "predicted");
  const std::vector<int64_t> t = class_indices(target, "target");
  NABLA_CHECK(p.size() == t.size(), "confusion_counts: predicted has ", p.size(), " labels but target has ", t.size(),
              " (shapes ", predicted.shape(), " and ", target.shape(), ")");
  std::vector<std::vector<int64_t>> counts(size_t(classes), std::vector<int64_t>(size_t(classes), 0));
  for (size_t i = 0; i < p.size(); ++i) {
    NABLA_CHECK(p[i] >= 0 && p[i] < classes, "confusion_counts: predicted[", i, "] = ", p[i], " is not a class in [0, ",
                classes, ")");
    NABLA_CHECK(t[i] >= 0 && t[i] < classes, "confusion_counts: target[", i, "] = ", t[i], " is not a class in [0, ",
                classes, ")");
    ++counts[size_t(t[i])][size_t(p[i])];
  }
  return counts;
}

void save_confusion_matrix(const std::vector<std::vector<int64_t>>& counts, const std::vector<std::string>& class_names,
                           const std::string& path_without_extension, int width, int height) {
  const std::string where = "confusion matrix " + path_without_extension;
  const int64_t k = int64_t(counts.size());
  NABLA_CHECK(k >= 1 && k <= kMaxClasses, where, ": ", k, " classes; between 1 and ", kMaxClasses, " can be drawn");
  int64_t correct = 0, total = 0;
  std::vector<int64_t> row_totals(size_t(k), 0);
  for (int64_t t = 0; t < k; ++t) {
    NABLA_CHECK(int64_t(counts[t].size()) == k, where, ": row ", t, " has ", counts[t].size(), " counts; the matrix ",
                "must be square (", k, " x ", k, ")");
    for (int64_t p = 0; p < k; ++p) {
      NABLA_CHECK(counts[t][p] >= 0, where, ": count [", t, "][", p, "] is negative (", counts[t][p], ")");
      row_totals[t] += counts[t][p];
    }
    total += row_totals[t];
    correct += counts[t][t];
  }
  NABLA_CHECK(class_names.empty() || int64_t(class_names.size()) == k, where, ": ", class_names.size(),
              " class names for ", k, " classes; give one per class or none");
  std::vector<std::string> names(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) names[c] = escape_plot_text(class_names.empty() ? std::to_string(c) : class_names[c]);

  char title[160];
  if (total > 0) {
    std::snprintf(title, sizeof title, "Confusion matrix: accuracy %.2f%% (%lld of %lld)",
                  100.0 * double(correct) / double(total), static_cast<long long>(correct),
                  static_cast<long long>(total));
  } else {
    std::snprintf(title, sizeof title, "Confusion matrix: no samples");
  }
  const int64_t name_every = (k + kMaxNamedClasses - 1) / kMaxNamedClasses;
  size_t longest_name = 0;
  for (const auto& name : names) longest_name = std::max(longest_name, name.size());

  render_png_and_svg(path_without_extension, {width, height}, [&](plstream& pls) {
    // Blues: white for an empty cell to dark blue for a whole row.
    const PLFLT stops[] = {0.0, 0.5, 1.0};
    const PLFLT red[] = {0.97, 0.42, 0.03}, green[] = {0.98, 0.68, 0.19}, blue[] = {1.0, 0.84, 0.42};
    pls.scmap1l(true, 3, stops, red, green, blue, nullptr);
    pls.adv(0);
    PLFLT page_x0, page_x1, page_y0, page_y1;
    pls.gspa(page_x0, page_x1, page_y0, page_y1);
    const PLFLT page_w = page_x1 - page_x0, page_h = page_y1 - page_y0;
    PLFLT default_height, char_h;
    pls.gchr(default_height, char_h);

    // Margins in mm: class names and axis titles on the left and bottom, title on top, colour bar right.
    const double name_w = text_width_mm(std::string(longest_name, 'n'), char_h) + char_h;
    const double left = name_w + 3.5 * char_h, top = 4.5 * char_h, right = 11.5 * char_h;
    double bottom = 5.5 * char_h;
    double cell = std::min(page_w - left - right, page_h - top - bottom) / double(k);
    const bool vertical_names = name_w > cell * double(name_every);  // column names collide when horizontal
    if (vertical_names) {
      bottom = name_w + 3.5 * char_h;
      cell = std::min(page_w - left - right, page_h - top - bottom) / double(k);
    }
    NABLA_CHECK(cell > 0.5, where, ": a ", width, "x", height, " image is too small for ", k,
                " classes with these names; use a larger size or shorter names");
    const double side = cell * double(k);
    const double x0 = left + (page_w - left - right - side) / 2, y0 = bottom + (page_h - top - bottom - side) / 2;
    pls.svpa(x0, x0 + side, y0, y0 + side);
    pls.wind(0, PLFLT(k), 0, PLFLT(k));

    // Cells; row t (true class t) sits at y in [k-1-t, k-t] so the first class is on top.
    for (int64_t t = 0; t < k; ++t) {
      for (int64_t p = 0; p < k; ++p) {
        const double share = row_totals[t] > 0 ? double(counts[t][p]) / double(row_totals[t]) : 0.0;
        const PLFLT xs[] = {PLFLT(p), PLFLT(p + 1), PLFLT(p + 1), PLFLT(p)};
        const PLFLT ys[] = {PLFLT(k - 1 - t), PLFLT(k - 1 - t), PLFLT(k - t), PLFLT(k - t)};
        pls.col1(share);
        pls.fill(4, xs, ys);
      }
    }
    pls.col0(kBackground);  // thin white seams keep neighbouring cells of one colour apart
    for (int64_t i = 1; i < k; ++i) {
      pls.join(PLFLT(i), 0, PLFLT(i), PLFLT(k));
      pls.join(0, PLFLT(i), PLFLT(k), PLFLT(i));
    }
    if (k <= kMaxWrittenCounts) {
      int64_t largest = 1;
      for (const auto& row : counts) largest = std::max(largest, *std::max_element(row.begin(), row.end()));
      const double digits = double(std::to_string(largest).size());
      const double scale = std::min(1.4, 0.7 * cell / (digits * kGlyphWidth * char_h));
      pls.schr(0, scale);
      for (int64_t t = 0; t < k; ++t) {
        for (int64_t p = 0; p < k; ++p) {
          const double share = row_totals[t] > 0 ? double(counts[t][p]) / double(row_totals[t]) : 0.0;
          pls.col0(share > 0.55 ? kBackground : kInk);  // white on dark cells, black on light ones
          pls.ptex(PLFLT(p) + 0.5, PLFLT(k - 1 - t) + 0.5, 1, 0, 0.5, std::to_string(counts[t][p]).c_str());
        }
      }
      pls.schr(0, 1.0);
    }
    pls.col0(kInk);
    pls.box("bc", 0, 0, "bc", 0, 0);

    // Class names: each column's under it, each row's left of it.
    const double name_scale = std::min(1.0, cell * double(name_every) / (1.3 * char_h));
    pls.schr(0, name_scale);
    for (int64_t c = 0; c < k; c += name_every) {
      const PLFLT middle = (PLFLT(c) + 0.5) / PLFLT(k);
      if (vertical_names) {
        pls.mtex("bv", 0.7, middle, 1.0, names[c].c_str());
      } else {
        pls.mtex("b", 1.5, middle, 0.5, names[c].c_str());
      }
      pls.mtex("lv", 0.7, 1.0 - middle, 1.0, names[c].c_str());
    }
    pls.schr(0, 1.0);
    const double names_lines = name_w / char_h;
    pls.mtex("b", (vertical_names ? names_lines : 1.5) + 2.0, 0.5, 0.5, "predicted class");
    pls.mtex("l", names_lines + 1.8, 0.5, 0.5, "true class");
    pls.schr(0, 1.2);
    pls.mtex("t", 1.8, 0.5, 0.5, title);
    pls.schr(0, 1.0);

    // Colour bar: what a cell's shade means.
    const double bar_x = x0 + side + 2.5 * char_h;
    pls.svpa(bar_x, bar_x + 2 * char_h, y0, y0 + side);
    pls.wind(0, 1, 0, 100);
    const int steps = 100;
    for (int i = 0; i < steps; ++i) {
      const PLFLT xs[] = {0, 1, 1, 0};
      const PLFLT ys[] = {PLFLT(i), PLFLT(i), PLFLT(i + 1), PLFLT(i + 1)};
      pls.col1((i + 0.5) / steps);
      pls.fill(4, xs, ys);
    }
    pls.col0(kInk);
    pls.box("bc", 0, 0, "bcmstv", 20, 2);
    pls.mtex("r", 4.5, 0.5, 0.5, "% of the true class");
  });
}

}  // namespace nabla::viz
