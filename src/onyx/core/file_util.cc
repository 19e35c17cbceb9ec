#include "onyx/core/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "onyx/core/error.h"

namespace onyx {

namespace {

void require_regular(const std::string& path, const struct stat& st) {
  if (S_ISDIR(st.st_mode)) fail(ErrorKind::Io, "'", path, "' is a directory, not a file");
  if (!S_ISREG(st.st_mode))
    fail(ErrorKind::Io, "'", path, "' is not a regular file (a FIFO, socket or device)");
}

}  // namespace

void require_regular_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) require_regular(path, st);
}

size_t checked_file_size(const std::string& path, size_t max_bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    fail(ErrorKind::Io, "cannot open '", path, "': ", std::strerror(errno));
  }
  require_regular(path, st);
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    fail(ErrorKind::ResourceLimit, "'", path, "' is ", st.st_size, " bytes, over the limit of ",
         max_bytes);
  }
  return static_cast<size_t>(st.st_size);
}

std::string read_file(const std::string& path, size_t max_bytes) {
  size_t size = checked_file_size(path, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, "cannot open '", path, "': ", std::strerror(errno));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<size_t>(in.gcount()) != bytes.size()) {
    fail(ErrorKind::Io, "cannot read '", path, "': short read");
  }
  return bytes;
}

namespace {

// The process's umask, read without changing it (umask(2) would, for every thread).
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "Umask:") {
      std::string octal;
      status >> octal;
      unsigned mask = 022;
      std::from_chars(octal.data(), octal.data() + octal.size(), mask, 8);
      return static_cast<mode_t>(mask);
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 022;
}

}  // namespace

// Written beside `path` under a name nobody can guess or have made first (mkostemp opens
// with O_EXCL: an existing file or symlink of that name is never written through), synced,
// renamed over `path`, and the directory synced. After a crash at any moment, `path`
// holds its old bytes or the new ones; a failed write (a full disk, a file-size limit)
// leaves it as it was and removes the temporary file.
void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::Io, "cannot write '", path, "': ", std::strerror(errno));
  auto give_up = [&](const char* doing, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(ErrorKind::Io, "cannot ", doing, " '", path, "': ", std::strerror(err));
  };
  // mkostemp makes the file 0600; a new file would get 0666 less the umask.
  if (::fchmod(fd, 0666 & ~current_umask()) != 0) give_up("write", errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      give_up("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) give_up("write", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::Io, "cannot write '", path, "': ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::Io, "cannot rename onto '", path, "': ", std::strerror(err));
  }
  // The rename is on disk only once the directory is.
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

std::string directory_of(const std::string& path) {
  std::string d = std::filesystem::path(path).parent_path().string();
  return d.empty() ? "." : d;
}

}  // namespace onyx
