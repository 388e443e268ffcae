// Line charts through PLplot: axes fitted to the finite data, a light grid, NaN points skipped (the
// line joins the values around them), dots on short series, and a legend in the emptiest corner.
#include "nabla/viz/line_plot.h"

#include <plplot/plstream.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "nabla/core/error.h"
#include "nabla/viz/plot_device.h"

namespace nabla::viz {
namespace {

constexpr int kMaxSeries = 60;        // cmap0 has 64 slots, 3 taken by background, ink and grid
constexpr size_t kMarkerLimit = 40;   // series with at most this many points also get a dot per point
constexpr const char* kMarker = "•";  // UTF-8; both drivers render text as Unicode

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// The y value as drawn: log10 on a log axis; NaN when the point cannot be drawn.
double plotted_y(double y, bool log_y) {
  if (!std::isfinite(y)) return std::nan("");
  if (!log_y) return y;
  return y > 0 ? std::log10(y) : std::nan("");
}

// A tick spacing of 1, 2 or 5 times a power of ten giving about `target` intervals.
double nice_step(double span, int target) {
  double raw = span / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double normalised = raw / magnitude;
  double step = normalised < 1.5 ? 1 : normalised < 3 ? 2 : normalised < 7 ? 5 : 10;
  return step * magnitude;
}

bool all_integers(const std::vector<Series>& series) {
  for (const auto& s : series) {
    for (double x : s.x) {
      if (std::isfinite(x) && x != std::round(x)) return false;
    }
  }
  return true;
}

// Tick labels as plain numbers with as many decimals as the tick step needs ("0.0", "0.5", "1.0";
// "0.0004"; "120000"). PLplot's default factors a power of ten out into a "(x10^-3)" note in the
// corner, which is easy to miss and gets clipped at the page edge.
struct TickFormat {
  int x_decimals = 0, y_decimals = 0;  // -1: too large or small for fixed point, use %g
};

int decimals_for(double tick, double largest_magnitude) {
  if (!(tick > 0) || largest_magnitude >= 1e7) return -1;  // also the unused 0 tick of a log axis
  const int decimals = std::max(0, int(-std::floor(std::log10(tick) + 1e-9)));
  return decimals <= 8 ? decimals : -1;
}

void tick_label(PLINT axis, PLFLT value, char* label, PLINT length, PLPointer data) {
  const auto* format = static_cast<const TickFormat*>(data);
  const int decimals = axis == PL_X_AXIS ? format->x_decimals : format->y_decimals;
  if (decimals < 0) {
    std::snprintf(label, size_t(length), "%g", value);
  } else {
    if (std::abs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0;  // no "-0.0" from tick arithmetic
    std::snprintf(label, size_t(length), "%.*f", decimals, value);
  }
}

// Where to label a log axis spanning [lo, hi] (log10 units), under 3 decades wide. PLplot labels
// decades only, which leaves a loss falling from 3 to 0.4 with one label; use 1-2-5 (or 1..9) steps.
std::vector<double> log_axis_labels(double lo, double hi) {
  const std::vector<std::vector<int>> mantissa_sets = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  std::vector<double> values;
  for (const auto& mantissas : mantissa_sets) {
    values.clear();
    for (int k = int(std::floor(lo)) - 1; k <= int(std::ceil(hi)); ++k) {
      for (int m : mantissas) {
        double v = m * std::pow(10.0, k);
        if (std::log10(v) >= lo && std::log10(v) <= hi) values.push_back(v);
      }
    }
    if (values.size() >= 3) break;
  }
  return values;
}

// The (x, y) points a series draws, as plotted. NaN (or non-positive on a log axis) is skipped and
// the line joins its neighbours: validation every other epoch is still one curve.
using Points = std::vector<std::array<double, 2>>;

Points drawable_points(const Series& s, bool log_y) {
  Points points;
  for (size_t i = 0; i < s.x.size(); ++i) {
    double y = plotted_y(s.y[i], log_y);
    if (std::isfinite(s.x[i]) && std::isfinite(y)) points.push_back({s.x[i], y});
  }
  return points;
}

// Picks the viewport corner whose legend-sized box covers the fewest data points (lines are
// sampled between points so a curve crossing a corner counts even without points there).
PLINT emptiest_corner(const std::vector<Points>& points_per_series, double x_lo, double x_hi, double y_lo, double y_hi,
                      double box_w, double box_h) {
  const std::array<PLINT, 4> corners = {PL_POSITION_TOP | PL_POSITION_RIGHT, PL_POSITION_TOP | PL_POSITION_LEFT,
                                        PL_POSITION_BOTTOM | PL_POSITION_RIGHT, PL_POSITION_BOTTOM | PL_POSITION_LEFT};
  std::array<int, 4> covered{};
  auto count = [&](double x, double y) {
    double u = (x - x_lo) / (x_hi - x_lo), v = (y - y_lo) / (y_hi - y_lo);
    const bool right = u > 1 - box_w, left = u < box_w;
    const bool top = v > 1 - box_h, bottom = v < box_h;
    covered[0] += top && right;
    covered[1] += top && left;
    covered[2] += bottom && right;
    covered[3] += bottom && left;
  };
  for (const auto& p : points_per_series) {
    for (size_t i = 0; i < p.size(); ++i) {
      count(p[i][0], p[i][1]);
      if (i + 1 == p.size()) continue;
      const int samples = std::max<int>(1, 200 / int(p.size()));
      for (int k = 1; k < samples; ++k) {
        double t = double(k) / samples;
        count(p[i][0] + t * (p[i + 1][0] - p[i][0]), p[i][1] + t * (p[i + 1][1] - p[i][1]));
      }
    }
  }
  int best = int(std::min_element(covered.begin(), covered.end()) - covered.begin());
  return corners[best];
}

}  // namespace

const std::vector<Rgb>& series_palette() {
  static const std::vector<Rgb> palette = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                           {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                           {188, 189, 34},  {23, 190, 207}};
  return palette;
}

namespace {

// Where everything sits on the chart: the data window, ticks, tick labels and the y title's offset.
struct Axes {
  double x_lo, x_hi, y_lo, y_hi;
  double x_tick, y_tick;
  PLINT x_subticks = 0;
  TickFormat tick_format;
  bool own_log_labels;             // a short log axis labelled by hand at 1-2-5 steps
  std::vector<double> log_labels;  // their values
  double y_title_offset;           // in character heights
};

Axes plan_axes(const LinePlot& plot, Range x_range, Range y_range) {
  Axes a{};
  // Axis limits: a flat curve or a single point still gets a readable span.
  const bool integer_x = all_integers(plot.series);
  if (x_range.hi == x_range.lo) {
    x_range.lo -= 1;
    x_range.hi += 1;
  }
  if (y_range.hi == y_range.lo) {
    const double v = y_range.lo;  // a constant learning rate of 1e-3 must not sit in a span of +-0.5
    double half = plot.log_y ? 0.5 : (v != 0 ? 0.1 * std::abs(v) : 0.5);
    y_range.lo -= half;
    y_range.hi += half;
  }
  const double x_pad = 0.02 * (x_range.hi - x_range.lo), y_pad = 0.05 * (y_range.hi - y_range.lo);
  a.x_lo = x_range.lo - x_pad, a.x_hi = x_range.hi + x_pad;
  a.y_lo = y_range.lo - y_pad, a.y_hi = y_range.hi + y_pad;
  a.x_tick = nice_step(x_range.hi - x_range.lo, 8);
  if (integer_x) {  // epochs and steps: no tick at 2.5
    a.x_tick = std::max(1.0, std::round(a.x_tick));
    if (a.x_tick == 1) a.x_subticks = 1;
  }
  a.y_tick = plot.log_y ? 0 : nice_step(y_range.hi - y_range.lo, 6);
  a.tick_format = TickFormat{decimals_for(a.x_tick, std::max(std::abs(a.x_lo), std::abs(a.x_hi))),
                             decimals_for(a.y_tick, std::max(std::abs(a.y_lo), std::abs(a.y_hi)))};
  a.own_log_labels = plot.log_y && a.y_hi - a.y_lo < 3;
  if (a.own_log_labels) a.log_labels = log_axis_labels(a.y_lo, a.y_hi);

  // The widest y tick label decides the left margin, so "0.0004" never runs into the axis title.
  size_t y_label_chars = 5;  // PLplot's own log labels: "10^-3"
  char text[64];
  if (a.own_log_labels) {
    y_label_chars = 1;
    for (double v : a.log_labels)
      y_label_chars = std::max(y_label_chars, size_t(std::snprintf(text, sizeof text, "%g", v)));
  } else if (!plot.log_y) {
    y_label_chars = 1;
    const double first = std::ceil(a.y_lo / a.y_tick) * a.y_tick;
    for (int i = 0; i < 100 && first + i * a.y_tick <= a.y_hi; ++i) {  // counted: v += tick can stall at 1e20
      tick_label(PL_Y_AXIS, first + i * a.y_tick, text, sizeof text, &a.tick_format);
      y_label_chars = std::max(y_label_chars, std::strlen(text));
    }
  }
  a.y_title_offset = 0.8 * double(y_label_chars) + 1.6;  // digits are ~0.8 character heights wide
  return a;
}

// Palette entries per series: explicit ones as asked, the rest in order, skipping taken ones.
std::vector<int> series_colors(const LinePlot& plot, const std::vector<Rgb>& palette) {
  std::vector<int> colors;
  std::vector<bool> taken(palette.size(), false);
  for (const auto& s : plot.series) {
    if (s.color >= 0) taken[s.color] = true;
  }
  size_t next_free = 0;
  for (const auto& s : plot.series) {
    if (s.color >= 0) {
      colors.push_back(s.color);
      continue;
    }
    size_t tries = 0;
    while (taken[next_free % palette.size()] && tries++ < palette.size()) ++next_free;
    colors.push_back(int(next_free++ % palette.size()));
  }
  return colors;
}

// The viewport, grid, box, tick labels and titles.
void draw_axes(plstream& pls, const LinePlot& plot, Axes& a) {
  pls.adv(0);
  PLFLT page_x0, page_x1, page_y0, page_y1, default_height, char_h;
  pls.gspa(page_x0, page_x1, page_y0, page_y1);
  pls.gchr(default_height, char_h);
  // Margins in mm, measured in character heights: tick labels and titles decide them.
  pls.svpa((a.y_title_offset + 1.6) * char_h, page_x1 - page_x0 - 2.5 * char_h, 4.8 * char_h,
           page_y1 - page_y0 - 3.8 * char_h);
  pls.wind(a.x_lo, a.x_hi, a.y_lo, a.y_hi);
  pls.slabelfunc(tick_label, &a.tick_format);
  const std::string x_options = "bcnsto";
  // A short log axis is labelled (and gridded) by hand at 1-2-5 steps; PLplot still draws its ticks.
  const std::string y_options = plot.log_y ? (a.own_log_labels ? "bcstl" : "bcnstvl") : "bcnstvo";
  pls.col0(kGridLine);
  if (a.own_log_labels) {
    pls.box("g", a.x_tick, a.x_subticks, "", 0, 0);
    for (double v : a.log_labels) pls.join(a.x_lo, std::log10(v), a.x_hi, std::log10(v));
  } else {
    pls.box("g", a.x_tick, a.x_subticks, plot.log_y ? "gl" : "g", a.y_tick, 0);
  }
  pls.col0(kInk);
  pls.width(1);
  pls.box(x_options.c_str(), a.x_tick, a.x_subticks, y_options.c_str(), a.y_tick, 0);
  if (a.own_log_labels) {
    char text[64];
    for (double v : a.log_labels) {
      std::snprintf(text, sizeof text, "%g", v);
      pls.mtex("lv", 0.7, (std::log10(v) - a.y_lo) / (a.y_hi - a.y_lo), 1.0, text);
    }
  }
  pls.mtex("b", 3.2, 0.5, 0.5, escape_plot_text(plot.x_label).c_str());
  pls.mtex("l", a.y_title_offset, 0.5, 0.5, escape_plot_text(plot.y_label).c_str());
  pls.schr(0, 1.25);
  pls.mtex("t", 1.6, 0.5, 0.5, escape_plot_text(plot.title).c_str());
  pls.schr(0, 1.0);
}

// Each series' line (and markers, when few), then the legend in the emptiest corner.
void draw_series(plstream& pls, const LinePlot& plot, const std::vector<Points>& points_per_series,
                 const std::vector<int>& colors, PLINT legend_corner) {
  const auto& palette = series_palette();
  const size_t n = plot.series.size();
  std::vector<PLINT> options(n), slots(n), line_styles(n, 1), symbol_numbers(n, 1);
  std::vector<PLFLT> line_widths(n, 2.0), symbol_scales(n, 1.0);
  std::vector<std::string> labels(n);
  std::vector<const char*> label_ptrs(n), symbols(n, kMarker);
  std::vector<PLINT> text_colors(n, kInk);
  for (size_t i = 0; i < n; ++i) {
    const Series& s = plot.series[i];
    const Rgb& rgb = palette[colors[i]];
    slots[i] = kFirstFreeSlot + PLINT(i);
    pls.scol0a(slots[i], rgb.r, rgb.g, rgb.b, std::clamp(s.opacity, 0.05, 1.0));
    pls.col0(slots[i]);
    pls.width(2.0);
    std::vector<PLFLT> xs, ys;
    for (const auto& [x, y] : points_per_series[i]) {
      xs.push_back(x);
      ys.push_back(y);
    }
    const bool markers = xs.size() <= kMarkerLimit;
    if (xs.size() > 1) pls.line(PLINT(xs.size()), xs.data(), ys.data());
    if (markers) pls.string(PLINT(xs.size()), xs.data(), ys.data(), kMarker);
    options[i] = PL_LEGEND_LINE | (markers ? PL_LEGEND_SYMBOL : 0);
    labels[i] = escape_plot_text(s.label);
    label_ptrs[i] = labels[i].c_str();
  }
  pls.width(1);
  PLFLT legend_width = 0, legend_height = 0;
  pls.legend(&legend_width, &legend_height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             legend_corner | PL_POSITION_INSIDE, 0.015, 0.02, 0.08, kBackground, kGridLine, 1, 0, 0, PLINT(n),
             options.data(), 1.0, 1.0, 1.8, 0.0, text_colors.data(), label_ptrs.data(), nullptr, nullptr, nullptr,
             nullptr, slots.data(), line_styles.data(), line_widths.data(), slots.data(), symbol_scales.data(),
             symbol_numbers.data(), symbols.data());
}

}  // namespace

namespace {

// A chart checked and laid out, ready to draw into its (sub)page.
struct PreparedPlot {
  const LinePlot* plot;
  std::vector<Points> points_per_series;
  Axes axes;
  std::vector<int> colors;
  PLINT legend_corner;
};

PreparedPlot prepare(const LinePlot& plot, const std::string& path_without_extension) {
  const std::string where = "line plot \"" + plot.title + "\" (" + path_without_extension + ")";
  NABLA_CHECK(!plot.series.empty(), where, ": no series to draw");
  NABLA_CHECK(plot.series.size() <= size_t(kMaxSeries), where, ": ", plot.series.size(), " series; at most ",
              kMaxSeries, " fit one chart");
  const auto& palette = series_palette();
  PreparedPlot p{&plot, {}, {}, {}, 0};
  Range x_range, y_range;
  for (const auto& s : plot.series) {
    NABLA_CHECK(s.x.size() == s.y.size(), where, ": series \"", s.label, "\" has ", s.x.size(), " x values but ",
                s.y.size(), " y values");
    NABLA_CHECK(s.color < int(palette.size()), where, ": series \"", s.label, "\" asks for colour ", s.color,
                "; the palette has ", palette.size(), " (use -1 for automatic)");
    p.points_per_series.push_back(drawable_points(s, plot.log_y));
    for (const auto& [x, y] : p.points_per_series.back()) {
      x_range.add(x);
      y_range.add(y);
    }
  }
  NABLA_CHECK(!y_range.empty(), where, ": no series has a finite", plot.log_y ? ", positive" : "", " value to draw");
  p.axes = plan_axes(plot, x_range, y_range);
  p.colors = series_colors(plot, palette);
  size_t longest_label = 0;
  for (const auto& s : plot.series) longest_label = std::max(longest_label, s.label.size());
  const double legend_w = 0.14 + 0.012 * double(longest_label);
  const double legend_h = 0.05 + 0.055 * double(plot.series.size());
  p.legend_corner =
      emptiest_corner(p.points_per_series, p.axes.x_lo, p.axes.x_hi, p.axes.y_lo, p.axes.y_hi, legend_w, legend_h);
  return p;
}

// Advances to the next (sub)page and draws the chart there.
void draw(plstream& pls, PreparedPlot& p) {
  draw_axes(pls, *p.plot, p.axes);
  draw_series(pls, *p.plot, p.points_per_series, p.colors, p.legend_corner);
}

}  // namespace

void save_line_plot(const LinePlot& plot, const std::string& path_without_extension) {
  PreparedPlot p = prepare(plot, path_without_extension);
  render_png_and_svg(path_without_extension, {plot.width, plot.height}, [&](plstream& pls) { draw(pls, p); });
}

void save_line_plots_side_by_side(const std::vector<LinePlot>& panels, const std::string& path_without_extension) {
  NABLA_CHECK(!panels.empty() && panels.size() <= 4, "side-by-side plot ", path_without_extension, ": ", panels.size(),
              " panels; give 1 to 4");
  std::vector<PreparedPlot> prepared;
  for (const LinePlot& panel : panels) prepared.push_back(prepare(panel, path_without_extension));
  const FigureSize size{panels[0].width * int(panels.size()), panels[0].height, int(panels.size())};
  render_png_and_svg(path_without_extension, size, [&](plstream& pls) {
    for (PreparedPlot& p : prepared) draw(pls, p);
  });
}

}  // namespace nabla::viz
