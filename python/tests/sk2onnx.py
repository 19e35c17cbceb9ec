"""ONNX-ML attributes from fitted scikit-learn models, derived the way skl2onnx does.

Every converter returns (op_type, attrs): the ai.onnx.ml op name and a dict of ONNX
attribute name -> value. Values are Python lists (float lists become FLOATS, int lists INTS,
str lists STRINGS), plain scalars (FLOAT / INT / STRING), or NumPy arrays for TENSOR
attributes (the *_as_tensor attributes of TreeEnsemble*-3 and the tensors of TreeEnsemble-5).
`make_node` turns a spec into an onnx NodeProto for writing .onnx fixtures.

Where skl2onnx adds extra nodes around the ML op (OneHotEncoder per column, the OvR
post-processing of SVC decision values), the docstring says what the fixture must add.
"""

import math

import numpy as np

ML = "ai.onnx.ml"


def _labels(classes, ints_name, strings_name):
    if all(isinstance(c, str) for c in classes):
        return {strings_name: [str(c) for c in classes]}
    return {ints_name: [int(c) for c in classes]}


def _floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def _f32(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


# ----------------------------------------------------------------------------- linear


def linear_regression(model):
    """LinearRegression / Ridge / Lasso: Y [N, targets] = X @ coef.T + intercept."""
    coef = np.atleast_2d(model.coef_)
    intercept = np.atleast_1d(model.intercept_)
    return "LinearRegressor", {
        "coefficients": _floats(coef),
        "intercepts": _floats(intercept),
        "targets": int(coef.shape[0]),
        "post_transform": "NONE",
    }


def logistic_regression(model):
    """LogisticRegression (lbfgs). Binary: two rows (-w, w) and LOGISTIC, so the scores are
    predict_proba. Multinomial: one row per class and SOFTMAX. OvR (multi_class='ovr' or
    liblinear) would need LOGISTIC followed by a Normalizer(L1) node, as skl2onnx adds."""
    classes = list(model.classes_)
    coef = _floats(model.coef_)
    intercepts = _floats(np.atleast_1d(model.intercept_))
    if len(classes) == 2:
        coef = [-c for c in coef] + coef
        intercepts = [-b for b in intercepts] + intercepts
    multinomial = len(classes) > 2 and getattr(model, "multi_class", "auto") != "ovr"
    attrs = {
        "coefficients": coef,
        "intercepts": intercepts,
        "multi_class": 1 if multinomial else 0,
        "post_transform": "SOFTMAX" if multinomial else "LOGISTIC",
    }
    attrs.update(_labels(classes, "classlabels_ints", "classlabels_strings"))
    return "LinearClassifier", attrs


# ----------------------------------------------------------------------------- SVM


def _svm_common(model):
    return {
        "kernel_type": model.kernel.upper(),
        "kernel_params": [float(model._gamma), float(model.coef0), float(model.degree)],
        "support_vectors": _f32(model.support_vectors_),
    }


def svc(model):
    """SVC / NuSVC. Binary models flip the signs of dual_coef_ and intercept_ back to
    libsvm's convention (positive decision -> first class), as skl2onnx does. With
    probability=True, prob_a/prob_b make Z the Platt/pairwise-coupling probabilities
    (= predict_proba). Without it Z holds the raw one-vs-one decision values
    ([N, C(C-1)/2], = decision_function with decision_function_shape='ovo'; binary: [N, 2]
    holding (d, -d) for sklearn's decision value d); skl2onnx then adds ONNX nodes for the
    'ovr' shape."""
    attrs = _svm_common(model)
    coef = np.asarray(model.dual_coef_, dtype=np.float64).ravel()
    rho = np.asarray(model.intercept_, dtype=np.float64).ravel()
    if len(model.classes_) == 2:
        coef, rho = -coef, -rho
    attrs["coefficients"] = _f32(coef)
    attrs["rho"] = _f32(rho)
    attrs["vectors_per_class"] = [int(v) for v in model.n_support_]
    attrs["post_transform"] = "NONE"
    if len(getattr(model, "probA_", [])) > 0:
        attrs["prob_a"] = _f32(model.probA_)
        attrs["prob_b"] = _f32(model.probB_)
    attrs.update(_labels(list(model.classes_), "classlabels_ints", "classlabels_strings"))
    return "SVMClassifier", attrs


def svr(model):
    """SVR / NuSVR (one_class=0) and OneClassSVM (one_class=1: Y is +1/-1, the sign of
    decision_function)."""
    from sklearn.svm import OneClassSVM

    attrs = _svm_common(model)
    attrs["coefficients"] = _f32(model.dual_coef_)
    attrs["rho"] = _f32(np.atleast_1d(model.intercept_))
    attrs["n_supports"] = int(len(model.support_))
    attrs["one_class"] = 1 if isinstance(model, OneClassSVM) else 0
    attrs["post_transform"] = "NONE"
    return "SVMRegressor", attrs


# ----------------------------------------------------------------------------- trees


def _float32_threshold(th):
    """skl2onnx's sklearn_threshold for float inputs: sklearn compares (float)x <= th in
    double; the largest float32 w <= th gives the same answer as (float)x <= w."""
    f = np.float32(th)
    if f <= th:
        return float(f)
    return float(np.nextafter(f, np.float32(-np.inf)))


def _add_tree(attrs, classifier, tree, tree_id, tree_weight, id_bias, counts):
    prefix = "class" if classifier else "target"
    for i in range(tree.node_count):
        leaf = not (tree.children_left[i] > i or tree.children_right[i] > i)
        attrs["nodes_treeids"].append(tree_id)
        attrs["nodes_nodeids"].append(i)
        attrs["nodes_featureids"].append(0 if leaf else int(tree.feature[i]))
        attrs["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
        attrs["nodes_values"].append(0.0 if leaf else _float32_threshold(tree.threshold[i]))
        attrs["nodes_truenodeids"].append(0 if leaf else int(tree.children_left[i]))
        attrs["nodes_falsenodeids"].append(0 if leaf else int(tree.children_right[i]))
        attrs["nodes_missing_value_tracks_true"].append(0)
        attrs["nodes_hitrates"].append(1.0)
        if not leaf:
            continue
        w = np.asarray(tree.value[i], dtype=np.float64).ravel()
        factor = tree_weight
        if counts:
            s = w.sum()
            factor /= s if s != 0 else 1.0
        w = [float(v * factor) for v in w]
        if classifier and len(w) == 2:
            w = [w[1]]  # binary: the positive class only, class id 0 (see the op's binary case)
        for k, v in enumerate(w):
            attrs[prefix + "_treeids"].append(tree_id)
            attrs[prefix + "_nodeids"].append(i)
            attrs[prefix + "_ids"].append(k + id_bias)
            attrs[prefix + "_weights"].append(v)


def _tree_attrs(classifier):
    names = ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
             "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
             "nodes_missing_value_tracks_true", "nodes_hitrates"]
    prefix = "class" if classifier else "target"
    names += [prefix + s for s in ("_treeids", "_nodeids", "_ids", "_weights")]
    attrs = {n: [] for n in names}
    attrs["post_transform"] = "NONE"
    return attrs


def _f32_lists(attrs):
    for k in ("nodes_values", "class_weights", "target_weights", "base_values"):
        if k in attrs:
            attrs[k] = _f32(attrs[k])
    return attrs


def tree_classifier(model):
    """DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier: leaf class
    counts normalised to probabilities, each tree weighted 1/n_trees, post NONE."""
    trees = getattr(model, "estimators_", None)
    trees = [model] if trees is None else list(trees)
    attrs = _tree_attrs(True)
    for t, est in enumerate(trees):
        _add_tree(attrs, True, est.tree_, t, 1.0 / len(trees), 0, True)
    attrs.update(_labels(list(model.classes_), "classlabels_int64s", "classlabels_strings"))
    return "TreeEnsembleClassifier", _f32_lists(attrs)


def tree_regressor(model):
    """DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor: SUM of leaf
    values weighted 1/n_trees."""
    trees = getattr(model, "estimators_", None)
    trees = [model] if trees is None else list(trees)
    attrs = _tree_attrs(False)
    for t, est in enumerate(trees):
        _add_tree(attrs, False, est.tree_, t, 1.0 / len(trees), 0, False)
    attrs["n_targets"] = int(model.n_outputs_)
    attrs["aggregate_function"] = "SUM"
    return "TreeEnsembleRegressor", _f32_lists(attrs)


def gradient_boosting_classifier(model):
    """GradientBoostingClassifier (log_loss, init=None): base_values = the init raw score,
    leaves weighted by the learning rate. Binary: one tree per stage, all class ids 0,
    LOGISTIC. Multiclass: tree i*K+c feeds class c, SOFTMAX."""
    attrs = _tree_attrs(True)
    n_features = model.estimators_[0, 0].n_features_in_
    attrs["base_values"] = _floats(model._raw_predict_init(np.zeros((1, n_features))))
    k = model.n_classes_
    for i in range(model.n_estimators_):
        if k == 2:
            _add_tree(attrs, True, model.estimators_[i][0].tree_, i, model.learning_rate, 0,
                      False)
        else:
            for c in range(k):
                _add_tree(attrs, True, model.estimators_[i][c].tree_, i * k + c,
                          model.learning_rate, c, False)
    attrs["post_transform"] = "LOGISTIC" if k == 2 else "SOFTMAX"
    attrs.update(_labels(list(model.classes_), "classlabels_int64s", "classlabels_strings"))
    return "TreeEnsembleClassifier", _f32_lists(attrs)


def gradient_boosting_regressor(model):
    attrs = _tree_attrs(False)
    attrs["base_values"] = _floats(np.atleast_1d(model.init_.constant_))
    for i in range(model.n_estimators_):
        _add_tree(attrs, False, model.estimators_[i][0].tree_, i, model.learning_rate, 0, False)
    attrs["n_targets"] = 1
    attrs["aggregate_function"] = "SUM"
    return "TreeEnsembleRegressor", _f32_lists(attrs)


def as_tensor_attrs(attrs):
    """TreeEnsemble*-3: the double *_as_tensor attributes in place of the float lists."""
    out = dict(attrs)
    for k in ("nodes_values", "class_weights", "target_weights", "base_values",
              "nodes_hitrates"):
        if k in out:
            out[k + "_as_tensor"] = np.asarray(out.pop(k), dtype=np.float64)
    return out


_MODE5 = {"BRANCH_LEQ": 0, "BRANCH_LT": 1, "BRANCH_GTE": 2, "BRANCH_GT": 3, "BRANCH_EQ": 4,
          "BRANCH_NEQ": 5, "BRANCH_MEMBER": 6}
_AGG5 = {"AVERAGE": 0, "SUM": 1, "MIN": 2, "MAX": 3}
_POST5 = {"NONE": 0, "SOFTMAX": 1, "LOGISTIC": 2, "SOFTMAX_ZERO": 3, "PROBIT": 4}


def tree_ensemble_v5(regressor_attrs, dtype=np.float32):
    """TreeEnsembleRegressor-1/3 attributes -> TreeEnsemble-5 (ML opset 5). A TreeEnsemble
    leaf feeds one target, so when leaves vote for several targets (multi-output trees) each
    tree is copied once per target (AVERAGE weights are scaled to keep the mean). A one-leaf
    tree becomes one node whose two branches reach the same leaf; base_values (SUM only)
    become one-leaf trees."""
    a = regressor_attrs
    n = len(a["nodes_nodeids"])
    key = {(a["nodes_treeids"][i], a["nodes_nodeids"][i]): i for i in range(n)}
    votes = {}
    for j, (t, nid) in enumerate(zip(a["target_treeids"], a["target_nodeids"])):
        votes.setdefault((t, nid), []).append(j)
    n_targets = int(a["n_targets"])
    multi = any(len(v) > 1 for v in votes.values())
    agg = a.get("aggregate_function", "SUM")
    scale = n_targets if (multi and agg == "AVERAGE") else 1
    mvt = a.get("nodes_missing_value_tracks_true") or [0] * n
    out = {k: [] for k in ("nodes_featureids", "nodes_splits", "nodes_modes",
                           "nodes_truenodeids", "nodes_trueleafs", "nodes_falsenodeids",
                           "nodes_falseleafs", "nodes_missing_value_tracks_true")}
    leaf_targetids, leaf_weights, roots = [], [], []

    def add_leaf(tree, nid, target):
        v = votes.get((tree, nid), [])
        if target is not None:
            v = [j for j in v if a["target_ids"][j] == target]
        if len(v) > 1:
            raise ValueError("leaf with several votes for one target")
        leaf_targetids.append(int(a["target_ids"][v[0]]) if v else (target or 0))
        leaf_weights.append(float(a["target_weights"][v[0]]) * scale if v else 0.0)
        return len(leaf_weights) - 1

    def add_node(feature, split, mode, mv):
        for k, v in (("nodes_featureids", feature), ("nodes_splits", split),
                     ("nodes_modes", mode), ("nodes_missing_value_tracks_true", mv)):
            out[k].append(v)
        for k in ("nodes_truenodeids", "nodes_trueleafs", "nodes_falsenodeids",
                  "nodes_falseleafs"):
            out[k].append(0)
        return len(out["nodes_featureids"]) - 1

    for target in (range(n_targets) if multi else [None]):
        for tree in sorted(set(a["nodes_treeids"])):
            members = [i for i in range(n) if a["nodes_treeids"][i] == tree]
            new_index = {}
            for i in members:
                if a["nodes_modes"][i] != "LEAF":
                    new_index[i] = add_node(int(a["nodes_featureids"][i]),
                                            float(a["nodes_values"][i]),
                                            _MODE5[a["nodes_modes"][i]], int(mvt[i]))

            def child(nid):
                i = key[(tree, nid)]
                if a["nodes_modes"][i] != "LEAF":
                    return new_index[i], 0
                return add_leaf(tree, nid, target), 1

            for i in members:
                if i in new_index:
                    k = new_index[i]
                    (out["nodes_truenodeids"][k], out["nodes_trueleafs"][k]) = child(
                        a["nodes_truenodeids"][i])
                    (out["nodes_falsenodeids"][k], out["nodes_falseleafs"][k]) = child(
                        a["nodes_falsenodeids"][i])
            r = members[0]
            if r in new_index:
                roots.append(new_index[r])
            else:
                k = add_node(0, 0.0, 0, 0)
                lid = add_leaf(tree, a["nodes_nodeids"][r], target)
                out["nodes_truenodeids"][k] = out["nodes_falsenodeids"][k] = lid
                out["nodes_trueleafs"][k] = out["nodes_falseleafs"][k] = 1
                roots.append(k)
    base = list(a.get("base_values") or [])
    if any(base):
        # TreeEnsemble has no base_values: a one-leaf tree per target adds them to the sum.
        if agg != "SUM":
            raise ValueError("base_values with %s cannot be expressed in TreeEnsemble" % agg)
        for t in range(n_targets):
            k = add_node(0, 0.0, 0, 0)
            leaf_targetids.append(t)
            leaf_weights.append(float(base[t] if len(base) > 1 else base[0]))
            out["nodes_truenodeids"][k] = out["nodes_falsenodeids"][k] = len(leaf_weights) - 1
            out["nodes_trueleafs"][k] = out["nodes_falseleafs"][k] = 1
            roots.append(k)
    out["nodes_splits"] = np.asarray(out["nodes_splits"], dtype=dtype)
    out["nodes_modes"] = np.asarray(out["nodes_modes"], dtype=np.uint8)
    out["leaf_targetids"] = leaf_targetids
    out["leaf_weights"] = np.asarray(leaf_weights, dtype=dtype)
    out["tree_roots"] = roots
    out["n_targets"] = n_targets
    out["aggregate_function"] = _AGG5[agg]
    out["post_transform"] = _POST5[a.get("post_transform", "NONE")]
    return "TreeEnsemble", out


# ----------------------------------------------------------------------------- preprocessing


def standard_scaler(model):
    """StandardScaler: Y = (X - mean) * (1 / scale)."""
    n = model.n_features_in_
    offset = model.mean_ if model.with_mean else np.zeros(n)
    scale = 1.0 / model.scale_ if model.with_std else np.ones(n)
    return "Scaler", {"offset": _floats(offset), "scale": _floats(scale)}


def normalizer(model):
    return "Normalizer", {"norm": model.norm.upper()}


def binarizer(model):
    return "Binarizer", {"threshold": float(model.threshold)}


def one_hot_encoder(model):
    """OneHotEncoder: skl2onnx encodes each column separately (ArrayFeatureExtractor of
    column i, OneHotEncoder with that column's categories, reshape [N,1,K] -> [N,K]) and
    concatenates. Returns one spec per input column, in order."""
    specs = []
    for cats in model.categories_:
        if cats.dtype.kind in "OUS":
            attrs = {"cats_strings": [str(c) for c in cats]}
        else:
            attrs = {"cats_int64s": [int(c) for c in cats]}
        attrs["zeros"] = 1 if model.handle_unknown == "ignore" else 0
        specs.append(("OneHotEncoder", attrs))
    return specs


def simple_imputer(model):
    """SimpleImputer on floats (missing_values=NaN or a number)."""
    mv = model.missing_values
    replaced = float("nan") if mv is None or (isinstance(mv, float) and math.isnan(mv)) else mv
    return "Imputer", {"imputed_value_floats": _floats(model.statistics_),
                       "replaced_value_float": float(replaced)}


def label_encoder(model, inverse=False):
    """sklearn LabelEncoder as ai.onnx.ml LabelEncoder-2+: class -> index (transform), or
    index -> class (inverse_transform). Unknown inputs get -1 / '_Unused' (sklearn raises)."""
    classes = list(model.classes_)
    idx = list(range(len(classes)))
    if isinstance(classes[0], str):
        keys, vals = {"keys_strings": classes}, {"values_int64s": idx}
    elif isinstance(classes[0], (float, np.floating)):
        keys, vals = {"keys_floats": _floats(classes)}, {"values_int64s": idx}
    else:
        keys, vals = {"keys_int64s": [int(c) for c in classes]}, {"values_int64s": idx}
    if inverse:
        (kname, kv), (_, vv) = next(iter(keys.items())), next(iter(vals.items()))
        keys = {"keys_int64s": vv}
        vals = {kname.replace("keys_", "values_"): kv}
    attrs = dict(keys)
    attrs.update(vals)
    return "LabelEncoder", attrs


# ----------------------------------------------------------------------------- fixtures


def make_node(spec, inputs, outputs, name=None):
    """An onnx NodeProto (domain ai.onnx.ml) for (op_type, attrs)."""
    from onnx import helper, numpy_helper

    op_type, attrs = spec
    node = helper.make_node(op_type, inputs, outputs, domain=ML, name=name)
    for k, v in attrs.items():
        if isinstance(v, np.ndarray):
            t = numpy_helper.from_array(v, name=k)
            node.attribute.append(helper.make_attribute(k, t))
        elif isinstance(v, list) and not v:
            continue  # onnx cannot type an empty list; absent means the default
        else:
            node.attribute.append(helper.make_attribute(k, v))
    return node
