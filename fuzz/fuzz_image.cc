// Encoded images (PNG, JPEG, WebP, JPEG 2000, PNM), told apart by their first bytes as the
// image data sets and the ImageDecoder op do.
#include "fuzz_util.h"
#include "onyx/core/image_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  onyx::fuzz::guarded([&] { onyx::decode_image_bytes(bytes, "fuzz-image"); });
  return 0;
}
