// Confusion matrices for classifiers: counting (true class x predicted class) from label tensors,
// and drawing the table as a PNG + SVG heat map with the counts written in the cells.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nabla/core/tensor.h"

namespace nabla::viz {

// counts[t][p] = how many samples of true class t were predicted as p. `predicted` and `target` are
// integer class indices (i64, i32 or u8) with the same number of elements, each in [0, classes).
std::vector<std::vector<int64_t>> confusion_counts(const Tensor& predicted, const Tensor& target, int64_t classes);

// Writes <path_without_extension>.png and .svg (each atomically): rows are true classes (first at the
// top), columns predicted ones; a cell's colour is its share of its row (so rare classes stay
// readable), its text the raw count; the title gives overall accuracy. `class_names` labels both
// axes (empty = "0", "1", ...). Up to 200 classes; beyond 30 the counts are left out of the cells.
void save_confusion_matrix(const std::vector<std::vector<int64_t>>& counts, const std::vector<std::string>& class_names,
                           const std::string& path_without_extension, int width = 800, int height = 800);

}  // namespace nabla::viz
