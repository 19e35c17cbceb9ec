// Runs a model once in onnxruntime (CPU): node ort_run.js MODEL OUTDIR NAME=FILE.npy...
// Writes each output to OUTDIR/<index>.npy. Used by the interop tests.
'use strict';
const ort = require('onnxruntime-node');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

async function main() {
  const [model, outDir, ...feedArgs] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const feeds = {};
  for (const arg of feedArgs) {
    const eq = arg.indexOf('=');
    const x = readNpy(arg.slice(eq + 1));
    feeds[arg.slice(0, eq)] = new ort.Tensor(x.type, x.data, x.shape);
  }
  const results = await session.run(feeds);
  session.outputNames.forEach((name, i) => writeNpy(path.join(outDir, `${i}.npy`), results[name]));
}

main().catch((e) => { console.error(e.message); process.exit(2); });
