"""onyx.InferenceSession against onnxruntime (onnxruntime-node, driven by bench/ort_run.js)
and PyTorch's outputs: metadata, values, zero-copy feeds and results, threads."""
import json
import os
import signal
import subprocess
import threading

import numpy as np
import pytest

import onyx
from conftest import MODELS, SOURCE, node_case


def ort_metadata(model):
    """onnxruntime's (name, shape, type) of each input and output, in onyx's spelling."""
    script = ("const ort=require('onnxruntime-node');ort.InferenceSession.create(process.argv[1])"
              ".then(s=>console.log(JSON.stringify([s.inputMetadata,s.outputMetadata])))")
    out = subprocess.run(["node", "-e", script, model], check=True, capture_output=True, text=True,
                         cwd=os.path.join(SOURCE, "bench")).stdout
    types = {"float32": "tensor(float)", "int64": "tensor(int64)"}
    return [[(m["name"], m["shape"], types[m["type"]]) for m in side] for side in json.loads(out)]


def ort_names(model):
    return [[name for name, _, _ in side] for side in ort_metadata(model)]


@pytest.mark.parametrize("name", ["mlp_op17.onnx", "cnn_op17.onnx", "transformer_op17.onnx", "training/mlp.onnx"])
def test_metadata_matches_onnxruntime(name):
    path = os.path.join(MODELS, name)
    sess = onyx.InferenceSession(path)
    ours = [[(a.name, a.shape, a.type) for a in args] for args in (sess.get_inputs(), sess.get_outputs())]
    assert ours == ort_metadata(path)


def ort_outputs(model, feeds, tmp_path):
    args = []
    for name, value in feeds.items():
        np.save(tmp_path / f"{name}.npy", value)
        args.append(f"{name}={tmp_path / (name + '.npy')}")
    subprocess.run(["node", os.path.join(SOURCE, "bench/ort_run.js"), model, str(tmp_path), *args], check=True)
    return [np.load(tmp_path / f"{i}.npy") for i in range(len(ort_names(model)[1]))]


@pytest.mark.parametrize("name", ["mlp_op17", "cnn_op17", "resnet18_op17", "transformer_op17"])
def test_matches_onnxruntime_and_pytorch(name, tmp_path):
    path = os.path.join(MODELS, name + ".onnx")
    x = np.load(os.path.join(MODELS, name + "_input.npy"))
    sess = onyx.InferenceSession(path, threads=2)
    inputs, outputs = sess.get_inputs(), sess.get_outputs()
    assert [i.name for i in inputs] == ort_names(path)[0]
    assert [o.name for o in outputs] == ort_names(path)[1]
    assert inputs[0].type == "tensor(float)"
    assert inputs[0].shape == list(x.shape)
    ours = sess.run(None, {inputs[0].name: x})
    theirs = ort_outputs(path, {inputs[0].name: x}, tmp_path)
    assert len(ours) == len(theirs) == 1
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours[0], np.load(os.path.join(MODELS, name + "_output.npy")), rtol=1e-4, atol=1e-4)
    assert sess.run([outputs[0].name], {inputs[0].name: x})[0].shape == ours[0].shape


def test_symbolic_dims_are_strings(models):
    sess = onyx.InferenceSession(os.path.join(models, "training", "mlp.onnx"))
    (x,) = sess.get_inputs()
    assert x.shape == ["batch", 12]
    assert sess.get_outputs()[0].shape[0] == "batch"
    assert sess.get_providers() == ["CPUExecutionProvider"]


def test_sources_of_models(models):
    path = os.path.join(models, "mlp_op17.onnx")
    with open(path, "rb") as f:
        data = f.read()
    x = np.load(os.path.join(models, "mlp_op17_input.npy"))
    want = onyx.InferenceSession(path).run(None, {"input": x})[0]
    for source in (data, onyx.Model.load(path), onyx.Model.from_bytes(data)):
        np.testing.assert_array_equal(onyx.InferenceSession(source).run(None, {"input": x})[0], want)
    opts = onyx.SessionOptions()
    opts.intra_op_num_threads = 1
    np.testing.assert_array_equal(onyx.InferenceSession(path, opts).run(None, {"input": x})[0], want)


def test_feeds_and_results_are_not_copied():
    # Identity hands its input's buffer on: the result is the array that was fed.
    sess = onyx.InferenceSession(node_case("test_identity"))
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    (y,) = sess.run(None, {"x": x})
    assert y.ctypes.data == x.ctypes.data, "in and out without a copy"
    assert not y.flags.owndata  # the runtime's buffer, kept alive by the array
    # A strided view is made contiguous first (and the model sees the right values).
    view = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)[:, :, :, ::2]
    (z,) = sess.run(None, {"x": view})
    np.testing.assert_array_equal(z, view)
    assert z.ctypes.data != view.ctypes.data


def test_results_outlive_the_session(models):
    x = np.load(os.path.join(models, "mlp_op17_input.npy"))
    sess = onyx.InferenceSession(os.path.join(models, "mlp_op17.onnx"))
    y = sess.run(None, {"input": x})[0]
    want = y.copy()
    del sess
    np.testing.assert_array_equal(y, want)


def test_sequences_optionals_and_strings():
    sess = onyx.InferenceSession(node_case("test_identity_sequence"))
    seq = [np.ones((2, 3), np.float32), np.zeros((1, 3), np.float32)]
    (out,) = sess.run(None, {sess.get_inputs()[0].name: seq})
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_array_equal(out[1], seq[1])
    assert sess.get_inputs()[0].type == "seq(tensor(float))"
    opt = onyx.InferenceSession(node_case("test_identity_opt"))
    (none,) = opt.run(None, {opt.get_inputs()[0].name: None})
    assert none is None
    strings = onyx.InferenceSession(node_case("test_strnormalizer_export_monday_casesensintive_lower"))
    words = np.array(["monday", "tuesday", "Wednesday", "MONDAY"], dtype=object)
    (s,) = strings.run(None, {"x": words})  # drops "monday" (case-sensitively), lower-cases
    assert s.dtype == object and list(s) == ["tuesday", "wednesday", "monday"]


def test_threads_share_one_session(models):
    x = np.load(os.path.join(models, "cnn_op17_input.npy"))
    sess = onyx.InferenceSession(os.path.join(models, "cnn_op17.onnx"), threads=1)
    want = sess.run(None, {"input": x})[0]
    batches = [x * (k + 1) for k in range(6)]
    expected = [sess.run(None, {"input": b})[0] for b in batches]
    got = [None] * len(batches)

    def work(k):
        for _ in range(5):
            got[k] = sess.run(None, {"input": batches[k]})[0]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(len(batches)):
        np.testing.assert_array_equal(got[k], expected[k])
    np.testing.assert_array_equal(sess.run(None, {"input": x})[0], want)


def test_onnx_model_protos_in_and_out(models):
    import onnx  # Debian's python3-onnx, which scripts/setup installs
    path = os.path.join(models, "training", "mlp.onnx")
    proto = onnx.load(path)
    x = np.zeros((2, 12), np.float32)
    np.testing.assert_array_equal(onyx.InferenceSession(proto).run(None, {"x": x})[0],
                                  onyx.InferenceSession(path).run(None, {"x": x})[0])
    step = onyx.autodiff.make_training(proto, optimizer="sgd", as_type="proto")
    assert isinstance(step, onnx.ModelProto)
    onnx.checker.check_model(step)  # onyx writes what ONNX's own checker accepts
    assert step.graph.output[0].name == "loss"
    trained = onyx.train.fit(proto, (np.zeros((8, 12), np.float32), np.zeros(8, np.int64)), epochs=1,
                             batch_size=4, progress=False, as_type="proto")
    assert isinstance(trained.model, onnx.ModelProto)


def test_graph_optimization_level_off_runs_nodes_as_written(models):
    """ORT_DISABLE_ALL turns onyx's rewrites off (blocked convolutions, fusions): the same
    outputs to float rounding, as onnxruntime's levels promise."""
    path = os.path.join(models, "cnn_op17.onnx")
    x = np.load(os.path.join(models, "cnn_op17_input.npy"))
    off = onyx.SessionOptions()
    off.graph_optimization_level = onyx.GraphOptimizationLevel.ORT_DISABLE_ALL
    plain = onyx.InferenceSession(path, off).run(None, {"input": x})[0]
    fast = onyx.InferenceSession(path).run(None, {"input": x})[0]
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-6)
    assert onyx.SessionOptions().graph_optimization_level == onyx.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_limits_bound_memory_and_loops():
    saved = onyx.limits()
    assert saved["max_memory"] > 0 and saved["max_loop_iterations"] == 0
    loop = onyx.InferenceSession(node_case("test_loop11"))  # five trips
    feeds = {"trip_count": np.array(5, np.int64), "cond": np.array(True), "y": np.array([-2], np.float32)}
    try:
        onyx.set_limits(max_loop_iterations=2)
        with pytest.raises(onyx.ResourceLimit, match=r"\(Loop\): stopped after 2 iterations"):
            loop.run(None, feeds)
        onyx.set_limits(max_loop_iterations=0)
        assert len(loop.run(None, feeds)) == 2

        onyx.set_limits(max_memory="4G")
        assert onyx.limits()["max_memory"] == 4 << 30
        small = onyx.InferenceSession(node_case("test_abs"))
        onyx.set_limits(max_memory=onyx.limits()["memory_in_use"] + 16)  # the output needs 240
        with pytest.raises(onyx.ResourceLimit, match=r"node .*\(Abs\).*memory limit"):
            small.run(None, {"x": np.ones((3, 4, 5), np.float32)})
        with pytest.raises(onyx.InvalidArgument, match="max_memory: 'lots'"):
            onyx.set_limits(max_memory="lots")
    finally:
        onyx.set_limits(max_memory=saved["max_memory"], max_loop_iterations=saved["max_loop_iterations"])


def test_ctrl_c_stops_a_long_run_between_nodes():
    from onnx import TensorProto, helper

    # A Loop of a million iterations, adding 1 each time: seconds of nodes, stopped early.
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]), helper.make_node("Add", ["x", "one"], ["x_out"])],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("x", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [])],
        [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "x0"], ["x"], body=body)], "g",
        [helper.make_tensor_value_info("n", TensorProto.INT64, []),
         helper.make_tensor_value_info("x0", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [])])
    sess = onyx.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    feeds = {"n": np.array(1_000_000, np.int64), "x0": np.array(0, np.float32)}
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="interrupted before node"):
            sess.run(None, feeds)
    finally:
        timer.cancel()
    # The interrupt is spent: the next run goes to its end.
    feeds["n"] = np.array(1000, np.int64)
    assert sess.run(None, feeds)[0] == 1000
