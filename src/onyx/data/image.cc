// Image files: read whole (with a size limit), then decoded by core/image_codec.
#include "onyx/data/image.h"

#include "onyx/core/file_util.h"
#include "onyx/core/image_codec.h"

namespace onyx::data {

constexpr size_t kMaxImageBytes = size_t{64} << 20;

Tensor decode_image(const std::string& path) {
  return decode_image_bytes(read_file(path, kMaxImageBytes), path);
}

Tensor read_image(const std::string& path, const ImageTransform& transform) {
  return transform_image(decode_image(path), transform, path);
}

}  // namespace onyx::data
