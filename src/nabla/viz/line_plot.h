// Line charts (loss and metric curves) saved as PNG + SVG through PLplot: a legend, one colour per
// series, missing values (NaN) skipped, optional logarithmic y axis.
#pragma once
#include <string>
#include <vector>

namespace nabla::viz {

struct Series {
  std::string label;
  std::vector<double> x, y;  // same length; non-finite points (NaN) are skipped, the line joins the rest
  int color = -1;            // index into the palette; -1 takes the next unused one
  double opacity = 1.0;      // below 1 for context curves, e.g. raw values under their moving average
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_y = false;  // non-positive values are then skipped like NaN
  int width = 900;     // PNG pixels; the SVG gets the same number of points
  int height = 600;
};

// Writes <path_without_extension>.png and .svg (each atomically). Throws nabla::Error when a series'
// x and y differ in length or no series has a single plottable point.
void save_line_plot(const LinePlot& plot, const std::string& path_without_extension);
// Charts next to each other in one figure, each panel as save_line_plot draws it (1-4 panels; the
// figure is the first panel's size times the number of panels across).
void save_line_plots_side_by_side(const std::vector<LinePlot>& panels, const std::string& path_without_extension);

// The palette series colours come from, in order (matplotlib's "tab10", easy to tell apart).
struct Rgb {
  int r, g, b;
};
const std::vector<Rgb>& series_palette();

}  // namespace nabla::viz
