// History: what fit() returns — per-epoch values of the loss and every metric, for training
// and validation ("loss", "accuracy", "val_loss", "val_accuracy", "lr"), like Keras' History.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace nabla::train {

struct History {
  std::vector<int> epochs;  // 1-based epoch numbers
  std::map<std::string, std::vector<double>> history;

  void append(int epoch, const std::map<std::string, double>& logs);
  const std::vector<double>& operator[](const std::string& key) const;
  // One row per epoch, a column per key (atomic write).
  void save_csv(const std::string& path) const;
};

}  // namespace nabla::train
