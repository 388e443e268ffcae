// read_csv: a small RFC 4180 reader (quoted fields, no multi-line cells) into tensors.
#include "nabla/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "nabla/core/creation.h"
#include "nabla/data/input_file.h"

namespace nabla::data {
namespace {

struct Cell {
  std::string text;
  size_t column;  // 1-based byte column where the cell starts, for messages
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<Cell> split_row(const std::string& line, char delimiter, const std::string& where) {
  std::vector<Cell> cells;
  size_t i = 0;
  while (true) {
    Cell cell{"", i + 1};
    size_t j = i;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j < line.size() && line[j] == '"') {
      cell.column = j + 1;
      std::string text;
      size_t k = j + 1;
      for (;; ++k) {
        if (k >= line.size()) fail(where, ":", j + 1, ": unterminated quoted field (cells cannot span lines)");
        if (line[k] == '"') {
          if (k + 1 < line.size() && line[k + 1] == '"') {
            text += '"';
            ++k;
          } else {
            break;
          }
        } else {
          text += line[k];
        }
      }
      ++k;  // past the closing quote
      while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
      if (k < line.size() && line[k] != delimiter)
        fail(where, ":", k + 1, ": unexpected text after a closing quote; double a quote inside a field (\"\")");
      cell.text = text;
      cells.push_back(cell);
      if (k >= line.size()) break;
      i = k + 1;
    } else {
      size_t end = line.find(delimiter, i);
      if (end == std::string::npos) end = line.size();
      cell.text = trim(line.substr(i, end - i));
      cells.push_back(cell);
      if (end >= line.size()) break;
      i = end + 1;
    }
  }
  return cells;
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), out);
  // inf and nan parse, but are never what a data file means by a feature value.
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

}  // namespace

// More classes than this is not a classification table.
constexpr int64_t kMaxClasses = 1 << 20;

// Tables are read whole into memory: past this it is a mistake, not a table.
constexpr uint64_t kMaxCsvBytes = uint64_t(4) << 30;

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  data::check_input_file(path, "CSV file", kMaxCsvBytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open CSV file ", path);

  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
  std::vector<size_t> row_lines;
  std::string line;
  for (size_t line_number = 1; std::getline(in, line); ++line_number) {
    if (line_number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_number);
    std::vector<Cell> cells = split_row(line, options.delimiter, where);
    if (header.empty()) {
      for (const Cell& c : cells) {
        if (c.text.empty()) fail(where, ":", c.column, ": empty column name in the header row");
        if (std::find(header.begin(), header.end(), c.text) != header.end())
          fail(where, ":", c.column, ": column \"", c.text, "\" appears twice in the header row");
        header.push_back(c.text);
      }
      continue;
    }
    if (cells.size() != header.size()) {
      // Point at the first extra cell, or at the end of a short row.
      const size_t column = cells.size() > header.size() ? cells[header.size()].column : line.size() + 1;
      fail(where, ":", column, ": row has ", cells.size(), " cells but the header has ", header.size(),
           " columns (a missing or extra delimiter '", options.delimiter, "'?)");
    }
    rows.push_back(std::move(cells));
    row_lines.push_back(line_number);
  }
  if (in.bad()) fail("error while reading CSV file ", path);
  if (header.empty()) fail(path, ": the CSV file is empty; expected a header row and data rows");
  if (rows.empty()) fail(path, ": the CSV file has a header but no data rows");

  int64_t label = -1;
  if (!options.label_column.empty()) {
    auto it = std::find(header.begin(), header.end(), options.label_column);
    if (it == header.end()) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
      fail(path, ": no label column \"", options.label_column, "\"; the columns are: ", names);
    }
    label = it - header.begin();
  }

  CsvData out;
  for (size_t c = 0; c < header.size(); ++c)
    if (int64_t(c) != label) out.feature_names.push_back(header[c]);
  const int64_t n = int64_t(rows.size()), features = int64_t(out.feature_names.size());
  out.x = Tensor::empty({n, features});
  float* x = out.x.data<float>();
  std::vector<double> label_numbers(label >= 0 ? n : 0);
  bool labels_numeric = true, labels_integral = true;
  size_t first_text_label = 0;
  for (int64_t r = 0; r < n; ++r) {
    const std::string where = path + ":" + std::to_string(row_lines[r]);
    int64_t f = 0;
    for (size_t c = 0; c < header.size(); ++c) {
      const Cell& cell = rows[r][c];
      double value = 0;
      const bool numeric = parse_number(cell.text, value);
      if (int64_t(c) == label) {
        if (cell.text.empty()) fail(where, ":", cell.column, ": empty label in column \"", header[c], "\"");
        if (!numeric && labels_numeric) {
          labels_numeric = false;
          first_text_label = size_t(r);
        }
        if (numeric) {
          label_numbers[r] = value;
          if (!std::isfinite(value) || value != std::floor(value) || std::abs(value) > 9.0e15) labels_integral = false;
        }
        continue;
      }
      if (cell.text.empty()) fail(where, ":", cell.column, ": empty cell in column \"", header[c], "\"");
      if (!numeric)
        fail(where, ":", cell.column, ": \"", cell.text, "\" in column \"", header[c],
             "\" is not a number; feature columns must be numeric");
      x[r * features + f++] = float(value);
    }
  }
  if (label < 0) return out;

  if (!labels_numeric) {
    if (options.labels == CsvLabels::values) {
      const Cell& cell = rows[first_text_label][label];
      fail(path, ":", row_lines[first_text_label], ":", cell.column, ": label \"", cell.text, "\" in column \"",
           header[label], "\" is not a number, but numeric targets were asked for");
    }
    std::map<std::string, int64_t> ids;
    for (const auto& row : rows) ids.emplace(row[label].text, 0);
    for (auto& [name, id] : ids) {
      id = int64_t(out.class_names.size());
      out.class_names.push_back(name);
    }
    std::vector<int64_t> y;
    for (const auto& row : rows) y.push_back(ids.at(row[label].text));
    out.y = tensor_i64(y);
    return out;
  }
  if (options.labels == CsvLabels::values || (options.labels == CsvLabels::automatic && !labels_integral)) {
    std::vector<float> y(label_numbers.begin(), label_numbers.end());
    out.y = tensor(y);
    return out;
  }
  if (!labels_integral) {
    for (int64_t r = 0; r < n; ++r)
      if (label_numbers[r] != std::floor(label_numbers[r]))
        fail(path, ":", row_lines[r], ":", rows[r][label].column, ": label ", rows[r][label].text,
             " is not a whole number, but class labels were asked for");
  }
  // Integer labels are class ids as they are: a model's output has one score per class id.
  for (size_t r = 0; r < label_numbers.size() && options.labels == CsvLabels::classes; ++r)
    if (label_numbers[r] < 0 || label_numbers[r] >= double(kMaxClasses))
      fail(path, ":", row_lines[r], ":", rows[r][label].column, ": class label ", rows[r][label].text, " in column \"",
           header[label], "\" is not a class id in [0, ", kMaxClasses, "); number classes from 0, or use names");
  out.y = tensor_i64(std::vector<int64_t>(label_numbers.begin(), label_numbers.end()));
  return out;
}

}  // namespace nabla::data
