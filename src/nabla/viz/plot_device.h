// Renders one PLplot figure into <path>.png and <path>.svg, atomically and one figure at a time
// (PLplot keeps global state and is not thread-safe). Internal to viz: callers draw on a plstream.
#pragma once
#include <functional>
#include <string>

class plstream;

namespace nabla::viz {

// Pixels for the PNG; the SVG gets the same number of points.
struct FigureSize {
  int width = 900;
  int height = 600;
  int panels_across = 1;  // subpages side by side; each pladv(0) moves to the next
};

// cmap0 slots every figure starts with; figures add their own colours after these.
enum PaletteSlot : int { kBackground = 0, kInk = 1, kGridLine = 2, kFirstFreeSlot = 3 };

// Calls `draw` once per format on a fresh, initialised stream (white background, black ink) and
// moves each finished file into place, so a crash never leaves a half-written image.
void render_png_and_svg(const std::string& path_without_extension, FigureSize size,
                        const std::function<void(plstream&)>& draw);

// PLplot reads '#' as the start of an escape sequence; user text must show it literally.
std::string escape_plot_text(const std::string& text);

}  // namespace nabla::viz
