// Ctrl-C during a long call (Session.run, fit, evaluate, predict): the call runs with the
// GIL released, so Python's own SIGINT handler only notes the signal and nothing stops.
// While an InterruptScope lives (on the main thread, the GIL held at both ends), SIGINT also
// asks the library to stop at its next safe point (core/interrupt.h): between nodes, or
// between training steps after writing last.onnx. The call then raises KeyboardInterrupt
// with the library's message, once (the signal Python noted is consumed).
#pragma once

#include <signal.h>

namespace onyx::python {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  bool installed_ = false;
  int exceptions_ = 0;
};

void note_main_thread();  // at import, which Python runs on its main thread

}  // namespace onyx::python
