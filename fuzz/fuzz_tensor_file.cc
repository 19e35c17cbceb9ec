// Tensor files as `onyx run -i` reads them: a TensorProto (or SequenceProto, OptionalProto)
// .pb file and a NumPy .npy file, the same bytes tried as both.
#include "fuzz_util.h"
#include "onyx/onnx/value_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes = onyx::fuzz::bytes_of(data, size);
  onyx::fuzz::guarded([&] { onyx::onnx_io::parse_value_pb(bytes, nullptr, "fuzz.pb"); });
  onyx::fuzz::guarded([&] { onyx::onnx_io::parse_npy(bytes, "fuzz.npy"); });
  return 0;
}
