"""Peak resident memory since mark(), as bench/peak_memory.h measures it for onyx: the
kernel's high-water mark is reset at mark() and read by the returned function, less the
resident size at mark() (Python and the imported torch are left out)."""
import re


def _status_kb(field):
    with open("/proc/self/status") as f:
        m = re.search(rf"^{field}:\s*(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else 0


def mark():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # without the reset the figure includes what came before: larger, never smaller
    start = _status_kb("VmRSS")
    return lambda: (_status_kb("VmHWM") - start) / 1024
