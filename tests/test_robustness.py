"""Robustness: numerical extremes, divergence, determinism and concurrency.

What both estimators promise beyond ordinary data:

1. Numerical extremes (raw outputs of +-1e4, inputs scaled by 1e150, float32
   data near its limits, constant features, duplicated rows, one sample per
   class): no RuntimeWarning reaches the user from ``fit``, ``partial_fit``,
   ``predict``, ``predict_proba``, ``predict_log_proba`` or ``score``;
   probabilities are finite, in [0, 1] and sum to one per row; log
   probabilities and ``loss_`` are finite.  A fit on extreme data may instead
   raise a ``ValueError`` saying that training diverged.
2. Divergence: a learning rate that blows up the weights never leaves
   non-finite weights behind.  ``fit`` raises a ``ValueError`` that says so
   and suggests a smaller ``learning_rate_init``, and leaves a fresh
   estimator unfitted; a diverging ``partial_fit`` leaves the model, its
   optimizer state included, exactly as it was.
3. Determinism: an integer ``random_state`` gives bit-identical weights and
   loss curves across repeated fits, across processes (joblib workers,
   ``GridSearchCV(n_jobs=2)``) and for a repeated ``partial_fit`` stream,
   and fitting leaves NumPy's and Python's global random states alone.
4. Concurrency: prediction from eight threads at once on one fitted model
   returns exactly what serial calls return.
"""

import pickle
import random
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from skbp import BackpropClassifier, BackpropRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SOLVERS = ("adam", "sgd", "lbfgs")
STOCHASTIC_SOLVERS = ("adam", "sgd")

# task -> (estimator class, loss); the targets come from _targets.
TASKS = {
    "binary": (BackpropClassifier, "log_loss"),
    "multiclass": (BackpropClassifier, "log_loss"),
    "multilabel": (BackpropClassifier, "log_loss"),
    "multiclass_squared_error": (BackpropClassifier, "squared_error"),
    "squared_error": (BackpropRegressor, "squared_error"),
    "poisson": (BackpropRegressor, "poisson"),
    "log_loss": (BackpropRegressor, "log_loss"),
}


# ------------------------------------------------------------------ helpers


@contextmanager
def _no_runtime_warnings():
    """Turn every RuntimeWarning into an error; ignore ConvergenceWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _X(n_samples=30, n_features=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n_samples, n_features))


def _targets(task, X):
    """Targets of ``task``, a deterministic function of the rows of ``X``.

    Computed from the signs of ``X`` so that any positive rescaling of ``X``
    keeps them.
    """
    signs = np.sign(X).astype(float)
    signal = signs @ np.array([[1.0, -0.5, 0.3], [0.5, 1.0, -0.2], [-0.3, 0.4, 1.0]])
    if task == "binary":
        return np.where(signal[:, 0] > 0, "yes", "no")
    if task in ("multiclass", "multiclass_squared_error"):
        return np.argmax(signal, axis=1) + 10
    if task == "multilabel":
        return (signal > 0).astype(int)
    if task == "squared_error":
        return signal[:, 0]
    if task == "poisson":
        return np.abs(signal[:, 0]).round()
    return (np.tanh(signal[:, 0]) + 1) / 2  # log_loss: proportions in [0, 1]


def _estimator(task, solver="adam", **params):
    cls, loss = TASKS[task]
    defaults = dict(
        hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0, loss=loss
    )
    return cls(**{**defaults, **params})


def _classes(y):
    """The ``classes`` argument of partial_fit for all of ``y``."""
    return np.unique(y) if np.ndim(y) == 1 else np.arange(np.shape(y)[1])


def _partial_fit(estimator, X, y, classes=None):
    if is_classifier(estimator):
        classes = _classes(y) if classes is None else classes
        return estimator.partial_fit(X, y, classes=classes)
    return estimator.partial_fit(X, y)


def _train_or_diverge(estimator, method, X, y):
    """Train; return False if training reported divergence, True if it worked.

    A ``ValueError`` saying that training diverged is an accepted outcome and
    must leave a fresh estimator unfitted; any other exception propagates.
    """
    was_fitted = hasattr(estimator, "coefs_")
    try:
        if method == "fit":
            estimator.fit(X, y)
        else:
            _partial_fit(estimator, X, y)
    except ValueError as error:
        if "diverged" not in str(error):
            raise
        assert hasattr(estimator, "coefs_") == was_fitted
        return False
    assert np.isfinite(estimator.loss_)
    assert all(np.isfinite(p).all() for p in _parameters(estimator))
    return True


def _assert_probabilities(proba, multilabel):
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    if not multilabel:
        rtol = 1e-6 if proba.dtype == np.float32 else 1e-12
        assert_allclose(proba.sum(axis=1), 1, rtol=rtol)


def _check_predictions(estimator, X, y):
    """Every prediction method on ``X``: no RuntimeWarning, well-formed output."""
    with _no_runtime_warnings():
        prediction = estimator.predict(X)
        score = estimator.score(X, y)
        if is_classifier(estimator):
            proba = estimator.predict_proba(X)
            log_proba = estimator.predict_log_proba(X)
    assert prediction.shape[0] == X.shape[0]
    assert not np.isnan(score)
    if not is_classifier(estimator):
        # r2_score (the regressor's score) refuses infinite predictions.
        assert np.isfinite(prediction).all()
        return
    _assert_probabilities(proba, multilabel=np.ndim(y) == 2)
    assert np.isfinite(log_proba).all()
    assert (log_proba <= 0).all()


def _parameters(estimator):
    return [*estimator.coefs_, *estimator.intercepts_]


def _assert_same_model(a, b):
    """Bit-identical weights, loss curves and validation scores."""
    for x, y in zip(_parameters(a), _parameters(b), strict=True):
        assert x.dtype == y.dtype
        assert_array_equal(x, y)
    assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert a.n_iter_ == b.n_iter_
    if a.validation_scores_ is None:
        assert b.validation_scores_ is None
    else:
        assert_array_equal(a.validation_scores_, b.validation_scores_)


# ------------------------------------------------ 1. numerical extremes


def _set_raw_output(estimator, sign):
    """Make every raw output +-1e4: zero output weights, +-1e4 intercepts.

    With several output units the signs alternate, so that the units
    saturate in both directions at once.
    """
    estimator.coefs_[-1][...] = 0
    n_outputs = estimator.intercepts_[-1].shape[0]
    pattern = np.resize([1.0, -1.0], n_outputs)
    estimator.intercepts_[-1][...] = sign * 1e4 * pattern


def _raw_output_cases():
    """(task, sign) pairs."""
    for task in TASKS:
        for sign, name in ((1, "plus"), (-1, "minus")):
            yield pytest.param(task, sign, id=f"{task}-{name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("task", "sign"), list(_raw_output_cases()))
def test_huge_raw_outputs_give_clean_predictions(task, sign, solver, dtype):
    X = _X().astype(dtype)
    y = _targets(task, X)
    with _no_runtime_warnings():
        estimator = _estimator(task, solver).fit(X, y)
    _set_raw_output(estimator, sign)
    _check_predictions(estimator, X, y)


EXTREME_INPUTS = {
    # name -> (transformation of X, dtype); each fit may report divergence.
    "scaled_1e150": (lambda X: X * 1e150, np.float64),
    "float32_1e30": (lambda X: X * 1e30, np.float32),
    "float32_1e-30": (lambda X: X * 1e-30, np.float32),
    "float32_subnormal_1e-40": (lambda X: X * 1e-40, np.float32),
    "float32_mixed_1e30_1e-30": (lambda X: X * [1e30, 1e-30, 1.0], np.float32),
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("inputs", EXTREME_INPUTS)
def test_extreme_inputs_fit_cleanly_or_report_divergence(inputs, task, solver):
    transform, dtype = EXTREME_INPUTS[inputs]
    X = _X()
    y = _targets(task, X)
    X = transform(X).astype(dtype)
    assert np.isfinite(X).all()
    estimator = _estimator(task, solver)
    with _no_runtime_warnings():
        fitted = _train_or_diverge(estimator, "fit", X, y)
    if fitted:
        _check_predictions(estimator, X, y)
        if solver in STOCHASTIC_SOLVERS:
            with _no_runtime_warnings():
                _train_or_diverge(estimator, "partial_fit", X, y)
            _check_predictions(estimator, X, y)


# One SGD epoch of partial_fit on extreme data used to end with weights that
# were finite but so large that the forward pass overflowed (inf - inf gave
# NaN predictions); the estimators now check the outputs after training and
# report divergence instead.


def _partial_fit_extreme_cases():
    for inputs in EXTREME_INPUTS:
        for task in TASKS:
            for solver in STOCHASTIC_SOLVERS:
                yield pytest.param(inputs, task, solver, id=f"{inputs}-{task}-{solver}")


@pytest.mark.parametrize(
    ("inputs", "task", "solver"), list(_partial_fit_extreme_cases())
)
def test_extreme_inputs_partial_fit_cleanly_or_report_divergence(inputs, task, solver):
    transform, dtype = EXTREME_INPUTS[inputs]
    X = _X()
    y = _targets(task, X)
    X = transform(X).astype(dtype)
    estimator = _estimator(task, solver)
    with _no_runtime_warnings():
        fitted = _train_or_diverge(estimator, "partial_fit", X, y)
    if fitted:
        _check_predictions(estimator, X, y)


# The targets come from the original rows: constant features carry none of
# their information, and identical rows get different targets.


def _constant_features(X, task):
    y = _targets(task, X)
    X = X.copy()
    X[:, 1:] = 7.0
    return X, y


def _all_features_constant(X, task):
    return np.full_like(X, -3.0), _targets(task, X)


def _duplicated_rows(X, task):
    X = np.tile(X[:6], (5, 1))
    return X, _targets(task, X)


def _one_sample_per_class(X, task):
    if task == "multilabel":
        X, y = X[:3], np.eye(3, dtype=int)
        return X, y
    y = _targets(task, X)
    if TASKS[task][0] is BackpropRegressor:
        return X[:2], y[:2]  # the regressor's analogue: two samples
    _, first = np.unique(y, return_index=True)
    return X[first], y[first]


DEGENERATE_DATA = {
    "constant_features": _constant_features,
    "all_features_constant": _all_features_constant,
    "duplicated_rows": _duplicated_rows,
    "one_sample_per_class": _one_sample_per_class,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("data", DEGENERATE_DATA)
def test_degenerate_data_fits_and_predicts_cleanly(data, task, solver, dtype):
    X, y = DEGENERATE_DATA[data](_X(), task)
    X = X.astype(dtype)
    estimator = _estimator(task, solver)
    with _no_runtime_warnings():
        estimator.fit(X, y)
        if solver in STOCHASTIC_SOLVERS:
            estimator.partial_fit(X, y)
    assert np.isfinite(estimator.loss_)
    _check_predictions(estimator, X, y)


# ------------------------------------------------------------ 2. divergence

# Unscaled data with large values, and a network whose weights blow up
# geometrically under a huge step (identity units never die as ReLUs can).
_DIVERGENCE_SCALE = 100.0
SANE_LEARNING_RATE = 1e-7


def _unscaled_data(estimator_class):
    X = _X(n_samples=40) * _DIVERGENCE_SCALE + 3 * _DIVERGENCE_SCALE
    centred = np.sign(X - 3 * _DIVERGENCE_SCALE)
    if estimator_class is BackpropClassifier:
        return X, np.argmax(centred, axis=1)
    return X, centred @ [1.0, 2.0, 3.0]


def _divergence_estimator(estimator_class, **params):
    defaults = dict(
        hidden_layer_sizes=(5,),
        activation="identity",
        solver="sgd",
        momentum=0.9,
        batch_size=2,
        max_iter=3,
        random_state=0,
        learning_rate_init=SANE_LEARNING_RATE,
    )
    return estimator_class(**{**defaults, **params})


ESTIMATOR_CLASSES = [BackpropClassifier, BackpropRegressor]


@pytest.mark.parametrize("learning_rate_init", [1e6, 1e10])
@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_diverging_fit_raises_and_leaves_the_estimator_unfitted(
    estimator_class, learning_rate_init
):
    X, y = _unscaled_data(estimator_class)
    estimator = _divergence_estimator(
        estimator_class, learning_rate_init=learning_rate_init
    )
    with _no_runtime_warnings():
        with pytest.raises(ValueError, match="diverged") as error:
            estimator.fit(X, y)
    assert "learning_rate_init" in str(error.value)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    assert not hasattr(estimator, "coefs_")


def _diverge_by_unscaled_batch(estimator, X):
    """The diverging call: a batch far larger than what the model was fit on."""
    return X * 1e150


def _diverge_by_learning_rate(estimator, X):
    """The diverging call: a fresh SGD optimizer with learning_rate_init=1e10.

    ``partial_fit`` carries the learning rate of its optimizer on (as
    scikit-learn's MLP does), so a new ``learning_rate_init`` takes effect
    with a new optimizer: here by switching from Adam to SGD.
    """
    estimator.set_params(solver="sgd", learning_rate_init=1e10)
    return X


DIVERGING_CALLS = {
    "unscaled_batch": ("sgd", _diverge_by_unscaled_batch),
    "learning_rate_init_1e10": ("adam", _diverge_by_learning_rate),
}


@pytest.mark.parametrize("trigger", DIVERGING_CALLS)
@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_diverging_partial_fit_keeps_model_and_optimizer_state(
    estimator_class, trigger
):
    solver, make_diverging_call = DIVERGING_CALLS[trigger]
    X, y = _unscaled_data(estimator_class)
    model = _divergence_estimator(estimator_class, solver=solver)
    twin = _divergence_estimator(estimator_class, solver=solver)
    with _no_runtime_warnings():
        for estimator in (model, twin):
            estimator.fit(X, y)
            estimator.partial_fit(X, y)

        diverging_X = make_diverging_call(model, X)
        before = pickle.dumps(model)
        with pytest.raises(ValueError, match="diverged") as error:
            model.partial_fit(diverging_X, y)
        assert "learning_rate_init" in str(error.value)
        assert pickle.dumps(model) == before
        assert all(np.isfinite(p).all() for p in _parameters(model))

        # The stream goes on with the sane rate as if the call never happened.
        model.set_params(solver=solver, learning_rate_init=SANE_LEARNING_RATE)
        for estimator in (model, twin):
            for batch in np.array_split(np.arange(X.shape[0]), 3):
                estimator.partial_fit(X[batch], y[batch])
    _assert_same_model(model, twin)
    assert model.t_ == twin.t_


# ----------------------------------------------------------- 3. determinism

DETERMINISM_SETTINGS = {
    "adam": dict(solver="adam"),
    "sgd": dict(solver="sgd"),
    "lbfgs": dict(solver="lbfgs"),
    "adam_early_stopping": dict(solver="adam", early_stopping=True),
    "sgd_early_stopping": dict(solver="sgd", early_stopping=True),
}


def _seeded_estimator(estimator_class, setting):
    task = "multiclass" if estimator_class is BackpropClassifier else "squared_error"
    params = dict(max_iter=15, validation_fraction=0.2, **DETERMINISM_SETTINGS[setting])
    return _estimator(task, **params)


def _seeded_data(estimator_class):
    X = _X(n_samples=40)
    task = "multiclass" if estimator_class is BackpropClassifier else "squared_error"
    return X, _targets(task, X)


@pytest.mark.parametrize("setting", DETERMINISM_SETTINGS)
@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_same_seed_gives_bit_identical_fits(estimator_class, setting):
    X, y = _seeded_data(estimator_class)
    first = _seeded_estimator(estimator_class, setting).fit(X, y)
    second = clone(first).fit(X, y)
    _assert_same_model(first, second)
    snapshot = pickle.loads(pickle.dumps(first))
    first.fit(X, y)  # the same object again, its caches warm
    _assert_same_model(first, snapshot)


@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_fits_in_loky_workers_match_the_main_process(estimator_class):
    X, y = _seeded_data(estimator_class)
    estimators = [_seeded_estimator(estimator_class, s) for s in DETERMINISM_SETTINGS]
    # scikit-learn's subclass of joblib.Parallel: it hands the warning filters
    # (ConvergenceWarning ignored) on to the workers.
    in_workers = Parallel(n_jobs=2, backend="loky")(
        delayed(clone(estimator).fit)(X, y) for estimator in estimators
    )
    for estimator, from_worker in zip(estimators, in_workers, strict=True):
        _assert_same_model(clone(estimator).fit(X, y), from_worker)


@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_grid_search_in_parallel_matches_serial(estimator_class):
    X, y = _seeded_data(estimator_class)
    estimator = _seeded_estimator(estimator_class, "adam")
    grid = {"alpha": [1e-4, 1e-1], "solver": ["adam", "lbfgs"]}
    searches = [
        GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X, y)
        for n_jobs in (1, 2)
    ]
    serial, parallel = (search.cv_results_ for search in searches)
    score_keys = [k for k in serial if k.endswith("_test_score")]
    assert score_keys
    for key in score_keys:
        assert_array_equal(serial[key], parallel[key])
    assert searches[0].best_params_ == searches[1].best_params_
    _assert_same_model(searches[0].best_estimator_, searches[1].best_estimator_)


def _stream(estimator, X, y, n_batches=5, classes=None):
    classes = _classes(y) if classes is None else classes
    for batch in np.array_split(np.arange(X.shape[0]), n_batches):
        _partial_fit(estimator, X[batch], y[batch], classes)
    return estimator


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("solver", STOCHASTIC_SOLVERS)
@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_repeated_partial_fit_stream_is_bit_identical(estimator_class, solver, shuffle):
    X, y = _seeded_data(estimator_class)
    estimator = _seeded_estimator(estimator_class, solver).set_params(shuffle=shuffle)
    first = _stream(clone(estimator), X, y)
    second = _stream(clone(estimator), X, y)
    _assert_same_model(first, second)
    assert first.t_ == second.t_
    # A stream continued after a pickle round trip (which drops the caches)
    # is the same stream.
    classes = _classes(y)
    resumed = _stream(clone(estimator), X[:16], y[:16], 2, classes)
    resumed = pickle.loads(pickle.dumps(resumed))
    _stream(resumed, X[16:], y[16:], 3, classes)
    _assert_same_model(first, resumed)


def _global_random_states():
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    return (name, keys.copy(), position, has_gauss, cached_gaussian), random.getstate()


@pytest.mark.parametrize(
    ("setting", "method"),
    [
        *((setting, "fit") for setting in DETERMINISM_SETTINGS),
        *((solver, "partial_fit") for solver in STOCHASTIC_SOLVERS),
    ],
)
@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_int_seed_leaves_global_random_states_alone(estimator_class, setting, method):
    estimator = _seeded_estimator(estimator_class, setting)
    X, y = _seeded_data(estimator_class)
    (name, keys, position, has_gauss, gaussian), python_state = _global_random_states()
    if method == "fit":
        estimator.fit(X, y)
        estimator.fit(X, y)
    else:
        _stream(estimator, X, y)
    (name_after, keys_after, *rest), python_after = _global_random_states()
    assert name_after == name
    assert_array_equal(keys_after, keys)
    assert rest == [position, has_gauss, gaussian]
    assert python_after == python_state


# ----------------------------------------------------------- 4. concurrency

N_THREADS = 8
CALLS_PER_THREAD = 10


def _prediction_inputs():
    rng = np.random.default_rng(7)
    big = rng.normal(size=(500, 3))
    return {
        "1_row": big[:1].copy(),
        "7_rows": big[:7].copy(),
        "500_rows": big,
        "500_rows_float32": big.astype(np.float32),
        "500_rows_csr": sp.csr_matrix(np.where(np.abs(big) > 0.5, big, 0.0)),
        "1_row_csr": sp.csr_matrix(big[:1]),
        "500_rows_fortran": np.asfortranarray(big),
    }


@pytest.mark.parametrize("estimator_class", ESTIMATOR_CLASSES)
def test_concurrent_predictions_equal_serial_ones(estimator_class):
    X, y = _seeded_data(estimator_class)
    estimator = _seeded_estimator(estimator_class, "adam").fit(X, y)
    methods = ["predict"]
    if is_classifier(estimator):
        methods += ["predict_proba", "predict_log_proba"]
    inputs = _prediction_inputs()
    calls = [(m, name) for m in methods for name in inputs]
    expected = {(m, name): getattr(estimator, m)(inputs[name]) for m, name in calls}
    start = threading.Barrier(N_THREADS)

    def work(seed):
        order = np.random.default_rng(seed).permutation(len(calls))
        start.wait()
        results = []
        for _ in range(CALLS_PER_THREAD):
            for i in order:
                method, name = calls[i]
                results.append(
                    ((method, name), getattr(estimator, method)(inputs[name]))
                )
        return results

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        per_thread = list(pool.map(work, range(N_THREADS)))
    assert sum(len(results) for results in per_thread) == (
        N_THREADS * CALLS_PER_THREAD * len(calls)
    )
    for results in per_thread:
        for key, result in results:
            assert result.dtype == expected[key].dtype
            assert_array_equal(result, expected[key])
