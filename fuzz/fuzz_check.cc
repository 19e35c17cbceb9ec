// `onyx check` and the type inference behind training and `inspect` on fuzzed models:
// libonnx 1.12's checker and shape inference, through the guards onyx puts before them
// (onnx/libonnx_input.h). The checker reads a file, so each input is written to one.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "fuzz_util.h"
#include "onyx/onnx/checker.h"
#include "onyx/onnx/model_io.h"

namespace {

// A file of this process's own, removed at exit.
struct ScratchFile {
  std::string path = "/tmp/onyx-fuzz-check-" + std::to_string(::getpid()) + ".onnx";
  ~ScratchFile() { std::remove(path.c_str()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ScratchFile file;
  {
    std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  onyx::fuzz::guarded([&] { onyx::onnx_io::run_onnx_checker(file.path); });
  onyx::fuzz::guarded(
      [&] { onyx::onnx_io::infer_value_types(onyx::onnx_io::load_model(file.path)); });
  return 0;
}
