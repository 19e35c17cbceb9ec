// Peak resident memory since mark(), as bench/peak_memory.h measures it for onyx: the
// kernel's high-water mark is reset at mark() and read at peakMb(), less the resident
// size at mark() (node and onnxruntime's library are left out).
'use strict';
const fs = require('fs');

function statusKb(field) {
  const m = new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(fs.readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) : 0;
}

function mark() {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch (e) {
    // Without the reset the figure includes what node held before: larger, never smaller.
  }
  const start = statusKb('VmRSS');
  return { peakMb: () => (statusKb('VmHWM') - start) / 1024 };
}

module.exports = { mark };
