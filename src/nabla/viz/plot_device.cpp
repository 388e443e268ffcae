// PLplot output plumbing shared by every figure: driver check, one-at-a-time rendering, atomic files.
#include "nabla/viz/plot_device.h"

#include <fcntl.h>
#include <plplot/plstream.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

#include "nabla/core/error.h"

namespace nabla::viz {
namespace {

// PLplot's state is process-global (current stream, driver tables), so figures render one at a time.
std::mutex& plplot_mutex() {
  static std::mutex mutex;
  return mutex;
}

constexpr int kPaletteSize = 64;  // cmap0 slots: the fixed ones plus room for one colour per series

// An unknown device makes plinit() call exit(), so check the optional cairo driver before the first
// figure. (The "svg" driver ships inside libplplot itself, and the file-device list omits it.)
void check_drivers_installed() {
  static bool checked = false;
  if (checked) return;
  const int capacity = 128;
  std::vector<const char*> menu(capacity), names(capacity);
  const char** menu_ptr = menu.data();
  const char** names_ptr = names.data();
  int count = capacity;
  plstream probe;  // the C++ binding is all the build links, so ask through a stream
  probe.gFileDevs(&menu_ptr, &names_ptr, &count);
  bool has_png = false;
  for (int i = 0; i < count; ++i) has_png = has_png || std::strcmp(names_ptr[i], "pngcairo") == 0;
  NABLA_CHECK(has_png, "plots: PLplot has no \"pngcairo\" driver; install the Debian package plplot-driver-cairo");
  checked = true;
}

// Renders with one driver into a temporary file next to `path`, then renames it over `path`.
void render_one(const char* device, const std::string& path, FigureSize size,
                const std::function<void(plstream&)>& draw) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp = (dir / "").string();  // built piecewise: GCC 12 mis-warns on "." + string
  temp += ".";
  temp += target.filename().string();
  temp += ".tmp.XXXXXX";
  // Creating the file ourselves proves the directory is writable: PLplot would exit() instead.
  int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    fail("cannot create a file in ", dir.string(), ": ", std::strerror(errno),
         " (does the directory exist and is it writable?)");
  }
  try {
    // mkstemp makes the file private; images are for sharing, like any file the user writes.
    if (::fchmod(fd, 0644) != 0) fail("cannot set permissions of ", temp, ": ", std::strerror(errno));
    {
      plstream pls;
      pls.sdev(device);
      pls.sfnam(temp.c_str());
      pls.spage(0, 0, size.width, size.height, 0, 0);
      pls.ssub(size.panels_across, 1);
      pls.scolbg(255, 255, 255);
      pls.init();
      pls.scmap0n(kPaletteSize);
      pls.scol0(kBackground, 255, 255, 255);
      pls.scol0(kInk, 0, 0, 0);
      pls.scol0(kGridLine, 222, 222, 222);
      pls.col0(kInk);
      draw(pls);
    }  // the stream's destructor finishes the page and closes the file
    struct stat info {};
    if (::fstat(fd, &info) != 0 || info.st_size == 0) fail("plots: PLplot wrote nothing to ", temp);
    if (::fsync(fd) != 0) fail("cannot flush ", path, ": ", std::strerror(errno));
    ::close(fd);
    fd = -1;
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      fail("cannot rename ", temp, " to ", path, ": ", std::strerror(errno));
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
}

}  // namespace

void render_png_and_svg(const std::string& path_without_extension, FigureSize size,
                        const std::function<void(plstream&)>& draw) {
  NABLA_CHECK(size.width >= 64 && size.height >= 64 && size.width <= 16384 && size.height <= 16384,
              "plots: figure size ", size.width, "x", size.height, " for ", path_without_extension,
              " is out of range; use 64 to 16384 pixels a side");
  std::lock_guard<std::mutex> lock(plplot_mutex());
  check_drivers_installed();
  render_one("pngcairo", path_without_extension + ".png", size, draw);
  render_one("svg", path_without_extension + ".svg", size, draw);
}

std::string escape_plot_text(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    escaped += c;
    if (c == '#') escaped += '#';
  }
  return escaped;
}

}  // namespace nabla::viz
