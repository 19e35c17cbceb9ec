// DOT to SVG through Graphviz's own library (gvc), in memory: no `dot` process, no
// temporary files, no shell for a user's path to reach.
#include <graphviz/gvc.h>

#include <memory>

#include "onyx/core/error.h"
#include "onyx/onnx/dot.h"

namespace onyx::onnx_io {

std::string dot_to_svg(const std::string& dot) {
  std::unique_ptr<GVC_t, int (*)(GVC_t*)> gvc(gvContext(), gvFreeContext);
  if (!gvc) fail(ErrorKind::Internal, "Graphviz: no context");
  std::unique_ptr<Agraph_t, int (*)(Agraph_t*)> g(agmemread(dot.c_str()), agclose);
  if (!g) fail(ErrorKind::InvalidArgument, "Graphviz cannot read the DOT text");
  if (gvLayout(gvc.get(), g.get(), "dot") != 0)
    fail(ErrorKind::Internal, "Graphviz: the dot layout failed (is graphviz installed?)");
  char* data = nullptr;
  unsigned int size = 0;
  int rc = gvRenderData(gvc.get(), g.get(), "svg", &data, &size);
  std::string svg = rc == 0 && data ? std::string(data, size) : std::string();
  if (data) gvFreeRenderData(data);
  gvFreeLayout(gvc.get(), g.get());
  if (rc != 0 || svg.empty()) fail(ErrorKind::Internal, "Graphviz: rendering SVG failed");
  return svg;
}

}  // namespace onyx::onnx_io
