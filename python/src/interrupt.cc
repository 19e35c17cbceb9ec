#include "interrupt.h"

#include <pybind11/pybind11.h>
#include <pythread.h>

#include <exception>

#include "onyx/core/interrupt.h"

namespace onyx::python {

namespace {

unsigned long main_thread = 0;
int depth = 0;                    // nested scopes (a progress callback calling Session.run)
struct sigaction python_handler;  // Python's own, called on from ours and put back after

extern "C" void on_sigint(int sig) {
  onyx::request_interrupt();
  if (python_handler.sa_handler != SIG_DFL && python_handler.sa_handler != SIG_IGN &&
      !(python_handler.sa_flags & SA_SIGINFO)) {
    python_handler.sa_handler(sig);  // Python notes it, as it would have without us
  }
}

}  // namespace

void note_main_thread() {
  main_thread = PyThread_get_thread_ident();
}

InterruptScope::InterruptScope() : exceptions_(std::uncaught_exceptions()) {
  if (PyThread_get_thread_ident() != main_thread || depth++ > 0) return;
  clear_interrupt();
  // The handler's frame goes on a stack of its own: on the thread's stack it can land on
  // data a kernel keeps below its stack pointer (seen in onyx train: cmd_train.cc). The
  // pool's threads block SIGINT, so it comes to this one.
  static char alt_stack[1 << 16];
  stack_t now{};
  if (::sigaltstack(nullptr, &now) == 0 && (now.ss_flags & SS_DISABLE)) {
    stack_t ss{};
    ss.ss_sp = alt_stack;
    ss.ss_size = sizeof alt_stack;
    ::sigaltstack(&ss, nullptr);
  }
  struct sigaction ours {};
  ours.sa_handler = on_sigint;
  ours.sa_flags = SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  installed_ = ::sigaction(SIGINT, &ours, &python_handler) == 0;
}

InterruptScope::~InterruptScope() {
  if (PyThread_get_thread_ident() != main_thread) return;
  if (--depth > 0 || !installed_) return;
  ::sigaction(SIGINT, &python_handler, nullptr);
  if (interrupt_requested() && std::uncaught_exceptions() > exceptions_) {
    // The call stopped on the interrupt and raises KeyboardInterrupt with its message
    // (bind_errors): run Python's handler now, so that it does not raise a second one later.
    if (PyErr_CheckSignals() != 0) PyErr_Clear();
  }
  clear_interrupt();
}

}  // namespace onyx::python
