// Times one model in onnxruntime (CPU): node ort_bench.js MODEL INPUT.npy THREADS ITERS
// Prints {"median_ms": ..., "peak_mb": ...} (peak_mb: see peak_memory.js). Graph
// optimisations at 'all', as a user would run it.
'use strict';
const ort = require('onnxruntime-node');
const { readNpy } = require('./npy');
const { mark } = require('./peak_memory');

async function main() {
  const [model, inputPath, threads, iters] = process.argv.slice(2);
  const memory = mark();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const x = readNpy(inputPath);
  const feeds = { [session.inputNames[0]]: new ort.Tensor(x.type, x.data, x.shape) };
  for (let i = 0; i < 3; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(iters); ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({ median_ms: median, peak_mb: memory.peakMb() }));
}

main().catch((e) => { console.error(e.message); process.exit(2); });
