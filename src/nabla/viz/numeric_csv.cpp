// Numeric CSV reading for run logs: strict about shape (a damaged or hand-edited file is reported with
// its line), lenient about what History writes (empty cells, "nan", "-nan", "inf", CRLF endings).
#include "nabla/viz/numeric_csv.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "nabla/core/error.h"
#include "nabla/data/input_file.h"

namespace nabla::viz {
namespace {

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) cells.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') cells.emplace_back();  // getline drops a trailing empty cell
  return cells;
}

bool parse_number(const std::string& cell, double& value) {
  if (cell.empty()) {
    value = std::nan("");
    return true;
  }
  const char* begin = cell.data();
  const char* end = cell.data() + cell.size();
  if (*begin == '+') ++begin;  // from_chars takes no '+', strtod and people do
  auto [stop, error] = std::from_chars(begin, end, value);
  return error == std::errc() && stop == end;
}

}  // namespace

bool NumericTable::has(const std::string& column) const {
  for (const auto& name : columns) {
    if (name == column) return true;
  }
  return false;
}

const std::vector<double>& NumericTable::operator[](const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == column) return values[i];
  }
  std::string known;
  for (const auto& name : columns) known += " " + name;
  fail("table has no column \"", column, "\"; it has:", known);
}

NumericTable read_numeric_csv(const std::string& path) {
  data::check_input_file(path, "table", uint64_t(1) << 32);
  std::ifstream in(path);
  NABLA_CHECK(in, "cannot open ", path, " (does it exist and is it readable?)");
  NumericTable table;
  std::string line;
  int line_number = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    std::vector<std::string> cells = split_cells(line);
    if (!have_header) {
      std::set<std::string> seen;
      for (size_t i = 0; i < cells.size(); ++i) {
        NABLA_CHECK(!cells[i].empty(), path, " line ", line_number, ": column ", i + 1,
                    " of the header has no name; the first line must name every column");
        double ignored;
        NABLA_CHECK(!parse_number(cells[i], ignored), path, " line ", line_number, ": the header is missing (found \"",
                    cells[i], "\" where a column name belongs)");
        NABLA_CHECK(seen.insert(cells[i]).second, path, " line ", line_number, ": column \"", cells[i],
                    "\" appears twice in the header");
      }
      table.columns = cells;
      table.values.resize(cells.size());
      have_header = true;
      continue;
    }
    // steps.csv grows while training runs: a short last line with no newline yet is a row still
    // being written when `nabla plot` reads it, not damage.
    if (in.eof() && cells.size() < table.columns.size()) break;
    NABLA_CHECK(cells.size() == table.columns.size(), path, " line ", line_number, ": expected ", table.columns.size(),
                " comma-separated values (one per header column), found ", cells.size(),
                "; is the file truncated or hand-edited?");
    for (size_t i = 0; i < cells.size(); ++i) {
      double value;
      NABLA_CHECK(parse_number(cells[i], value), path, " line ", line_number, ", column \"", table.columns[i], "\": \"",
                  cells[i], "\" is not a number");
      table.values[i].push_back(value);
    }
  }
  NABLA_CHECK(in.eof(), "error while reading ", path);
  NABLA_CHECK(have_header, path, " is empty; expected a header line naming the columns");
  return table;
}

}  // namespace nabla::viz
