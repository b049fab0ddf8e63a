"""Every fast path gives the same numbers as the plain computation it skips.

The performance work added shortcuts that must be invisible in the results:
lean validation in ``partial_fit`` and warm starts, class labels encoded by
lookup in ``classes_``, prediction without ``validate_data`` for plain float
arrays, buffers kept between ``partial_fit`` calls, parameter validation only
when a parameter changed, hand-written replacements for ``shuffle`` and
``gen_batches``, boolean class indicators in the core, the softmax log-loss
read off the link's output, and scipy's BLAS limited to one thread during
L-BFGS.  Each test runs the shortcut and a plain reference side by side and
asserts the same numbers: exactly where the same arithmetic runs, otherwise
to a stated tolerance.  Where a test needs to know that the shortcut was
really taken, it spies on it.  No test measures time.

Writing this module found three bugs, fixed since: a warm-start refit took
the lean path and skipped the same-classes check; a 0-d ``y`` crashed the
lean path instead of falling back; boolean class indicators promoted the
float32 softmax loss to float64.  The tests named after them keep them fixed.
"""

import contextlib
import os
import pickle
import warnings

import numpy as np
import pytest
import scipy
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import gen_batches, shuffle
from threadpoolctl import threadpool_info

import skbp._base
import skbp._lbfgs
import skbp._training
from skbp import BackpropClassifier, BackpropRegressor
from skbp._activations import ACTIVATIONS
from skbp._base import _BaseBackprop
from skbp._lbfgs import _scipy_blas_on_one_thread
from skbp._losses import get_output_layer
from skbp._network import Network, loss_and_grad
from skbp._training import _batch_slices, _shuffled

N_FEATURES = 3
N_CALLS, ROWS_PER_CALL = 4, 24

CLASSES = {
    "binary": np.array([-1, 1]),
    "multiclass": np.array([10, 20, 30, 40]),
    "strings": np.array(["ant", "bee", "cat"]),
    "int32-labels": np.arange(3),  # int64 classes_, int32 labels on the lean path
}


SMALL_MODEL = {
    "hidden_layer_sizes": (5,),
    "batch_size": 8,
    "learning_rate_init": 0.01,
    "random_state": 0,
}


def _classifier(solver, **params):
    return BackpropClassifier(solver=solver, **{**SMALL_MODEL, **params})


def _regressor(solver, **params):
    return BackpropRegressor(solver=solver, **{**SMALL_MODEL, **params})


def _calls(seed, make_y, rows=(ROWS_PER_CALL,) * N_CALLS, sample_weight=None):
    """``(X, y, sample_weight)`` per call of a stream, ``rows[i]`` rows in call i.

    Plain C-contiguous float64 arrays; ``sample_weight`` is the weights' dtype,
    or None for no weights.
    """
    rng = np.random.default_rng(seed)
    calls = []
    for n_rows in rows:
        X = rng.normal(size=(n_rows, N_FEATURES))
        sw = None
        if sample_weight is not None:
            sw = rng.uniform(0.1, 2.0, size=n_rows).astype(sample_weight)
        calls.append((X, make_y(rng, n_rows), sw))
    return calls


def _labels(kind):
    classes = CLASSES[kind]

    def make_y(rng, n_rows):
        y = classes[rng.integers(len(classes), size=n_rows)]
        return y.astype(np.int32) if kind == "int32-labels" else y

    return make_y


def _targets(n_outputs):
    def make_y(rng, n_rows):
        shape = (n_rows,) if n_outputs == 1 else (n_rows, n_outputs)
        return rng.normal(size=shape)

    return make_y


def _as_list(array):
    return None if array is None else array.tolist()


# Inputs that take the full ``validate_data`` path: X as a list or in Fortran
# order, y and sample_weight as lists.
FULL_PATH_INPUTS = {
    "list": lambda X, y, sw: (X.tolist(), y.tolist(), _as_list(sw)),
    "fortran": lambda X, y, sw: (np.asfortranarray(X), y.tolist(), _as_list(sw)),
}


def _stream(model, calls, convert=None, classes=None):
    for i, (X, y, sw) in enumerate(calls):
        if convert is not None:
            X, y, sw = convert(X, y, sw)
        kwargs = {} if classes is None or i > 0 else {"classes": classes}
        model.partial_fit(X, y, sample_weight=sw, **kwargs)
    return model


def _assert_same_training(model, reference):
    assert len(model.coefs_) == len(reference.coefs_)
    for got, expected in zip(
        model.coefs_ + model.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        assert got.dtype == expected.dtype
        assert_array_equal(got, expected)
    assert_array_equal(model.loss_curve_, reference.loss_curve_)
    assert model.t_ == reference.t_


@pytest.fixture
def lean_path_taken(monkeypatch):
    """Record, per call, whether ``_plain_training_data`` took the lean path."""
    taken = []
    original = _BaseBackprop._plain_training_data

    def spy(self, X, y, sample_weight):
        result = original(self, X, y, sample_weight)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(_BaseBackprop, "_plain_training_data", spy)
    return taken


# ------------------------------------------- 1. lean validation in partial_fit


@pytest.mark.parametrize("full_path", sorted(FULL_PATH_INPUTS))
@pytest.mark.parametrize("sw_dtype", [None, np.float64, np.float32])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_classifier_partial_fit_lean_path_equals_full_validation(
    kind, solver, sw_dtype, full_path, lean_path_taken
):
    calls = _calls(1, _labels(kind), sample_weight=sw_dtype)
    classes = CLASSES[kind]
    lean = _stream(_classifier(solver), calls, classes=classes)
    assert lean_path_taken == [True] * (N_CALLS - 1)  # the first call fits anew
    lean_path_taken.clear()
    full = _stream(_classifier(solver), calls, FULL_PATH_INPUTS[full_path], classes)
    assert lean_path_taken == [False] * (N_CALLS - 1)
    assert_array_equal(lean.classes_, full.classes_)
    _assert_same_training(lean, full)


@pytest.mark.parametrize("full_path", sorted(FULL_PATH_INPUTS))
@pytest.mark.parametrize("sw_dtype", [None, np.float64])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_partial_fit_lean_path_equals_full_validation(
    n_outputs, solver, sw_dtype, full_path, lean_path_taken
):
    calls = _calls(2, _targets(n_outputs), sample_weight=sw_dtype)
    lean = _stream(_regressor(solver), calls)
    assert lean_path_taken == [True] * (N_CALLS - 1)
    lean_path_taken.clear()
    full = _stream(_regressor(solver), calls, FULL_PATH_INPUTS[full_path])
    assert lean_path_taken == [False] * (N_CALLS - 1)
    _assert_same_training(lean, full)


@pytest.mark.parametrize("make_model", [_classifier, _regressor])
def test_partial_fit_lean_path_keeps_float32_as_fortran_input_does(
    make_model, lean_path_taken
):
    make_y = _labels("multiclass") if make_model is _classifier else _targets(2)
    calls = [
        (X.astype(np.float32), y, sw)
        for X, y, sw in _calls(3, make_y, sample_weight=np.float32)
    ]
    classes = CLASSES["multiclass"] if make_model is _classifier else None

    def fortran(X, y, sw):
        return np.asfortranarray(X), y, sw

    lean = _stream(make_model("adam"), calls, classes=classes)
    assert lean_path_taken == [True] * (N_CALLS - 1)
    full = _stream(make_model("adam"), calls, fortran, classes)
    assert lean.coefs_[0].dtype == np.float32
    _assert_same_training(lean, full)


def test_warm_start_lean_path_refuses_missing_classes_as_full_path_does():
    X, y, _ = _calls(4, _labels("int32-labels"), rows=(40,))[0]
    clf = _classifier("adam", warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        kept = y != 2
        with pytest.raises(ValueError, match="same classes"):
            clf.fit(X[kept].tolist(), y[kept])
        with pytest.raises(ValueError, match="same classes"):
            clf.fit(X[kept], y[kept])


def _error_type(call):
    try:
        call()
    except Exception as error:  # the type is what is compared
        return type(error)
    return None


@pytest.mark.parametrize("make_model", [_classifier, _regressor])
def test_partial_fit_lean_path_falls_back_for_zero_dimensional_y(make_model):
    make_y = _labels("int32-labels") if make_model is _classifier else _targets(1)
    X, y, _ = _calls(5, make_y, rows=(ROWS_PER_CALL,))[0]
    model = make_model("sgd")
    kwargs = {"classes": CLASSES["int32-labels"]} if make_model is _classifier else {}
    model.partial_fit(X, y, **kwargs)
    scalar_y = np.array(1)
    expected = _error_type(lambda: model.partial_fit(X[:1].tolist(), scalar_y))
    assert expected is not None
    assert _error_type(lambda: model.partial_fit(X[:1], scalar_y)) is expected


# -------------------------------------------- 2. class labels encoded by lookup


def _fitted_classifier(classes, seed=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(classes), N_FEATURES))
    clf = _classifier("sgd", batch_size="auto")
    return clf.partial_fit(X, classes, classes=classes)


LOOKUP_CASES = {
    "binary": (np.array([-1, 1]), np.array([1, -1, -1, 1, 1])),
    "multiclass": (np.array([10, 20, 30, 40]), np.array([40, 10, 30, 20, 10])),
    "strings": (np.array(["ant", "bee", "cat"]), np.array(["cat", "ant", "bee"])),
    "short-strings": (np.array(["ant", "bee", "cat"]), np.array(["cat", "ant"])),
    "floats": (np.array([0.0, 1.0, 2.0]), np.array([2.0, 0.0, 1.0, 1.0])),
    "int32-for-int64": (np.arange(3), np.array([2, 0, 1, 2], dtype=np.int32)),
    "floats-for-ints": (np.arange(3), np.array([2.0, 0.0, 1.0])),
    "one-class-of-two": (np.array([-1, 1]), np.array([1, 1, 1])),
}


@pytest.mark.parametrize("case", sorted(LOOKUP_CASES))
def test_encode_by_lookup_equals_label_binarizer(case):
    classes, y = LOOKUP_CASES[case]
    clf = _fitted_classifier(classes)
    encoded = clf._encode_by_lookup(y)
    expected = LabelBinarizer().fit(classes).transform(y).astype(bool)
    assert encoded is not None
    assert encoded.dtype == bool
    assert_array_equal(encoded, expected)


FALLBACK_CASES = {
    "unknown-int": (np.arange(3), np.array([0, 5, 1])),
    "unknown-below": (np.arange(3), np.array([-1, 0])),
    "between-classes": (np.arange(3), np.array([0.5, 1.0])),
    "unknown-string": (np.array(["ant", "bee"]), np.array(["ant", "cow"])),
    "nan": (np.array([0.0, 1.0, 2.0]), np.array([0.0, np.nan, 1.0])),
    "two-dimensional": (np.arange(3), np.array([[0], [1], [2]])),
    "numbers-for-strings": (np.array(["ant", "bee"]), np.array([0, 1])),
    "strings-for-numbers": (np.arange(3), np.array(["0", "1"])),
    "mixed-object": (np.arange(3), np.array([0, "1"], dtype=object)),
    "bytes-for-str": (np.array(["ant", "bee"]), np.array([b"ant", b"bee"])),
}


@pytest.mark.parametrize("case", sorted(FALLBACK_CASES))
def test_encode_by_lookup_falls_back_for_labels_it_cannot_encode(case):
    classes, y = FALLBACK_CASES[case]
    assert _fitted_classifier(classes)._encode_by_lookup(y) is None


def test_partial_fit_with_unknown_class_still_raises():
    clf = _fitted_classifier(np.arange(3))
    X = np.random.default_rng(7).normal(size=(3, N_FEATURES))
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match=r"classes not in `self.classes_`.*\[0 1 2\]"):
        clf.partial_fit(X, np.array([0, 7, 1]))
    assert pickle.dumps(clf) == before


def test_partial_fit_with_nan_in_X_still_raises():
    clf = _fitted_classifier(np.arange(3))
    X = np.random.default_rng(8).normal(size=(3, N_FEATURES))
    X[1, 2] = np.nan
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match="NaN"):
        clf.partial_fit(X, np.array([0, 2, 1]))
    assert pickle.dumps(clf) == before


# --------------------------------------------------- 3. prediction fast path


@pytest.fixture(scope="module")
def fitted_models():
    models = {}
    for kind in ("binary", "multiclass"):
        calls = _calls(9, _labels(kind))
        models[kind] = _stream(_classifier("adam"), calls, classes=CLASSES[kind])
    for n_outputs in (1, 2):
        calls = _calls(10, _targets(n_outputs))
        models[f"regression-{n_outputs}"] = _stream(_regressor("adam"), calls)
    return models


def _prediction_methods(model):
    if isinstance(model, BackpropClassifier):
        return [model.predict, model.predict_proba, model.predict_log_proba]
    return [model.predict]


MODEL_NAMES = ["binary", "multiclass", "regression-1", "regression-2"]


@pytest.fixture
def validate_data_calls(monkeypatch):
    """Count the calls of ``validate_data`` made by the estimators."""
    calls = []
    original = skbp._base.validate_data

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(skbp._base, "validate_data", spy)
    return calls


@pytest.mark.parametrize("full_path", ["list", "fortran"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_on_plain_input_equal_validated_input(
    name, full_path, fitted_models, validate_data_calls
):
    model = fitted_models[name]
    X = np.random.default_rng(11).normal(size=(15, N_FEATURES))
    other = X.tolist() if full_path == "list" else np.asfortranarray(X)
    for method in _prediction_methods(model):
        validate_data_calls.clear()
        fast = method(X)
        assert validate_data_calls == []
        validated = method(other)
        assert validate_data_calls == [1]
        assert_array_equal(fast, validated)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_on_plain_input_match_sparse_input(name, fitted_models):
    model = fitted_models[name]
    X = np.random.default_rng(12).normal(size=(15, N_FEATURES))
    X[X < 0.3] = 0.0
    for method in _prediction_methods(model):
        fast, from_sparse = method(X), method(sp.csr_matrix(X))
        if from_sparse.dtype.kind == "f":
            # A sparse product sums the same terms in another order: round-off.
            assert_allclose(fast, from_sparse, rtol=1e-12)
        else:
            assert_array_equal(fast, from_sparse)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_with_assume_finite_are_unchanged(name, fitted_models):
    model = fitted_models[name]
    X = np.random.default_rng(13).normal(size=(15, N_FEATURES))
    expected = [method(X) for method in _prediction_methods(model)]
    with sklearn.config_context(assume_finite=True):
        for method, reference in zip(_prediction_methods(model), expected, strict=True):
            assert_array_equal(method(X), reference)
            assert_array_equal(method(X.tolist()), reference)
    previous = sklearn.get_config()["assume_finite"]
    sklearn.set_config(assume_finite=True)
    try:
        for method, reference in zip(_prediction_methods(model), expected, strict=True):
            assert_array_equal(method(X), reference)
    finally:
        sklearn.set_config(assume_finite=previous)


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predictions_on_non_finite_input_raise(name, value, fitted_models):
    model = fitted_models[name]
    X = np.random.default_rng(14).normal(size=(15, N_FEATURES))
    X[7, 1] = value
    for method in _prediction_methods(model):
        with pytest.raises(ValueError, match="NaN|infinity"):
            method(X)


# ------------------------------------------ 4. buffers kept between partial_fit


def _round_trip(model):
    return pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("make_model", [_classifier, _regressor])
def test_partial_fit_with_kept_buffers_equals_stream_through_pickle(make_model, solver):
    is_classifier = make_model is _classifier
    make_y = _labels("multiclass") if is_classifier else _targets(2)
    calls = _calls(15, make_y, sample_weight=np.float64)
    classes = CLASSES["multiclass"] if is_classifier else None
    kept = make_model(solver)
    workspaces = []
    for i, call in enumerate(calls):
        _stream(kept, [call], classes=classes if i == 0 else None)
        workspaces.append(kept._workspace)
    assert all(workspace is workspaces[0] for workspace in workspaces)

    dropped = make_model(solver)
    for i, call in enumerate(calls):
        dropped = _round_trip(dropped)
        assert "_workspace" not in dropped.__dict__
        _stream(dropped, [call], classes=classes if i == 0 else None)
    _assert_same_training(kept, dropped)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("make_model", [_classifier, _regressor])
def test_partial_fit_with_changing_batch_sizes_equals_fresh_buffers(make_model, solver):
    is_classifier = make_model is _classifier
    make_y = _labels("multiclass") if is_classifier else _targets(1)
    calls = _calls(16, make_y, rows=[32, 50, 7, 50])
    classes = CLASSES["multiclass"] if is_classifier else None
    kept = make_model(solver, batch_size="auto")
    fresh = make_model(solver, batch_size="auto")
    for i, call in enumerate(calls):
        first = {"classes": classes} if i == 0 and is_classifier else {}
        _stream(kept, [call], **first)
        fresh = _round_trip(fresh)
        _stream(fresh, [call], **first)
    # 32 rows, then 50 (new buffers), then 7 and 50 in the 50-row buffers.
    assert kept._workspace.max_rows == 50
    _assert_same_training(kept, fresh)


# ------------------------------------ 5. parameters re-validated when changed


@pytest.mark.parametrize(
    "name, bad_value",
    [
        ("learning_rate_init", -1.0),
        ("batch_size", 0),
        ("momentum", 1.5),
        ("alpha", -1.0),
        ("activation", "sigmoid"),
    ],
)
@pytest.mark.parametrize("make_model", [_classifier, _regressor])
def test_partial_fit_revalidates_parameters_set_between_calls(
    make_model, name, bad_value
):
    is_classifier = make_model is _classifier
    make_y = _labels("binary") if is_classifier else _targets(1)
    calls = _calls(17, make_y, rows=(ROWS_PER_CALL,) * 2)
    classes = CLASSES["binary"] if is_classifier else None

    reference = _stream(make_model("sgd"), calls, classes=classes)

    model = _stream(make_model("sgd"), calls[:1], classes=classes)
    good_value = getattr(model, name)
    model.set_params(**{name: bad_value})
    before = pickle.dumps(model)
    with pytest.raises(ValueError, match=name):
        _stream(model, calls[1:])
    assert pickle.dumps(model) == before
    model.set_params(**{name: good_value})
    _stream(model, calls[1:])
    _assert_same_training(model, reference)


def test_partial_fit_revalidates_an_equal_but_new_value_and_accepts_it():
    calls = _calls(18, _targets(1))
    reference = _stream(_regressor("adam"), calls)
    model = _stream(_regressor("adam"), calls[:1])
    model.set_params(learning_rate_init=float("0.01"), hidden_layer_sizes=[5])
    _stream(model, calls[1:])
    _assert_same_training(model, reference)


# ------------------------------------------------ 6. training-loop helpers


@pytest.mark.parametrize("n_samples", [1, 2, 7, 100, 1000])
@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_shuffled_equals_sklearn_shuffle(seed, n_samples):
    index = np.random.default_rng(seed).permutation(n_samples)
    ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
    fast, reference = index, index
    for _ in range(3):  # as epochs chain them: each permutes the previous one
        fast = _shuffled(fast, ours)
        reference = shuffle(reference, random_state=theirs)
        assert_array_equal(fast, reference)


@pytest.mark.parametrize("batch_size", [1, 3, 5, 10, 32, 200])
@pytest.mark.parametrize("n_samples", [1, 2, 5, 10, 33, 64, 100])
def test_batch_slices_equal_gen_batches(n_samples, batch_size):
    assert list(_batch_slices(n_samples, batch_size)) == list(
        gen_batches(n_samples, batch_size)
    )


# -------------------------------------------------------------- 7. the core

BOOLEAN_TARGET_PAIRS = [
    ("log_loss", "softmax"),
    ("log_loss", "logistic"),
    ("squared_error", "logistic"),
]


def _boolean_target_cases():
    for pair in BOOLEAN_TARGET_PAIRS:
        for dtype in (np.float64, np.float32):
            for weighted in (False, True):
                name = f"{'-'.join(pair)}-{dtype.__name__}-w{int(weighted)}"
                yield pytest.param(pair, dtype, weighted, id=name)


@pytest.mark.parametrize("pair, dtype, weighted", list(_boolean_target_cases()))
def test_loss_and_grad_with_boolean_targets_equals_float_targets(pair, dtype, weighted):
    rng = np.random.default_rng(19)
    network = Network((4, 5, 3), (ACTIVATIONS["tanh"],), get_output_layer(*pair))
    theta = network.init_parameters(np.random.RandomState(0), dtype)
    theta += rng.uniform(-0.2, 0.2, size=theta.shape).astype(dtype)
    X = rng.normal(size=(20, 4)).astype(dtype)
    y = np.eye(3, dtype=bool)[rng.integers(3, size=20)]
    if pair[1] == "logistic":
        y[rng.random(20) < 0.3, 0] = True  # rows with several or no labels too
    sw = rng.uniform(0.5, 2.0, size=20).astype(dtype) if weighted else None
    loss_bool, grad_bool = loss_and_grad(theta, X, y, sw, network=network, alpha=0.1)
    grad_bool = grad_bool.copy()
    loss, grad = loss_and_grad(
        theta, X, y.astype(dtype), sw, network=network, alpha=0.1
    )
    assert grad_bool.dtype == dtype
    assert_array_equal(grad_bool, grad)
    assert loss_bool == loss


@pytest.mark.parametrize("scale", [1.0, 30.0, 800.0, 1e4])
def test_softmax_log_loss_equals_logsumexp_reference(scale):
    rng = np.random.default_rng(20)
    raw = rng.uniform(-scale, scale, size=(200, 5))
    y = np.eye(5)[rng.integers(5, size=200)]
    layer = get_output_layer("log_loss", "softmax")
    prediction = layer.link(raw.copy(), out=np.empty_like(raw))
    loss = layer.per_sample_loss(y, raw, prediction)
    reference = logsumexp(raw, axis=1) - (y * raw).sum(axis=1)
    assert np.isfinite(loss).all()
    # Relative 1e-12, plus a few ulps of the largest |raw| of the row: where
    # the target is the largest unit, both sides cancel lse - raw_max and are
    # only good to the rounding of raw_max itself.
    atol = 4 * np.spacing(np.abs(raw).max(axis=1))
    assert (np.abs(loss - reference) <= 1e-12 * np.abs(reference) + atol).all()
    if scale >= 800:  # naive softmax: exp overflows or underflows, log(0)
        with np.errstate(all="ignore"):
            naive = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
            naive_loss = -(y * np.log(naive)).sum(axis=1)
        assert not np.isfinite(naive_loss).all()


# ----------------------------------------- 8. scipy's BLAS on one thread


def _blas_threads():
    return {
        info["filepath"]: info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas"
    }


def test_scipy_blas_limited_to_one_thread_inside_context_only():
    scipy_dir = os.path.dirname(scipy.__file__)
    before = _blas_threads()
    with _scipy_blas_on_one_thread():
        inside = _blas_threads()
    after = _blas_threads()
    assert inside.keys() == before.keys()
    for filepath, threads in inside.items():
        if filepath.startswith(scipy_dir):
            assert threads == 1, filepath
        else:
            assert threads == before[filepath], filepath
    assert after == before


def _lbfgs_fit():
    rng = np.random.default_rng(21)
    X = rng.normal(size=(80, N_FEATURES))
    y = CLASSES["multiclass"][rng.integers(4, size=80)]
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_lbfgs_fit_unchanged_by_scipy_blas_thread_limit(monkeypatch):
    limited = _lbfgs_fit()
    monkeypatch.setattr(
        skbp._lbfgs, "_scipy_blas_on_one_thread", contextlib.nullcontext
    )
    unlimited = _lbfgs_fit()
    assert limited.n_iter_ == unlimited.n_iter_
    _assert_same_training(limited, unlimited)
