#include "onyx/tools/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "onyx/core/error.h"

namespace onyx::tools {

namespace {

struct Point {
  double x, y;
};

std::string num(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Splits one CSV line (no quoting: the file is onyx's own).
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  if (!line.empty() && line.back() == ',') f.emplace_back();
  return f;
}

}  // namespace

std::string training_curves_svg(const std::string& csv, const std::string& source) {
  std::istringstream in(csv);
  std::string line;
  if (!std::getline(in, line) || line.rfind("step,epoch,loss,test_accuracy", 0) != 0) {
    fail(ErrorKind::InvalidArgument, source,
         ": not a training log (expected the header step,epoch,loss,test_accuracy)");
  }
  std::vector<Point> loss, acc;
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    std::vector<std::string> f = fields(line);
    try {
      if (f.size() < 4) throw std::invalid_argument("fields");
      double step = std::stod(f[0]);
      if (!f[2].empty()) loss.push_back({step, std::stod(f[2])});
      if (!f[3].empty()) acc.push_back({step, std::stod(f[3])});
    } catch (const std::exception&) {
      fail(ErrorKind::InvalidArgument, source, ": line ", row, " is not step,epoch,loss,accuracy");
    }
  }
  if (loss.empty()) fail(ErrorKind::InvalidArgument, source, ": no loss values");
  // A moving average over ~1% of the run keeps the trend readable.
  size_t w = std::max<size_t>(1, loss.size() / 100);
  std::vector<Point> smooth;
  double sum = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    sum += loss[i].y;
    if (i >= w) sum -= loss[i - w].y;
    smooth.push_back({loss[i].x, sum / static_cast<double>(std::min(i + 1, w))});
  }
  const double W = 800, H = 420, left = 60, right = 60, top = 30, bottom = 50;
  double x0 = loss.front().x, x1 = std::max(loss.back().x, x0 + 1);
  double ymax = 0;
  for (const auto& p : loss) ymax = std::max(ymax, p.y);
  ymax = ymax > 0 ? ymax * 1.05 : 1;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto py_loss = [&](double y) { return top + (1 - y / ymax) * (H - top - bottom); };
  auto py_acc = [&](double a) { return top + (1 - a) * (H - top - bottom); };
  auto polyline = [&](const std::vector<Point>& pts, auto py, const char* style) {
    std::string s = "<polyline fill=\"none\" " + std::string(style) + " points=\"";
    for (const auto& p : pts) s += num(px(p.x), 6) + "," + num(py(p.y), 6) + " ";
    return s + "\"/>\n";
  };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" font-family=\"Helvetica\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << W / 2 << "\" y=\"18\" text-anchor=\"middle\">training loss and test "
      << "accuracy (" << source << ")</text>\n";
  // Axes and ticks: loss on the left, accuracy on the right, steps below.
  svg << "<g stroke=\"#999\"><line x1=\"" << left << "\" y1=\"" << H - bottom << "\" x2=\""
      << W - right << "\" y2=\"" << H - bottom << "\"/><line x1=\"" << left << "\" y1=\"" << top
      << "\" x2=\"" << left << "\" y2=\"" << H - bottom << "\"/><line x1=\"" << W - right
      << "\" y1=\"" << top << "\" x2=\"" << W - right << "\" y2=\"" << H - bottom << "\"/></g>\n";
  for (int i = 0; i <= 4; ++i) {
    double f = i / 4.0;
    svg << "<text x=\"" << left - 6 << "\" y=\"" << py_loss(f * ymax) + 4
        << "\" text-anchor=\"end\">" << num(f * ymax) << "</text>\n"
        << "<text x=\"" << W - right + 6 << "\" y=\"" << py_acc(f) + 4 << "\">" << num(f)
        << "</text>\n"
        << "<text x=\"" << px(x0 + f * (x1 - x0)) << "\" y=\"" << H - bottom + 16
        << "\" text-anchor=\"middle\">" << num(x0 + f * (x1 - x0), 6) << "</text>\n";
  }
  svg << "<text x=\"" << W / 2 << "\" y=\"" << H - 10 << "\" text-anchor=\"middle\">step</text>\n"
      << "<text x=\"14\" y=\"" << H / 2 << "\" transform=\"rotate(-90 14 " << H / 2
      << ")\" text-anchor=\"middle\" fill=\"#1f77b4\">loss</text>\n"
      << "<text x=\"" << W - 14 << "\" y=\"" << H / 2 << "\" transform=\"rotate(90 " << W - 14
      << " " << H / 2 << ")\" text-anchor=\"middle\" fill=\"#d62728\">test accuracy</text>\n";
  svg << polyline(loss, py_loss, "stroke=\"#aec7e8\" stroke-width=\"0.7\"")
      << polyline(smooth, py_loss, "stroke=\"#1f77b4\" stroke-width=\"1.8\"");
  if (!acc.empty()) {
    svg << polyline(acc, py_acc, "stroke=\"#d62728\" stroke-width=\"1.8\"");
    for (const auto& p : acc) {
      svg << "<circle cx=\"" << num(px(p.x), 6) << "\" cy=\"" << num(py_acc(p.y), 6)
          << "\" r=\"3\" fill=\"#d62728\"><title>" << num(p.y, 4) << "</title></circle>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace onyx::tools
