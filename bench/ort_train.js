// Runs a training step (onyx make-training) for several steps in onnxruntime (CPU):
//   node ort_train.js STEP_MODEL OUTDIR STEPS NAME=STACKED.npy... init:NAME=FILE.npy...
// Each NAME=FILE feeds row s of FILE (stacked along axis 0) at step s; init:NAME=FILE feeds
// FILE at the first step only. Every output "<X>_new" is fed back as X at the next step.
// Writes OUTDIR/losses.npy (the first output at each step) and, after the last step, each
// output i to OUTDIR/<i>.npy.
// onnxruntime-node ignores feeds for inputs that have initializers (its inputNames leave
// them out), so the model given here must hold the state as plain inputs, fed by init:.
'use strict';
const ort = require('onnxruntime-node');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

function row(x, s) {
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  return new ort.Tensor(x.type, x.data.slice(s * per, (s + 1) * per), x.shape.slice(1));
}

async function main() {
  const [model, outDir, stepsArg, ...feedArgs] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const stacked = [];
  const carried = {};
  for (const arg of feedArgs) {
    const eq = arg.indexOf('=');
    const [name, x] = [arg.slice(0, eq), readNpy(arg.slice(eq + 1))];
    if (name.startsWith('init:')) {
      carried[name.slice(5)] = new ort.Tensor(x.type, x.data, x.shape);
    } else {
      stacked.push([name, x]);
    }
  }
  const losses = [];
  let results;
  for (let s = 0; s < Number(stepsArg); ++s) {
    const feeds = { ...carried };
    for (const [name, x] of stacked) feeds[name] = row(x, s);
    results = await session.run(feeds);
    losses.push(results[session.outputNames[0]].data[0]);
    for (const name of session.outputNames) {
      if (name.endsWith('_new')) carried[name.slice(0, -4)] = results[name];
    }
  }
  writeNpy(path.join(outDir, 'losses.npy'), { type: 'float32', dims: [losses.length], data: Float32Array.from(losses) });
  session.outputNames.forEach((name, i) => writeNpy(path.join(outDir, `${i}.npy`), results[name]));
}

main().catch((e) => { console.error(e.message); process.exit(2); });
