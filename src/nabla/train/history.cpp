#include "nabla/train/history.h"

#include <cmath>
#include <sstream>

#include "nabla/core/error.h"
#include "nabla/io/atomic_file.h"

namespace nabla::train {

void History::append(int epoch, const std::map<std::string, double>& logs) {
  epochs.push_back(epoch);
  for (const auto& [key, value] : logs) {
    auto& column = history[key];
    column.resize(epochs.size() - 1, std::nan(""));  // a key that appears late gets NaN for earlier epochs
    column.push_back(value);
  }
}

const std::vector<double>& History::operator[](const std::string& key) const {
  auto it = history.find(key);
  if (it == history.end()) {
    std::ostringstream known;
    for (const auto& [k, v] : history) known << " " << k;
    fail("History has no \"", key, "\"; it has:", known.str());
  }
  return it->second;
}

void History::save_csv(const std::string& path) const {
  std::ostringstream out;
  out << "epoch";
  for (const auto& [key, column] : history) out << "," << key;
  out << "\n";
  for (size_t row = 0; row < epochs.size(); ++row) {
    out << epochs[row];
    for (const auto& [key, column] : history) {
      out << ",";
      if (row < column.size()) out << column[row];
    }
    out << "\n";
  }
  const std::string text = out.str();
  io::write_file_atomically(path, [&](int fd) { io::write_all(fd, text.data(), text.size(), path); });
}

}  // namespace nabla::train
