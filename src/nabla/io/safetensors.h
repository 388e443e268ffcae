// The safetensors format: 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and data_offsets (plus optional string metadata), then raw data.
// Reading memory-maps the file and validates every offset against its size first.
#pragma once
#include <map>
#include <string>

#include "nabla/core/tensor.h"

namespace nabla::io {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// F32, BF16, F64, I64, I32, U8 and BOOL load as themselves; F16 is converted to f32.
SafetensorsFile load_safetensors(const std::string& path);
// Atomic: the previous file survives an interrupted save.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace nabla::io
