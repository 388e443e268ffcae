// Replays every committed fuzz input — the seed corpus and each finding of `make fuzz`, kept in
// tests/fuzz/regressions/<target>/ once fixed — through its target: bad input must be refused
// with a nabla::Error, never crash (under make test-asan also never touch memory it should not).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_targets.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs(const std::string& folder, const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(NABLA_SOURCE_DIR) / "tests" / "fuzz" / folder / target;
  if (fs::exists(dir))
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const nabla::fuzz::NamedTarget& target, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SCOPED_TRACE(file.string());
  nabla::fuzz::run_one(target.run, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

TEST(FuzzCorpus, EveryTargetHasSeedsAndEverySeedIsHandled) {
  for (const auto& target : nabla::fuzz::targets()) {
    const auto seeds = inputs("corpus", target.name);
    EXPECT_GE(seeds.size(), 3u) << target.name << ": commit seed inputs to tests/fuzz/corpus/" << target.name;
    for (const fs::path& file : seeds) replay(target, file);
  }
}

TEST(FuzzCorpus, EveryFindingStaysFixed) {
  size_t findings = 0;
  for (const auto& target : nabla::fuzz::targets())
    for (const fs::path& file : inputs("regressions", target.name)) {
      replay(target, file);
      ++findings;
    }
  std::printf("replayed %zu fuzz findings\n", findings);
}
