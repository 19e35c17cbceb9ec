// open_dataset: one table of the sources a PATH may name, tried in order.
#include "onyx/data/sources.h"

#include <filesystem>

#include "onyx/core/error.h"
#include "onyx/data/idx.h"

namespace onyx::data {

namespace {

namespace fs = std::filesystem;

bool has_entry(const std::string& dir, bool (*wanted)(const fs::directory_entry&)) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (wanted(e)) return true;
  }
  return false;
}

struct SourceKind {
  const char* name;
  bool (*matches)(const std::string& path);
  Dataset (*open)(const std::string& path, const SourceOptions& o);
};

const SourceKind kSources[] = {
    {"npz", [](const std::string& p) { return p.ends_with(".npz"); },
     [](const std::string& p, const SourceOptions&) { return load_npz(p); }},
    {"csv", [](const std::string& p) { return p.starts_with("csv:") || p.ends_with(".csv"); },
     [](const std::string& p, const SourceOptions& o) {
       return load_csv(p.starts_with("csv:") ? p.substr(4) : p, o.csv);
     }},
    {"idx", is_mnist_dir,
     [](const std::string& p, const SourceOptions& o) { return load_mnist(p, o.split); }},
    {"npy directory",
     [](const std::string& p) {
       return has_entry(p, [](const fs::directory_entry& e) {
         return e.is_regular_file() && e.path().extension() == ".npy";
       });
     },
     [](const std::string& p, const SourceOptions&) { return load_npy_dir(p); }},
    {"image folder",
     [](const std::string& p) {
       return has_entry(p, [](const fs::directory_entry& e) { return e.is_directory(); });
     },
     [](const std::string& p, const SourceOptions& o) {
       return load_image_folder(p, o.images).data;
     }},
};

}  // namespace

Dataset open_dataset(const std::string& path, const SourceOptions& options) {
  std::string file = path.starts_with("csv:") ? path.substr(4) : path;
  std::error_code ec;
  if (!fs::exists(file, ec)) fail(ErrorKind::Io, file, ": no such file or directory");
  for (const SourceKind& s : kSources) {
    if (s.matches(path)) return s.open(path, options);
  }
  fail(ErrorKind::InvalidArgument, path,
       ": not a dataset (an .npz file, a .csv file, an IDX directory, a directory of .npy "
       "files, or a directory of class folders of images)");
}

}  // namespace onyx::data
