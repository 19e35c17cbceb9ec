// load_image_folder: torchvision's ImageFolder layout, ROOT/<class>/<image>.
#include "onyx/data/sources.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "onyx/core/error.h"

namespace onyx::data {

namespace {

namespace fs = std::filesystem;

// As torchvision's has_file_allowed_extension: the lower-cased name's ending.
bool is_image_name(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.ends_with(".png") || name.ends_with(".jpg") || name.ends_with(".jpeg");
}

// The names of the entries of `dir` that `keep` accepts, sorted by std::sort: byte order,
// which for UTF-8 names is the code-point order of Python's sorted() in torchvision.
template <typename Keep>
std::vector<std::string> sorted_names(const fs::path& dir, Keep keep) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;  // an entry that vanished or cannot be stat'ed is skipped
    if (keep(*it, type_ec) && !type_ec) names.push_back(it->path().filename().string());
  }
  if (ec) fail(ErrorKind::Io, dir.string(), ": cannot list the directory: ", ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

ImageFolder load_image_folder(const std::string& root, const ImageFolderOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) fail(ErrorKind::Io, root, ": not a directory");
  // Symbolic links to directories count as classes, as os.scandir's is_dir() sees them.
  std::vector<std::string> classes = sorted_names(
      root,
      [](const fs::directory_entry& e, std::error_code& e_ec) { return e.is_directory(e_ec); });
  if (classes.empty()) {
    fail(ErrorKind::InvalidArgument, root, ": no class folders (expected ROOT/<class>/<image>)");
  }
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  std::string empty;
  for (size_t k = 0; k < classes.size(); ++k) {
    fs::path dir = fs::path(root) / classes[k];
    // Only the class folder itself (not its subfolders); other files are ignored.
    std::vector<std::string> names =
        sorted_names(dir, [](const fs::directory_entry& e, std::error_code& e_ec) {
          return e.is_regular_file(e_ec) && is_image_name(e.path().filename().string());
        });
    if (names.empty()) empty += (empty.empty() ? "'" : ", '") + classes[k] + "'";
    for (const std::string& name : names) {
      files.push_back((dir / name).string());
      labels.push_back(static_cast<int64_t>(k));
    }
  }
  // As torchvision (FileNotFoundError): a class without images is a mistake in the layout,
  // and silently keeping it would give the model a label no example carries.
  if (!empty.empty()) {
    fail(ErrorKind::InvalidArgument, root, ": no .png, .jpg or .jpeg files in class folder(s) ",
         empty);
  }

  const auto n = static_cast<int64_t>(files.size());
  Tensor first = read_image(files[0], options.transform);
  const Shape shape = first.shape();  // [C, H, W]
  Tensor images = Tensor::empty(DType::Float32, {n, shape[0], shape[1], shape[2]});
  const auto per_image = static_cast<size_t>(first.numel());
  for (int64_t i = 0; i < n; ++i) {
    Tensor image = i == 0 ? first : read_image(files[i], options.transform);
    // Only possible when the transform keeps the images' own height or width.
    if (image.shape() != shape) {
      fail(ErrorKind::InvalidArgument, files[i], ": image is ", shape_str(image.shape()),
           " (C, H, W) but ", files[0], " is ", shape_str(shape),
           "; images of different sizes need a resize height and width");
    }
    std::memcpy(images.data<float>() + i * per_image, image.data<float>(),
                per_image * sizeof(float));
  }
  ImageFolder folder{Dataset(root), std::move(classes)};
  folder.data.add(options.images, std::move(images));
  folder.data.add(options.labels, Tensor::from_vector<int64_t>({n}, labels));
  return folder;
}

}  // namespace onyx::data
