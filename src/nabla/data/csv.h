// CSV tables for the small regression and classification cases: a header row, numeric feature
// columns, and one named label column -> (x f32 [N, F], y).
#pragma once
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::data {

enum class CsvLabels {
  automatic,  // integers -> i64 class ids, other numbers -> f32 targets, text -> i64 ids of class_names
  classes,    // i64: integers as they are, text as ids of the sorted distinct names
  values,     // f32 regression targets; text is an error
};

struct CsvOptions {
  std::string label_column;  // empty: no label column, every column is a feature and y is undefined
  char delimiter = ',';
  CsvLabels labels = CsvLabels::automatic;
};

struct CsvData {
  Tensor x;  // f32 [N, F], features in file order
  Tensor y;  // [N]: i64 class ids or f32 values (see CsvLabels); undefined without a label column
  std::vector<std::string> feature_names;
  std::vector<std::string> class_names;  // set when the labels were text: class_names[id]
};

// Fields may be double-quoted ("a, b" and "" for a quote inside); blank lines are skipped. Every
// problem — missing file, empty table, unknown label column, ragged rows, empty or non-numeric
// cells — is an error naming file:line:column.
CsvData read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace nabla::data
