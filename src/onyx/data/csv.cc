// CSV tables (RFC 4180: comma-separated, double-quoted fields that may hold commas, line
// breaks and "" for a quote; CRLF or LF line ends) read as numeric features and a target.
#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "onyx/core/error.h"
#include "onyx/core/file_util.h"
#include "onyx/data/sources.h"

namespace onyx::data {

namespace {

// Splits the text into records, counting physical lines for error messages.
class CsvReader {
 public:
  CsvReader(const std::string& text, const std::string& path) : s_(text), path_(path) {
    if (s_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // the UTF-8 mark spreadsheets write first
  }

  // The next record and the line it starts on; `blank` for a line of nothing but spaces.
  // False at the end of the text.
  bool next(std::vector<std::string>& cells, bool& blank, size_t& line) {
    if (pos_ >= s_.size()) return false;
    cells.clear();
    line = line_;
    size_t eol = std::min(s_.find('\n', pos_), s_.size());
    size_t first = s_.find_first_not_of(" \t\r", pos_);
    blank = first == std::string::npos || first >= eol;
    if (blank) {
      pos_ = eol + 1;
      ++line_;
      return true;
    }
    for (;;) {
      cells.push_back(field());
      if (pos_ >= s_.size()) return true;
      if (s_[pos_++] == '\n') {
        ++line_;
        return true;
      }
    }
  }

 private:
  // One field, unquoted (trimmed) or quoted (kept as written), leaving pos_ at the ',' or
  // line break after it.
  std::string field() {
    size_t p = s_.find_first_not_of(" \t", pos_);
    if (p == std::string::npos || s_[p] != '"') {
      size_t end = std::min(s_.find_first_of(",\n", pos_), s_.size());
      std::string cell = s_.substr(pos_, end - pos_);
      pos_ = end;
      size_t b = cell.find_first_not_of(" \t\r");
      if (b == std::string::npos) return "";
      return cell.substr(b, cell.find_last_not_of(" \t\r") - b + 1);
    }
    size_t start_line = line_;
    std::string out;
    for (++p;; ++p) {
      if (p >= s_.size()) {
        fail(ErrorKind::InvalidArgument, path_, ":", start_line, ": a quoted field never ends");
      }
      if (s_[p] == '"') {
        if (p + 1 < s_.size() && s_[p + 1] == '"') {
          out += '"';
          ++p;
          continue;
        }
        break;
      }
      if (s_[p] == '\n') ++line_;
      out += s_[p];
    }
    p = std::min(s_.find_first_not_of(" \t\r", p + 1), s_.size());
    if (p < s_.size() && s_[p] != ',' && s_[p] != '\n') {
      fail(ErrorKind::InvalidArgument, path_, ":", line_,
           ": text after a quoted field's closing quote");
    }
    pos_ = p;
    return out;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0, line_ = 1;
};

// A cell as an error shows it: long ones cut, so that one bad cell cannot flood the message.
std::string shown(const std::string& cell) {
  return cell.size() <= 40 ? cell : cell.substr(0, 40) + "...";
}

float parse_cell(const std::string& cell, const std::string& path, size_t line,
                 const std::string& column) {
  if (cell.empty()) {
    fail(ErrorKind::InvalidArgument, path, ":", line, ": column '", column, "' is empty");
  }
  const char* begin = cell.data();
  const char* end = begin + cell.size();
  // from_chars takes no leading '+', which spreadsheets and hand-written tables use.
  if (cell.size() > 1 && cell[0] == '+' && cell[1] != '-' && cell[1] != '+') ++begin;
  double v = 0;
  auto [stop, ec] = std::from_chars(begin, end, v);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && std::isfinite(v) && std::fabs(v) > FLT_MAX)) {
    fail(ErrorKind::InvalidArgument, path, ":", line, ": column '", column, "' holds '",
         shown(cell), "', outside float32's range");
  }
  if (ec != std::errc() || stop != end) {
    fail(ErrorKind::InvalidArgument, path, ":", line, ": column '", column, "' holds '",
         shown(cell), "', not a number");
  }
  return static_cast<float>(v);
}

std::string column_list(const std::vector<std::string>& header) {
  std::string out;
  for (const auto& h : header) out += (out.empty() ? "'" : ", '") + h + "'";
  return out;
}

}  // namespace

Dataset load_csv(const std::string& path, const CsvOptions& options) {
  std::string text = read_file(path);
  CsvReader reader(text, path);
  std::vector<std::string> header, cells;
  bool blank = false;
  size_t line = 0;
  if (!reader.next(header, blank, line)) fail(ErrorKind::InvalidArgument, path, ": empty file");
  if (blank) fail(ErrorKind::InvalidArgument, path, ":", line, ": no header row");
  size_t target = header.size();
  for (size_t j = 0; j < header.size(); ++j) {
    if (header[j] != options.target) continue;
    if (target != header.size()) {
      fail(ErrorKind::InvalidArgument, path, ":", line, ": two columns named '", options.target,
           "'");
    }
    target = j;
  }
  if (target == header.size()) {
    fail(ErrorKind::InvalidArgument, path, ": no target column '", options.target,
         "'; the columns are ", column_list(header));
  }
  if (header.size() < 2) {
    fail(ErrorKind::InvalidArgument, path, ": only the target column '", options.target,
         "', no feature columns");
  }

  std::vector<float> features, labels;
  size_t blank_line = 0;  // a blank line is fine at the end only
  while (reader.next(cells, blank, line)) {
    if (blank) {
      if (!blank_line) blank_line = line;
      continue;
    }
    if (blank_line) fail(ErrorKind::InvalidArgument, path, ":", blank_line, ": empty line");
    if (cells.size() != header.size()) {
      fail(ErrorKind::InvalidArgument, path, ":", line, ": ", cells.size(),
           " cells, but the header has ", header.size(), " columns");
    }
    for (size_t j = 0; j < cells.size(); ++j) {
      (j == target ? labels : features).push_back(parse_cell(cells[j], path, line, header[j]));
    }
  }
  if (labels.empty()) fail(ErrorKind::InvalidArgument, path, ": no data rows after the header");

  const auto n = static_cast<int64_t>(labels.size());
  Dataset data(path);
  data.add(options.features,
           Tensor::from_vector<float>({n, static_cast<int64_t>(header.size() - 1)}, features));
  data.add(options.labels, Tensor::from_vector<float>({n}, labels));
  return data;
}

}  // namespace onyx::data
