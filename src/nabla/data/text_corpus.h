// Text corpora: any UTF-8 file as one stream or as lines, and the King James Bible as verses
// (exported from Debian's `bible` program into a plain text file once, then read from there).
#pragma once
#include <string>
#include <vector>

namespace nabla::data {

// Where nabla keeps exported corpora: $NABLA_DATA_DIR, else $XDG_CACHE_HOME/nabla, else
// $HOME/.cache/nabla — the same rule scripts/setup.sh follows.
std::string default_data_dir();
std::string default_kjv_path();  // default_data_dir() + "/kjv.txt"

// The whole file as validated UTF-8 (a leading byte-order mark is dropped); "-" reads standard
// input. A missing, unreadable, special (device, FIFO, directory), non-UTF-8 or empty
// (whitespace-only) file is an error naming the file.
std::string read_text_file(const std::string& path);
// Its lines without "\n" or "\r\n"; blank lines are dropped unless keep_blank. No lines left is an error.
std::vector<std::string> read_text_lines(const std::string& path, bool keep_blank = false);

struct Verse {
  std::string book;  // the `bible` program's abbreviation: "Ge", "1Sm", "Mat", "Rev", ...
  int chapter = 0;
  int verse = 0;
  std::string text;   // without the reference
  int testament = 0;  // 0 = Old, 1 = New
};

// Verses of a file of lines like "Ge1:1 In the beginning God created the heaven and the earth.";
// the New Testament starts at "Mat1:1". A missing default file is exported first when the
// `bible` program is installed; otherwise the error says which Debian package to install.
std::vector<Verse> load_kjv(const std::string& path = default_kjv_path());

// Runs `bible -f "Gen1:1-Rev22:21"` into path (via a temporary file renamed into place, so an
// interrupted export never leaves a partial corpus behind). Throws when `bible` is missing or fails.
void export_kjv(const std::string& path);

}  // namespace nabla::data
