// Reading single images for prediction: binary/ASCII PGM (P5/P2) and PNG (through libpng),
// converted to one grey channel scaled to [0, 1].
#pragma once
#include <string>

#include "nabla/core/tensor.h"

namespace nabla::data {

// f32 [1, H, W]. Unknown formats, truncated or corrupt files are errors naming the file.
Tensor read_grayscale_image(const std::string& path);

}  // namespace nabla::data
