#include "nabla/io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nabla/data/input_file.h"
#include "nabla/io/atomic_file.h"
#include "nabla/io/safetensors.h"

namespace nabla::io {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* const kDataFiles[] = {"config.json", "model.safetensors", "optimizer.safetensors"};

uint32_t file_crc32(const fs::path& path, uint64_t& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("checkpoint file missing: ", path.string());
  uLong crc = crc32(0L, Z_NULL, 0);
  std::vector<char> buffer(1 << 20);
  bytes = 0;
  while (in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n > 0) crc = crc32(crc, reinterpret_cast<const Bytef*>(buffer.data()), uInt(n));
    bytes += uint64_t(std::max<std::streamsize>(n, 0));
  }
  return uint32_t(crc);
}

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

fs::path sibling(const fs::path& dir, const char* suffix) {
  fs::path clean = dir;
  if (clean.filename().empty()) clean = clean.parent_path();
  return clean.parent_path() / (clean.filename().string() + suffix);
}

// A checkpoint directory is complete when state.json exists and every checksum matches.
bool is_complete(const fs::path& dir, std::string* why = nullptr) {
  try {
    json state = load_json((dir / "state.json").string());
    for (const char* name : kDataFiles) {
      uint64_t bytes = 0;
      uint32_t crc = file_crc32(dir / name, bytes);
      const json& expected = state.at("files").at(name);
      if (expected.at("crc32").get<uint32_t>() != crc || expected.at("bytes").get<uint64_t>() != bytes) {
        if (why) *why = std::string(name) + " does not match the checksum recorded in state.json";
        return false;
      }
    }
    return true;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return false;
  }
}

}  // namespace

void save_json(const std::string& path, const json& value) {
  const std::string text = value.dump(2) + "\n";
  write_file_atomically(path, [&](int fd) { write_all(fd, text.data(), text.size(), path); });
}

json load_json(const std::string& path) { return data::read_json_input(path, "JSON file"); }

void save_checkpoint(const std::string& dir_name, const Checkpoint& checkpoint) {
  const fs::path dir(dir_name), staging = sibling(dir, ".tmp"), previous = sibling(dir, ".old");
  std::error_code ec;
  fs::create_directories(dir.parent_path().empty() ? fs::path(".") : dir.parent_path(), ec);
  fs::remove_all(staging, ec);
  if (!fs::create_directory(staging, ec))
    fail("cannot create checkpoint directory ", staging.string(), ": ", ec.message(),
         " (is the output directory writable and the disk not full?)");
  try {
    save_json((staging / "config.json").string(), checkpoint.config);
    save_safetensors((staging / "model.safetensors").string(), checkpoint.model, {{"format", "pt"}});
    save_safetensors((staging / "optimizer.safetensors").string(), checkpoint.optimizer);
    json state = checkpoint.state;
    for (const char* name : kDataFiles) {
      uint64_t bytes = 0;
      const uint32_t crc = file_crc32(staging / name, bytes);
      state["files"][name] = {{"crc32", crc}, {"bytes", bytes}};
    }
    save_json((staging / "state.json").string(), state);
  } catch (...) {  // a full disk, say: the previous checkpoint was never touched; drop the partial one
    fs::remove_all(staging, ec);
    throw;
  }
  fsync_path(staging, O_RDONLY | O_DIRECTORY);
  // Swap: dir -> dir.old, dir.tmp -> dir, then drop dir.old. load_checkpoint recovers from a
  // crash at any point in between.
  fs::remove_all(previous, ec);
  if (fs::exists(dir)) {
    fs::rename(dir, previous, ec);
    if (ec) fail("cannot move the previous checkpoint ", dir.string(), " aside: ", ec.message());
  }
  fs::rename(staging, dir, ec);
  if (ec) fail("cannot move the new checkpoint into place at ", dir.string(), ": ", ec.message());
  fsync_path(dir.parent_path().empty() ? fs::path(".") : dir.parent_path(), O_RDONLY | O_DIRECTORY);
  fs::remove_all(previous, ec);
}

bool checkpoint_exists(const std::string& dir_name) {
  const fs::path dir(dir_name);
  return is_complete(dir) || is_complete(sibling(dir, ".tmp")) || is_complete(sibling(dir, ".old"));
}

std::string checkpoint_damage(const std::string& dir_name) {
  if (checkpoint_exists(dir_name)) return "";
  std::string why;
  is_complete(fs::path(dir_name), &why);
  return why;
}

Checkpoint load_checkpoint(const std::string& dir_name) {
  fs::path dir(dir_name);
  std::string why;
  if (!is_complete(dir, &why)) {
    // Interrupted between the renames: the staged copy (newer) or the moved-aside one (older).
    const fs::path staged = sibling(dir, ".tmp"), previous = sibling(dir, ".old");
    if (is_complete(staged))
      dir = staged;
    else if (is_complete(previous))
      dir = previous;
    else
      fail("no complete checkpoint at ", dir_name, ": ", why);
  }
  Checkpoint c;
  c.config = load_json((dir / "config.json").string());
  c.state = load_json((dir / "state.json").string());
  c.model = load_safetensors((dir / "model.safetensors").string()).tensors;
  c.optimizer = load_safetensors((dir / "optimizer.safetensors").string()).tensors;
  return c;
}

}  // namespace nabla::io
