#include "nabla/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "nabla/core/checked.h"
#include "nabla/data/input_file.h"
#include "nabla/io/atomic_file.h"
#include "nabla/kernels/copy.h"

namespace nabla::io {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct FileDtype {
  const char* name;
  size_t size;
  DType dtype;  // what it loads as
};
constexpr FileDtype kDtypes[] = {{"F32", 4, DType::f32}, {"BF16", 2, DType::bf16},   {"F16", 2, DType::f32},
                                 {"F64", 8, DType::f64}, {"I64", 8, DType::i64},     {"I32", 4, DType::i32},
                                 {"U8", 1, DType::u8},   {"BOOL", 1, DType::boolean}};

const FileDtype* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const char* file_dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::bf16: return "BF16";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
    case DType::f64: return "F64";
  }
  return "?";
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0)
      bits = sign;
    else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// A read-only-to-disk mapping shared by all tensors of one file (writes stay private).
struct Mapping {
  void* base = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (base != MAP_FAILED) ::munmap(base, size);
  }
};

// Called when a tensor's last view dies: the pages wholly inside its bytes leave this process's
// resident memory (they stay in the page cache), so a model that copies weights out of a mapped
// file (a transposed matrix, say) holds one copy of them, not two. Neighbours' pages are kept.
void drop_pages(const unsigned char* data, uint64_t bytes) {
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (uintptr_t(data) + page - 1) / page * page, last = (uintptr_t(data) + bytes) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

// The format's rule (safetensors' Metadata::validate): the tensors' byte ranges tile the data
// section exactly, from its first byte to its last, with no overlap and no gap, so a file cannot
// hide a second payload or alias one tensor's bytes as another's.
void check_byte_buffer_is_covered(const json& header, uint64_t data_size, const std::string& path) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // (begin, end), per tensor
  std::vector<std::string> names;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__" || !entry.is_object() || !entry.contains("data_offsets")) continue;
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      continue;  // reported with the tensor's other checks
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) continue;  // reported with the tensor's other checks
    ranges.push_back({begin, end});
    names.push_back(name);
  }
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  uint64_t covered = 0;
  for (size_t i : order) {
    const auto [begin, end] = ranges[i];
    if (begin < covered)
      fail(path, ": tensor \"", names[i], "\" (bytes ", begin, "-", end,
           ") overlaps the tensor before it, which ends at ", covered, "; safetensors tensors may not share bytes");
    if (begin > covered)
      fail(path, ": bytes ", covered, "-", begin, " of the data section belong to no tensor (a gap before \"", names[i],
           "\"); safetensors files may not have gaps");
    covered = std::max(covered, end);
  }
  if (covered != data_size)
    fail(path, ": the tensors cover ", covered, " bytes but the data section holds ", data_size,
         "; the file has trailing bytes that belong to no tensor");
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("cannot open safetensors file ", path, ": ", std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  const uint64_t file_size = uint64_t(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail(path, ": truncated safetensors file (", file_size, " bytes; the 8-byte header length alone needs 8)");
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = file_size;
  mapping->base = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping->base == MAP_FAILED) fail("cannot map ", path, ": ", std::strerror(errno));
  const unsigned char* bytes = static_cast<const unsigned char*>(mapping->base);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > file_size - 8 || header_size > kMaxHeaderBytes)
    fail(path, ": header length ", header_size, " does not fit in the file (", file_size,
         " bytes); the file is truncated or not safetensors");
  const json header =
      data::parse_json(std::string_view(reinterpret_cast<const char*>(bytes + 8), header_size), path + ": header");
  if (!header.is_object()) fail(path, ": header must be a JSON object");
  const uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  SafetensorsFile result;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path, ": __metadata__ must be an object of strings");
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail(path, ": __metadata__ value for \"", key, "\" is not a string");
        result.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string& tensor_name = name;  // (clang 14 cannot capture a structured binding)
    auto where = [&] { return path + ": tensor \"" + tensor_name + "\""; };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      fail(where(), " needs dtype, shape and data_offsets");
    if (!entry["dtype"].is_string()) fail(where(), ": dtype must be a string");
    const FileDtype* ft = find_dtype(entry["dtype"].get<std::string>());
    if (!ft)
      fail(where(), ": unsupported dtype \"", entry["dtype"].get<std::string>(),
           "\" (supported: F32, BF16, F16, F64, I64, I32, U8, BOOL)");
    const json& shape_json = entry["shape"];
    if (!shape_json.is_array() || shape_json.size() > size_t(Shape::kMaxDims))
      fail(where(), ": shape must be an array of at most ", Shape::kMaxDims, " sizes");
    Shape shape;
    uint64_t numel = 1;
    for (const json& d : shape_json) {
      if (!d.is_number_unsigned()) fail(where(), ": shape entries must be non-negative integers");
      uint64_t v = d.get<uint64_t>();
      if (v > uint64_t(INT64_MAX) || (v != 0 && numel > data_size / v))
        fail(where(), ": shape ", shape_json.dump(), " needs more bytes than the file holds");
      numel = uint64_t(checked_mul(int64_t(numel), int64_t(v), where() + ": shape"));
      shape.push_back(int64_t(v));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(where(), ": data_offsets must be [begin, end]");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail(where(), ": data_offsets [", begin, ", ", end, "] lie outside the data section of ", data_size, " bytes");
    if (end - begin != numel * ft->size)
      fail(where(), ": data_offsets span ", end - begin, " bytes but shape ", shape, " of ", ft->name, " needs ",
           numel * ft->size);
    const unsigned char* data = bytes + data_start + begin;
    Tensor t;
    if (ft->dtype == DType::f32 && ft->size == 2) {  // F16 -> f32
      t = Tensor::empty(shape, DType::f32);
      float* out = t.data<float>();
      for (uint64_t i = 0; i < numel; ++i) {
        uint16_t h;
        std::memcpy(&h, data + 2 * i, 2);
        out[i] = half_to_float(h);
      }
    } else if ((data_start + begin) % ft->size == 0) {  // aligned: a view of the mapping
      auto storage = std::make_shared<Storage>(const_cast<unsigned char*>(data), size_t(end - begin),
                                               [mapping, data, n = end - begin] { drop_pages(data, n); });
      t = Tensor::make_view(storage, shape, contiguous_strides(shape), 0, ft->dtype);
    } else {
      t = Tensor::empty(shape, ft->dtype);
      if (numel) std::memcpy(t.raw_data(), data, end - begin);
    }
    if (ft->dtype == DType::boolean) {  // only 0/1 are valid bools
      const unsigned char* b = static_cast<const unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < numel; ++i)
        if (b[i] > 1) fail(where(), ": BOOL data holds byte ", int(b[i]), " at element ", i);
    }
    result.tensors.emplace(name, t);
  }
  check_byte_buffer_is_covered(header, data_size, path);
  return result;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<Tensor> packed;
  for (const auto& [name, t] : tensors) {
    NABLA_CHECK(t.defined(), "save_safetensors: tensor \"", name, "\" is undefined");
    NABLA_CHECK(name != "__metadata__", "save_safetensors: \"__metadata__\" is reserved and cannot name a tensor");
    Tensor p = t.is_contiguous() ? t : t.contiguous();
    const uint64_t bytes = uint64_t(p.numel()) * p.element_size();
    header[name] = {
        {"dtype", file_dtype_name(p.dtype())}, {"shape", p.shape().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    packed.push_back(p);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  write_file_atomically(path, [&](int fd) {
    unsigned char length[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) length[i] = (n >> (8 * i)) & 0xff;
    write_all(fd, length, 8, path);
    write_all(fd, text.data(), text.size(), path);
    for (const Tensor& p : packed) write_all(fd, p.raw_data(), size_t(p.numel()) * p.element_size(), path);
  });
}

}  // namespace nabla::io
