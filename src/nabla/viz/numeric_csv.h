// Reads the all-numeric CSV tables a training run writes (history.csv, steps.csv): a header row of
// column names, then one row of numbers per epoch or step; an empty cell is a missing value (NaN).
#pragma once
#include <string>
#include <vector>

namespace nabla::viz {

struct NumericTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> values;  // values[column][row]

  size_t rows() const { return values.empty() ? 0 : values.front().size(); }
  bool has(const std::string& column) const;
  // The column's values; throws nabla::Error naming the known columns when it is absent.
  const std::vector<double>& operator[](const std::string& column) const;
};

// Throws nabla::Error naming the file and the 1-based line for a missing header, duplicate or empty
// column names, rows with the wrong number of cells, and cells that are not numbers. A short last
// line without its newline is skipped: a log that training is still appending to.
NumericTable read_numeric_csv(const std::string& path);

}  // namespace nabla::viz
