"""scikit-learn models as ai.onnx.ml graphs (sk2onnx.py derives the attributes the way
skl2onnx does; PyPI's skl2onnx is not at hand), run by onyx.InferenceSession: the same
predictions, probabilities and transforms as scikit-learn's own."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from sklearn import datasets, ensemble, linear_model, preprocessing, svm, tree
from sklearn.impute import SimpleImputer

import onyx
import sk2onnx


def ml_session(nodes, n_features, outputs, ml_opset=3, dtype=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, "sklearn", [helper.make_tensor_value_info("X", dtype, [None, n_features])],
                              [helper.make_value_info(name, onnx.TypeProto()) for name in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.ml", ml_opset)])
    model.ir_version = 8
    return onyx.InferenceSession(model.SerializeToString())


@pytest.fixture(scope="module")
def iris():
    x, y = datasets.load_iris(return_X_y=True)
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def diabetes():
    x, y = datasets.load_diabetes(return_X_y=True)
    return x.astype(np.float32), y


def classify(model, x, spec=None):
    spec = spec or converter(model)(model)
    sess = ml_session([sk2onnx.make_node(spec, ["X"], ["label", "scores"])], x.shape[1], ["label", "scores"])
    return sess.run(None, {"X": x})


def converter(model):
    if isinstance(model, linear_model.LogisticRegression):
        return sk2onnx.logistic_regression
    if isinstance(model, svm.SVC):
        return sk2onnx.svc
    if isinstance(model, (ensemble.GradientBoostingClassifier,)):
        return sk2onnx.gradient_boosting_classifier
    return sk2onnx.tree_classifier


@pytest.mark.parametrize("make", [
    lambda: linear_model.LogisticRegression(max_iter=500),
    lambda: svm.SVC(probability=True, random_state=0),
    lambda: svm.SVC(kernel="linear", probability=True, random_state=0),
    lambda: tree.DecisionTreeClassifier(max_depth=4, random_state=0),
    lambda: ensemble.RandomForestClassifier(n_estimators=12, max_depth=5, random_state=0),
    lambda: ensemble.GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0),
], ids=["logistic", "svc_rbf", "svc_linear", "decision_tree", "random_forest", "gradient_boosting"])
@pytest.mark.parametrize("classes", [2, 3])
def test_classifiers_match_scikit_learn(make, classes, iris):
    x, y = iris
    keep = y < classes
    x, y = x[keep], y[keep]
    model = make().fit(x, y)
    label, scores = classify(model, x)
    np.testing.assert_array_equal(label, model.predict(x))
    np.testing.assert_allclose(scores, model.predict_proba(x), atol=2e-5)


def test_string_labels_and_zipmap(iris):
    x, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = ensemble.RandomForestClassifier(n_estimators=5, random_state=0).fit(x, names)
    spec = sk2onnx.tree_classifier(model)
    zipmap = helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml",
                              classlabels_strings=[str(c) for c in model.classes_])
    sess = ml_session([sk2onnx.make_node(spec, ["X"], ["label", "scores"]), zipmap], x.shape[1],
                      ["label", "probabilities"])
    label, probabilities = sess.run(None, {"X": x[:7]})
    assert list(label) == list(model.predict(x[:7]))
    want = model.predict_proba(x[:7])
    for row, p in zip(probabilities, want):
        assert list(row) == list(model.classes_)
        assert [row[c] for c in model.classes_] == pytest.approx(list(p), abs=1e-6)


@pytest.mark.parametrize("make,convert", [
    (lambda: linear_model.LinearRegression(), sk2onnx.linear_regression),
    (lambda: svm.SVR(C=30.0), sk2onnx.svr),
    (lambda: tree.DecisionTreeRegressor(max_depth=5, random_state=0), sk2onnx.tree_regressor),
    (lambda: ensemble.RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0), sk2onnx.tree_regressor),
    (lambda: ensemble.GradientBoostingRegressor(n_estimators=20, random_state=0), sk2onnx.gradient_boosting_regressor),
], ids=["linear", "svr", "decision_tree", "random_forest", "gradient_boosting"])
def test_regressors_match_scikit_learn(make, convert, diabetes):
    x, y = diabetes
    model = make().fit(x, y)
    sess = ml_session([sk2onnx.make_node(convert(model), ["X"], ["Y"])], x.shape[1], ["Y"])
    (pred,) = sess.run(None, {"X": x})
    np.testing.assert_allclose(pred.ravel(), model.predict(x), rtol=1e-5, atol=1e-3)


def test_tree_ensemble_5_and_double_thresholds(diabetes):
    x, y = diabetes
    model = ensemble.RandomForestRegressor(n_estimators=6, max_depth=5, random_state=0).fit(x, y)
    regressor = sk2onnx.tree_regressor(model)[1]
    sess = ml_session([sk2onnx.make_node(sk2onnx.tree_ensemble_v5(regressor), ["X"], ["Y"])], x.shape[1],
                      ["Y"], ml_opset=5)
    (pred,) = sess.run(None, {"X": x})
    np.testing.assert_allclose(pred.ravel(), model.predict(x), rtol=1e-5, atol=1e-3)
    spec = ("TreeEnsembleRegressor", sk2onnx.as_tensor_attrs(regressor))
    sess = ml_session([sk2onnx.make_node(spec, ["X"], ["Y"])], x.shape[1], ["Y"], dtype=TensorProto.DOUBLE)
    (pred,) = sess.run(None, {"X": x.astype(np.float64)})
    np.testing.assert_allclose(pred.ravel(), model.predict(x.astype(np.float64)), rtol=1e-6, atol=1e-4)


def test_preprocessing_matches_scikit_learn(iris):
    x, y = iris
    x = x.copy()
    for make, convert in [(preprocessing.StandardScaler, sk2onnx.standard_scaler),
                          (lambda: preprocessing.Normalizer(norm="l1"), sk2onnx.normalizer),
                          (lambda: preprocessing.Normalizer(norm="max"), sk2onnx.normalizer),
                          (lambda: preprocessing.Binarizer(threshold=2.5), sk2onnx.binarizer)]:
        model = make().fit(x)
        sess = ml_session([sk2onnx.make_node(convert(model), ["X"], ["Y"])], x.shape[1], ["Y"])
        (out,) = sess.run(None, {"X": x})
        np.testing.assert_allclose(out, model.transform(x), rtol=1e-5, atol=1e-6)
    holes = x.copy()
    holes[::7, 1] = np.nan
    holes[3::11, 2] = np.nan
    imputer = SimpleImputer(strategy="mean").fit(holes)
    sess = ml_session([sk2onnx.make_node(sk2onnx.simple_imputer(imputer), ["X"], ["Y"])], x.shape[1], ["Y"])
    (out,) = sess.run(None, {"X": holes})
    np.testing.assert_allclose(out, imputer.transform(holes), rtol=1e-6)


def test_label_encoder_both_ways():
    words = np.array(["owl", "cat", "dog", "cat", "emu"])
    model = preprocessing.LabelEncoder().fit(words)
    graph = helper.make_graph([sk2onnx.make_node(sk2onnx.label_encoder(model), ["X"], ["Y"])], "le",
                              [helper.make_tensor_value_info("X", TensorProto.STRING, [None])],
                              [helper.make_tensor_value_info("Y", TensorProto.INT64, [None])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    m.ir_version = 8
    (codes,) = onyx.InferenceSession(m.SerializeToString()).run(None, {"X": words})
    np.testing.assert_array_equal(codes, model.transform(words))
