// A request from outside to stop long work at its next safe point: Ctrl-C in `onyx train`
// (its SIGINT/SIGTERM handler) or a KeyboardInterrupt in Python. Plans look between nodes
// (Loop bodies between iterations), the trainer between steps, where it writes a
// checkpoint that resumes exactly before it stops. Process-wide, as a signal is.
#pragma once

namespace onyx {

void request_interrupt() noexcept;  // async-signal-safe: a lock-free atomic store
bool interrupt_requested() noexcept;
void clear_interrupt() noexcept;

}  // namespace onyx
