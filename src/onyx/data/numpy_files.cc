// NumPy's own containers: .npz archives (a zip of .npy members, what np.savez and
// np.savez_compressed write) through libzip, and directories of .npy files.
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "onyx/core/error.h"
#include "onyx/data/sources.h"
#include "onyx/onnx/value_files.h"

namespace onyx::data {

namespace {

// What an archive may unpack to in all: the declared sizes are checked before reading, so
// a small archive of huge members (a zip bomb) is refused without inflating it.
constexpr zip_uint64_t kMaxNpzBytes = zip_uint64_t{4} << 30;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }  // read-only: nothing to write back
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::unique_ptr<zip_t, ZipCloser> open_zip(const std::string& path) {
  std::error_code ec;  // libzip would only say "Operation not supported"
  if (std::filesystem::is_directory(path, ec))
    fail(ErrorKind::Io, path, ": a directory, not an .npz file");
  int code = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (z) return std::unique_ptr<zip_t, ZipCloser>(z);
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string why = zip_error_strerror(&error);
  zip_error_fini(&error);
  // A file that is there but is not a zip is the caller's mistake, not an I/O failure.
  ErrorKind kind =
      code == ZIP_ER_NOZIP || code == ZIP_ER_INCONS ? ErrorKind::InvalidArgument : ErrorKind::Io;
  fail(kind, path, ": cannot open as an .npz archive: ", why);
}

// The member's bytes, exactly as many as the directory declares: a member that inflates to
// more or fewer is corrupt (and libzip checks the CRC once the end is read).
std::string read_member(zip_t* z, zip_uint64_t index, zip_uint64_t size, const std::string& ctx) {
  std::unique_ptr<zip_file_t, ZipCloser> f(zip_fopen_index(z, index, 0));
  if (!f) fail(ErrorKind::InvalidArgument, ctx, ": cannot read: ", zip_strerror(z));
  std::string bytes(static_cast<size_t>(size), '\0');
  zip_uint64_t done = 0;
  while (done < size) {
    zip_int64_t n = zip_fread(f.get(), bytes.data() + done, size - done);
    if (n < 0) fail(ErrorKind::InvalidArgument, ctx, ": cannot read: ", zip_file_strerror(f.get()));
    if (n == 0) break;
    done += static_cast<zip_uint64_t>(n);
  }
  char extra;
  zip_int64_t more = done == size ? zip_fread(f.get(), &extra, 1) : 0;
  if (more < 0)
    fail(ErrorKind::InvalidArgument, ctx, ": cannot read: ", zip_file_strerror(f.get()));
  if (done != size || more > 0) {
    fail(ErrorKind::InvalidArgument, ctx, ": the archive declares ", size, " bytes, the member ",
         more > 0 ? "holds more" : "holds " + std::to_string(done));
  }
  return bytes;
}

}  // namespace

Dataset load_npz(const std::string& path) {
  auto zip = open_zip(path);
  zip_int64_t count = zip_get_num_entries(zip.get(), 0);
  if (count <= 0) fail(ErrorKind::InvalidArgument, path, ": the archive holds no arrays");
  Dataset data(path);
  zip_uint64_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip.get(), i, 0, &st) != 0) {
      fail(ErrorKind::InvalidArgument, path, ": member ", i, ": ", zip_strerror(zip.get()));
    }
    if (!(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE)) {
      fail(ErrorKind::InvalidArgument, path, ": member ", i, " has no name or size");
    }
    std::string name = st.name;
    if (!name.ends_with(".npy") || name.size() == 4) {
      fail(ErrorKind::InvalidArgument, path, ": member '", name,
           "' is not an .npy array (an .npz holds only NAME.npy members)");
    }
    if (st.size > kMaxNpzBytes - total) {
      fail(ErrorKind::ResourceLimit, path, ": the arrays unpack to more than ", kMaxNpzBytes,
           " bytes (at member '", name, "')");
    }
    total += st.size;
    std::string ctx = path + ":" + name;
    Tensor t = onnx_io::parse_npy(read_member(zip.get(), i, st.size, ctx), ctx);
    data.add(name.substr(0, name.size() - 4), std::move(t));
  }
  return data;
}

Dataset load_npy_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ErrorKind::Io, dir, ": not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code unreadable;  // a dangling link is skipped, not an error
    if (entry.path().extension() == ".npy" && entry.is_regular_file(unreadable)) {
      files.push_back(entry.path());
    }
  }
  if (ec) fail(ErrorKind::Io, dir, ": cannot list: ", ec.message());
  if (files.empty()) fail(ErrorKind::InvalidArgument, dir, ": no .npy files in the directory");
  // Sorted, so that feeds come in the same order on every file system.
  std::sort(files.begin(), files.end());
  Dataset data(dir);
  for (const auto& f : files) data.add(f.stem().string(), onnx_io::load_npy(f.string()));
  return data;
}

}  // namespace onyx::data
