// Files nabla writes load with the real `safetensors` package and agree value for value.
// Needs `bash scripts/setup-peers.sh`; without the package the test says so and skips.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "nabla/nabla.h"

using namespace nabla;
namespace fs = std::filesystem;

TEST(SafetensorsPython, NablaFilesLoadWithTheReferencePackage) {
  if (std::system("python3 -c 'import safetensors.torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 has no safetensors/torch; run `bash scripts/setup-peers.sh` to enable this check";
  fs::path dir = fs::temp_directory_path() / "nabla_safetensors_python";
  fs::create_directories(dir);
  const std::string file = (dir / "from_nabla.safetensors").string();
  Tensor w = arange(0.0, 12.0).reshape({3, 4}).mul_(0.5);
  io::save_safetensors(file, {{"w", w}, {"t", w.t()}, {"i", tensor_i64({-3, 7})}, {"b", w.to(DType::bf16)}},
                       {{"note", "written by nabla"}});
  const std::string script = (dir / "check.py").string(), report = (dir / "report.txt").string();
  std::ofstream(script)
      << "import sys, torch\n"
         "from safetensors import safe_open\n"
         "from safetensors.torch import load_file\n"
         "t = load_file(sys.argv[1])\n"
         "w = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5\n"
         "ok = torch.equal(t['w'], w) and torch.equal(t['t'], w.t().contiguous())\n"
         "ok = ok and t['i'].tolist() == [-3, 7] and t['b'].dtype == torch.bfloat16\n"
         "ok = ok and torch.equal(t['b'].float(), w)\n"
         "with safe_open(sys.argv[1], 'pt') as f: ok = ok and f.metadata()['note'] == 'written by nabla'\n"
         "open(sys.argv[2], 'w').write('ok' if ok else 'mismatch')\n";
  ASSERT_EQ(std::system(("python3 " + script + " " + file + " " + report).c_str()), 0);
  std::string verdict;
  std::ifstream(report) >> verdict;
  EXPECT_EQ(verdict, "ok");
}
