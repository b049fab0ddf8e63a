"""Behaviour of BackpropClassifier and BackpropRegressor as estimators.

What a user of the two public classes relies on, beyond the numbers that
``test_sklearn_parity.py`` checks against scikit-learn:

* ``coefs_`` and ``intercepts_`` are live views of the one flat parameter
  vector, and stay so across pickling, ``warm_start`` refits and
  ``partial_fit``; replaced wholesale, they are what training continues from;
* ``partial_fit`` exists exactly for the stochastic solvers;
* predictions have the right shapes and are well-behaved probabilities, also
  where the raw outputs are huge;
* the regressor's Poisson and log-loss options;
* sparse, float32 and pandas input;
* bad input and bad parameters are refused with a ``ValueError`` naming the
  problem, and a fitted model that receives a failing call is left exactly
  as it was;
* early stopping, verbose output, convergence warnings;
* use inside ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.
"""

import copy
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import softmax
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor

N_SAMPLES, N_FEATURES = 60, 4


def _X(seed=0, n_samples=N_SAMPLES):
    return np.random.default_rng(seed).normal(size=(n_samples, N_FEATURES))


def _y(kind, X):
    """Targets of one kind, a deterministic function of ``X``."""
    signal = X @ np.array(
        [[1.0, -0.5, 0.3], [0.5, 1.0, -0.2], [-0.3, 0.4, 1.0], [0.2, -0.1, 0.6]]
    )
    if kind == "binary":
        return np.where(signal[:, 0] > 0, "yes", "no")
    if kind == "multiclass":
        return np.argmax(signal, axis=1) + 10
    if kind == "multilabel":
        return (signal > 0).astype(int)
    if kind == "regression":
        return signal[:, 0]
    if kind == "multioutput":
        return signal[:, :2]
    raise AssertionError(kind)


def _fitted(kind, solver="sgd", seed=0, **params):
    """A small fitted estimator for targets of ``kind``."""
    X = _X(seed)
    estimator_class = (
        BackpropRegressor
        if kind in ("regression", "multioutput")
        else BackpropClassifier
    )
    defaults = dict(
        hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=seed
    )
    estimator = estimator_class(**{**defaults, **params})
    with warnings.catch_warnings():
        # Short runs on purpose: not converging is expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, _y(kind, X))
    return estimator, X


def _is_live(estimator):
    """Whether coefs_/intercepts_ are views of ``_theta``, laid out in order.

    Every array shares memory with the flat vector, and the arrays, flattened
    in scikit-learn's packing order (all weights, then all biases), are
    exactly the flat vector: one view per slice, no slice left over.
    """
    arrays = [*estimator.coefs_, *estimator.intercepts_]
    theta = estimator._theta
    shares = all(np.shares_memory(a, theta) for a in arrays)
    packed = np.concatenate([a.ravel() for a in arrays])
    return shares and packed.shape == theta.shape and np.array_equal(packed, theta)


def _decision(estimator, X):
    if isinstance(estimator, BackpropClassifier):
        return estimator.predict_proba(X)
    return estimator.predict(X)


# --------------------------------------------------------------------------
# 4. coefs_ and intercepts_ are live views
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_writing_into_coefs_changes_predictions(kind, solver):
    estimator, X = _fitted(kind, solver)
    assert _is_live(estimator)
    before = _decision(estimator, X).copy()
    estimator.coefs_[-1][...] = 0.0
    estimator.intercepts_[-1][...] = 0.25
    after = _decision(estimator, X)
    # Zero output weights: every row gets the same output from the biases.
    if kind == "regression":
        assert_allclose(after, 0.25, rtol=0, atol=1e-15)
    else:
        assert_allclose(after, 1.0 / 3.0, rtol=0, atol=1e-15)
    assert np.max(np.abs(after - before)) > 1e-3
    # The write went into the flat vector itself.
    n_biases = estimator.intercepts_[-1].size
    assert_array_equal(estimator._theta[-n_biases:], 0.25)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_views_stay_live_after_pickling(solver):
    estimator, X = _fitted("multiclass", solver)
    restored = pickle.loads(pickle.dumps(estimator))
    assert _is_live(restored)
    assert not np.shares_memory(restored._theta, estimator._theta)
    assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))
    # Live in the copy too: a write changes the copy and only the copy.
    restored.intercepts_[0][...] += 1.0
    assert np.max(np.abs(restored.predict_proba(X) - estimator.predict_proba(X))) > 0


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_views_stay_live_after_warm_start_refit(solver):
    estimator, X = _fitted("regression", solver, warm_start=True)
    before = [c.copy() for c in estimator.coefs_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, _y("regression", X))
    assert _is_live(estimator)
    assert np.max(np.abs(estimator.coefs_[0] - before[0])) > 0


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["binary", "multioutput"])
def test_views_stay_live_after_partial_fit(kind, solver):
    estimator, X = _fitted(kind, solver)
    before = estimator.coefs_[0].copy()
    estimator.partial_fit(X, _y(kind, X))
    assert _is_live(estimator)
    assert np.max(np.abs(estimator.coefs_[0] - before)) > 0
    # And after a pickle round trip, partial_fit trains the restored views.
    restored = pickle.loads(pickle.dumps(estimator))
    restored.partial_fit(X, _y(kind, X))
    assert _is_live(restored)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_replaced_coefs_are_what_partial_fit_trains_from(solver):
    rng = np.random.default_rng(7)
    replaced, X = _fitted("multiclass", solver)
    in_place = copy.deepcopy(replaced)
    untouched = copy.deepcopy(replaced)
    y = _y("multiclass", X)
    new_coefs = [rng.normal(size=c.shape) for c in replaced.coefs_]
    new_intercepts = [rng.normal(size=b.shape) for b in replaced.intercepts_]

    # New list, new arrays: no longer views of the flat vector.
    replaced.coefs_ = [c.copy() for c in new_coefs]
    replaced.intercepts_ = [b.copy() for b in new_intercepts]
    for view, value in zip(in_place.coefs_, new_coefs, strict=True):
        view[...] = value
    for view, value in zip(in_place.intercepts_, new_intercepts, strict=True):
        view[...] = value
    # Predictions already use the replaced arrays.
    assert_allclose(replaced.predict_proba(X), in_place.predict_proba(X), rtol=1e-12)

    for estimator in (replaced, in_place, untouched):
        estimator.partial_fit(X, y)
    # Same start, same optimizer state, same data: the same step.
    for a, b in zip(replaced.coefs_, in_place.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    for a, b in zip(replaced.intercepts_, in_place.intercepts_, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert np.max(np.abs(replaced.coefs_[0] - untouched.coefs_[0])) > 0.1
    assert _is_live(replaced)


def test_replaced_coefs_are_what_warm_start_lbfgs_starts_from():
    rng = np.random.default_rng(8)
    replaced, X = _fitted("regression", "lbfgs", warm_start=True, max_iter=3)
    in_place = copy.deepcopy(replaced)
    new_coefs = [rng.normal(size=c.shape) for c in replaced.coefs_]
    replaced.coefs_ = [c.copy() for c in new_coefs]
    for view, value in zip(in_place.coefs_, new_coefs, strict=True):
        view[...] = value
    # Pickling a model with replaced arrays keeps the replaced values.
    restored = pickle.loads(pickle.dumps(replaced))
    assert_allclose(restored.predict(X), replaced.predict(X), rtol=1e-12)
    y = _y("regression", X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for estimator in (replaced, in_place, restored):
            estimator.fit(X, y)
    for other in (in_place, restored):
        for a, b in zip(replaced.coefs_, other.coefs_, strict=True):
            assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert _is_live(replaced)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_deepcopy_and_clone(solver):
    estimator, X = _fitted("binary", solver)
    duplicate = copy.deepcopy(estimator)
    assert _is_live(duplicate)
    assert not np.shares_memory(duplicate._theta, estimator._theta)
    assert_array_equal(duplicate.predict_proba(X), estimator.predict_proba(X))
    duplicate.coefs_[0][...] = 0.0
    assert np.max(np.abs(estimator.coefs_[0])) > 0

    fresh = clone(estimator)
    assert fresh.get_params() == estimator.get_params()
    assert not hasattr(fresh, "coefs_")
    assert not hasattr(fresh, "_theta")
    # Same random_state, same data: the clone refits to the same model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fresh.fit(X, _y("binary", X))
    assert_allclose(fresh.predict_proba(X), estimator.predict_proba(X), rtol=1e-12)


# --------------------------------------------------------------------------
# 5. partial_fit only for the stochastic solvers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("estimator_class", [BackpropClassifier, BackpropRegressor])
def test_partial_fit_exists_only_for_stochastic_solvers(estimator_class):
    assert hasattr(estimator_class(solver="lbfgs"), "partial_fit") is False
    assert hasattr(estimator_class(solver="sgd"), "partial_fit") is True
    assert hasattr(estimator_class(solver="adam"), "partial_fit") is True
    # It follows the current parameter, not the one at construction.
    estimator = estimator_class(solver="adam").set_params(solver="lbfgs")
    assert hasattr(estimator, "partial_fit") is False


# --------------------------------------------------------------------------
# 6. Classifier outputs
# --------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_classifier_outputs(kind, loss):
    estimator, X = _fitted(kind, "lbfgs", loss=loss, max_iter=200, tol=1e-6)
    y = _y(kind, X)
    n = X.shape[0]
    if kind == "multilabel":
        assert_array_equal(estimator.classes_, [0, 1, 2])
        assert estimator.predict(X).shape == (n, 3)
        assert set(np.unique(estimator.predict(X))) <= {0, 1}
        n_columns = 3
    else:
        assert_array_equal(estimator.classes_, np.unique(y))
        assert estimator.predict(X).shape == (n,)
        assert set(estimator.predict(X)) <= set(estimator.classes_)
        n_columns = len(np.unique(y))
    # A network this size fits these smooth boundaries well.
    assert estimator.score(X, y) >= 0.9

    expected_activation = (
        "softmax" if kind == "multiclass" and loss == "log_loss" else "logistic"
    )
    assert estimator.out_activation_ == expected_activation
    proba = estimator.predict_proba(X)
    assert proba.shape == (n, n_columns)
    assert np.all((proba > 0) & (proba < 1))
    if kind != "multilabel":
        assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert_array_equal(
            estimator.classes_[np.argmax(proba, axis=1)], estimator.predict(X)
        )
    else:
        assert_array_equal((proba > 0.5).astype(int), estimator.predict(X))
    log_proba = estimator.predict_log_proba(X)
    assert np.all(np.isfinite(log_proba))
    # Moderate outputs: the log-space computation is log(predict_proba).
    assert_allclose(log_proba, np.log(proba), rtol=1e-10, atol=1e-12)


def _hidden_output(estimator, X):
    """The last hidden layer's output (tanh units), computed here."""
    activation = X
    for coef, intercept in zip(
        estimator.coefs_[:-1], estimator.intercepts_[:-1], strict=True
    ):
        activation = np.tanh(activation @ coef + intercept)
    return activation


@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_probabilities_stay_finite_and_silent_for_huge_outputs(kind, loss):
    estimator, X = _fitted(kind, "lbfgs", loss=loss, activation="tanh", max_iter=50)
    # Scale the output layer so that the raw outputs span +-1e4: far past
    # where exp overflows and where expit rounds to exactly 0 or 1.
    raw = _hidden_output(estimator, X) @ estimator.coefs_[-1]
    raw += estimator.intercepts_[-1]
    scale = 1e4 / np.max(np.abs(raw))
    estimator.coefs_[-1][...] *= scale
    estimator.intercepts_[-1][...] *= scale
    raw *= scale
    assert np.max(raw) > 1e3 and np.min(raw) < -1e3

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = estimator.predict_proba(X)
        log_proba = estimator.predict_log_proba(X)
        prediction = estimator.predict(X)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(log_proba))
    assert np.all((proba > 0) & (proba < 1))
    # log(1 - e^-1e4) rounds to -0.0: <= 0, not < 0.
    assert np.all(log_proba <= 0)
    # Both are floored at the smallest normal float, so they still agree.
    assert_allclose(np.exp(log_proba), proba, rtol=1e-12, atol=1e-300)
    if kind != "multilabel":
        assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert_array_equal(estimator.classes_[np.argmax(log_proba, axis=1)], prediction)


def _squared_error_classifier_with_output_biases(biases):
    estimator, X = _fitted("multiclass", "lbfgs", loss="squared_error", max_iter=20)
    estimator.coefs_[-1][...] = 0.0
    estimator.intercepts_[-1][...] = biases
    return estimator, X


def test_squared_error_multiclass_proba_when_all_units_underflow():
    # Every raw output near -1e4: each logistic unit is ~exp(raw), so the
    # normalised probabilities are softmax(raw), which predict_log_proba
    # already gets right; predict_proba must not return NaN.
    biases = np.array([-1e4, -1e4 + 1, -1e4 + 2])
    estimator, X = _squared_error_classifier_with_output_biases(biases)
    expected = np.tile(softmax(biases), (X.shape[0], 1))
    assert_allclose(np.exp(estimator.predict_log_proba(X)), expected, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = estimator.predict_proba(X)
    assert_allclose(proba, expected, rtol=1e-12)


def test_squared_error_multiclass_predict_when_all_units_underflow():
    biases = np.array([-1e4, -1e4 + 1, -1e4 + 2])
    estimator, X = _squared_error_classifier_with_output_biases(biases)
    # The last unit is e^2 times the first: the most probable class.
    assert_array_equal(estimator.predict(X), estimator.classes_[2])


def test_partial_fit_classes_need_not_all_appear_in_each_batch():
    X = _X(1)
    y = _y("multiclass", X)
    estimator = BackpropClassifier(hidden_layer_sizes=(5,), solver="adam")
    first = y != 12
    estimator.partial_fit(X[first], y[first], classes=[10, 11, 12])
    assert_array_equal(estimator.classes_, [10, 11, 12])
    assert estimator.predict_proba(X).shape == (X.shape[0], 3)
    estimator.partial_fit(X, y)
    assert estimator.n_outputs_ == 3


# --------------------------------------------------------------------------
# 7. Regressor outputs and losses
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_multioutput_regression(solver):
    estimator, X = _fitted("multioutput", solver, max_iter=300, learning_rate_init=0.01)
    y = _y("multioutput", X)
    prediction = estimator.predict(X)
    assert prediction.shape == y.shape
    assert estimator.n_outputs_ == 2
    assert estimator.out_activation_ == "identity"
    # A linear target: both solvers get most of the variance in 300 steps.
    assert r2_score(y, prediction) > 0.9


def test_poisson_regression():
    X = _X(2, n_samples=200)
    rng = np.random.default_rng(2)
    mean = np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])
    y = rng.poisson(mean)
    estimator = BackpropRegressor(
        loss="poisson", hidden_layer_sizes=(5,), solver="lbfgs", random_state=0
    ).fit(X, y)
    assert estimator.out_activation_ == "exp"
    prediction = estimator.predict(X)
    assert np.all(prediction > 0)
    # Tracks the true mean (correlation measured 0.93; 200 noisy counts).
    assert np.corrcoef(prediction, mean)[0, 1] > 0.8


def test_log_loss_regression_for_proportions():
    X = _X(3)
    y = 1.0 / (1.0 + np.exp(-(X[:, :2] @ np.array([[1.0, -1.0], [0.5, 2.0]]))))
    estimator = BackpropRegressor(
        loss="log_loss", hidden_layer_sizes=(), solver="lbfgs", tol=1e-8
    ).fit(X, y)
    assert estimator.out_activation_ == "logistic"
    prediction = estimator.predict(X)
    assert prediction.shape == y.shape
    assert np.all((prediction > 0) & (prediction < 1))
    # No hidden layer and a logistic-of-linear target: the true weights are
    # the optimum.  L-BFGS's default ftol stops short of it, measured 2e-5 off
    # in the predictions and 1e-4 in the weights; tolerances are 50-100x that.
    assert_allclose(prediction, y, rtol=0, atol=1e-3)
    assert_allclose(
        estimator.coefs_[0],
        [[1.0, -1.0], [0.5, 2.0], [0, 0], [0, 0]],
        rtol=0,
        atol=1e-2,
    )


@pytest.mark.parametrize(
    "loss, y_shift, match",
    [
        ("poisson", -1.0, "loss='poisson' needs non-negative targets"),
        ("log_loss", -0.5, re.escape("loss='log_loss' needs targets in [0, 1]")),
        ("log_loss", 1.5, re.escape("loss='log_loss' needs targets in [0, 1]")),
    ],
)
def test_regressor_loss_refuses_targets_outside_its_domain(loss, y_shift, match):
    X = _X(4)
    y = np.abs(X[:, 0]) / (1 + np.abs(X[:, 0]))  # in [0, 1)
    y[0] = y_shift
    with pytest.raises(ValueError, match=match):
        BackpropRegressor(loss=loss, solver="lbfgs").fit(X, y)


# --------------------------------------------------------------------------
# 8. Sparse, float32 and pandas input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_input_matches_dense(container, kind, solver):
    X = _X(5)
    X[np.random.default_rng(5).uniform(size=X.shape) < 0.4] = 0.0
    y = _y(kind, X)
    estimator_class = BackpropClassifier if kind == "multiclass" else BackpropRegressor
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = estimator_class(**params).fit(X, y)
        sparse = estimator_class(**params).fit(container(X), y)
    # Same arithmetic, sparse products summing in another order: round-off,
    # amplified a little by 15 L-BFGS iterations.
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert_allclose(
        _decision(sparse, container(X)), _decision(dense, X), rtol=1e-9, atol=1e-12
    )
    if kind == "multiclass":
        assert_array_equal(sparse.predict(X), dense.predict(container(X)))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "multioutput"])
def test_float32_kept_end_to_end(kind, solver):
    X = _X(6).astype(np.float32)
    y = _y(kind, X)
    if kind in ("regression", "multioutput"):
        y = y.astype(np.float32)
        estimator = BackpropRegressor(hidden_layer_sizes=(5,), solver=solver)
    else:
        estimator = BackpropClassifier(hidden_layer_sizes=(5,), solver=solver)
    estimator.set_params(max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
        if solver != "lbfgs":
            estimator.partial_fit(X, y)
    for array in (*estimator.coefs_, *estimator.intercepts_, estimator._theta):
        assert array.dtype == np.float32
    assert _is_live(estimator)
    outputs = (
        [estimator.predict(X)]
        if isinstance(estimator, BackpropRegressor)
        else [estimator.predict_proba(X), estimator.predict_log_proba(X)]
    )
    for output in outputs:
        assert output.dtype == np.float32
        assert np.all(np.isfinite(output))
    # Sparse float32 keeps float32 too.
    assert _decision(estimator, sp.csr_matrix(X)).dtype == np.float32


@pytest.mark.parametrize("estimator_class", [BackpropClassifier, BackpropRegressor])
def test_pandas_feature_names(estimator_class):
    X = _X(7)
    kind = "binary" if estimator_class is BackpropClassifier else "regression"
    frame = pd.DataFrame(X, columns=["alpha", "beta", "gamma", "delta"])
    estimator = estimator_class(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=50)
    with warnings.catch_warnings():
        # Any warning but the expected ConvergenceWarning fails the test.
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(frame, pd.Series(_y(kind, X)))
    assert_array_equal(estimator.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_frame = _decision(estimator, frame)
        estimator.score(frame, _y(kind, X))
    # A bare array still works, with scikit-learn's warning about the names.
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = _decision(estimator, X)
    assert_allclose(from_frame, from_array, rtol=0, atol=0)
    with pytest.raises(ValueError, match="feature names should match"):
        estimator.predict(frame[frame.columns[::-1]])


# --------------------------------------------------------------------------
# 9. Bad input and bad parameters; failing calls change nothing
# --------------------------------------------------------------------------


def _with_nonfinite(value):
    X = _X(0)
    X[3, 1] = value
    return X


_BAD_FIT_DATA = {
    "nan-in-X": (lambda X, y: (_with_nonfinite(np.nan), y), "Input X contains NaN"),
    "inf-in-X": (
        lambda X, y: (_with_nonfinite(np.inf), y),
        "Input X contains infinity",
    ),
    "1d-X": (lambda X, y: (X[:, 0], y), "Expected 2D array, got 1D array"),
    "3d-X": (lambda X, y: (X[:, :, np.newaxis], y), "Found array with dim 3"),
    "length-mismatch": (
        lambda X, y: (X[:-1], y),
        "inconsistent numbers of samples",
    ),
}


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
@pytest.mark.parametrize("case", list(_BAD_FIT_DATA))
def test_bad_fit_data_is_refused_and_changes_nothing(case, kind, solver):
    estimator, X = _fitted(kind, solver)
    make_bad, match = _BAD_FIT_DATA[case]
    bad_X, bad_y = make_bad(X.copy(), _y(kind, X))
    snapshot = pickle.dumps(estimator)
    with pytest.raises(ValueError, match=match):
        estimator.fit(bad_X, bad_y)
    assert pickle.dumps(estimator) == snapshot
    if solver != "lbfgs":
        with pytest.raises(ValueError, match=match):
            estimator.partial_fit(bad_X, bad_y)
        assert pickle.dumps(estimator) == snapshot


@pytest.mark.parametrize(
    "value, match",
    [(np.nan, "Input y contains NaN"), (np.inf, "Input y contains infinity")],
)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_nonfinite_targets_are_refused_and_change_nothing(solver, value, match):
    for kind in ("regression", "multioutput"):
        estimator, X = _fitted(kind, solver)
        y = _y(kind, X).astype(float)
        y[5] = value
        snapshot = pickle.dumps(estimator)
        with pytest.raises(ValueError, match=match):
            estimator.fit(X, y)
        if solver != "lbfgs":
            with pytest.raises(ValueError, match=match):
                estimator.partial_fit(X, y)
        assert pickle.dumps(estimator) == snapshot
    # A classifier's labels can be NaN only as floats: refused too.
    estimator, X = _fitted("binary", solver)
    labels = (X[:, 0] > 0).astype(float)
    labels[5] = np.nan
    snapshot = pickle.dumps(estimator)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        estimator.fit(X, labels)
    assert pickle.dumps(estimator) == snapshot


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["binary", "multilabel", "multioutput"])
def test_wrong_number_of_features_after_fit(kind, solver):
    estimator, X = _fitted(kind, solver)
    snapshot = pickle.dumps(estimator)
    match = f"X has 3 features, but {type(estimator).__name__} is expecting 4"
    methods = ["predict", "score"]
    if isinstance(estimator, BackpropClassifier):
        methods += ["predict_proba", "predict_log_proba"]
    for method in methods:
        args = (X[:, :3], _y(kind, X)) if method == "score" else (X[:, :3],)
        with pytest.raises(ValueError, match=match):
            getattr(estimator, method)(*args)
    if solver != "lbfgs":
        with pytest.raises(ValueError, match=match):
            estimator.partial_fit(X[:, :3], _y(kind, X))
    assert pickle.dumps(estimator) == snapshot
    # warm_start refits keep the architecture: a new width is refused.
    estimator.set_params(warm_start=True)
    snapshot = pickle.dumps(estimator)
    with pytest.raises(ValueError, match=match):
        estimator.fit(X[:, :3], _y(kind, X))
    assert pickle.dumps(estimator) == snapshot
    # Without warm_start, fit is free to learn a new width.
    estimator.set_params(warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X[:, :3], _y(kind, X))
    assert estimator.n_features_in_ == 3


def test_prediction_input_checks_change_nothing():
    estimator, X = _fitted("multiclass", "adam")
    snapshot = pickle.dumps(estimator)
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            getattr(estimator, method)(_with_nonfinite(np.nan))
        with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
            getattr(estimator, method)(X[0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        estimator.score(X, _y("multiclass", X)[:10])
    assert pickle.dumps(estimator) == snapshot


def test_partial_fit_class_errors_change_nothing():
    estimator, X = _fitted("multiclass", "sgd")
    snapshot = pickle.dumps(estimator)
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        estimator.partial_fit(X, np.full(X.shape[0], 99))
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        estimator.partial_fit(X, _y("multiclass", X), classes=[10, 11, 12, 13])
    assert pickle.dumps(estimator) == snapshot

    fresh = BackpropClassifier(solver="sgd")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        fresh.partial_fit(X, _y("multiclass", X))
    assert not hasattr(fresh, "classes_") and not hasattr(fresh, "coefs_")
    # And the same fresh model then accepts a proper first call.
    fresh.partial_fit(X, _y("multiclass", X), classes=[10, 11, 12])
    assert_array_equal(fresh.classes_, [10, 11, 12])


def test_classifier_target_errors_change_nothing():
    estimator, X = _fitted("binary", "sgd", warm_start=True)
    snapshot = pickle.dumps(estimator)
    with pytest.raises(ValueError, match="warm_start can only be used where `y`"):
        estimator.fit(X, _y("multiclass", X))
    assert pickle.dumps(estimator) == snapshot


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_a_single_class_is_fitted_and_predicted(solver):
    # A CV fold or a stream may see one class: scikit-learn's MLP fits it and
    # predicts that class; so does skbp, with probabilities that match classes_.
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.full(20, "only")
    model = BackpropClassifier(hidden_layer_sizes=(4,), solver=solver, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert_array_equal(model.classes_, ["only"])
    assert_array_equal(model.predict(X), y)
    proba = model.predict_proba(X)
    assert proba.shape == (20, 1)
    assert_allclose(proba, 1.0)
    assert_allclose(model.predict_log_proba(X), np.log(proba))
    assert model.score(X, y) == 1.0
    if solver != "lbfgs":
        stream = BackpropClassifier(hidden_layer_sizes=(4,), solver=solver)
        stream.partial_fit(X, y, classes=["only"])
        assert_array_equal(stream.predict(X), y)


_INVALID_PARAMETERS = [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes must be > 0"),
    ({"hidden_layer_sizes": (5, -3)}, "hidden_layer_sizes must be > 0"),
    ({"hidden_layer_sizes": 0}, "'hidden_layer_sizes' parameter"),
    ({"hidden_layer_sizes": (2.5,)}, "positive integers"),
    ({"activation": "swish"}, "'activation' parameter"),
    ({"solver": "newton"}, "'solver' parameter"),
    ({"loss": "hinge"}, "'loss' parameter"),
    ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
    ({"learning_rate_init": -0.1}, "'learning_rate_init' parameter"),
    ({"validation_fraction": 0.0}, "'validation_fraction' parameter"),
    ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
    ({"batch_size": 0}, "'batch_size' parameter"),
    ({"momentum": -0.1}, "'momentum' parameter"),
    ({"momentum": 1.5}, "'momentum' parameter"),
    ({"beta_1": 1.0}, "'beta_1' parameter"),
    ({"beta_1": -0.1}, "'beta_1' parameter"),
    ({"beta_2": 1.0}, "'beta_2' parameter"),
    ({"beta_2": -1e-3}, "'beta_2' parameter"),
    ({"alpha": -1.0}, "'alpha' parameter"),
    ({"max_iter": 0}, "'max_iter' parameter"),
]


@pytest.mark.parametrize(
    "params, match", _INVALID_PARAMETERS, ids=[str(p) for p, _ in _INVALID_PARAMETERS]
)
@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_invalid_parameters_are_refused_and_change_nothing(kind, params, match):
    # InvalidParameterError subclasses ValueError.
    estimator, X = _fitted(kind, "sgd")
    estimator.set_params(**params)
    snapshot = pickle.dumps(estimator)
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, _y(kind, X))
    assert pickle.dumps(estimator) == snapshot
    # An unfitted estimator refuses them in fit and in a first partial_fit.
    with pytest.raises(ValueError, match=match):
        clone(estimator).fit(X, _y(kind, X))
    unfitted = clone(estimator)
    if hasattr(unfitted, "partial_fit"):
        extra = {"classes": ["no", "yes"]} if kind == "binary" else {}
        with pytest.raises(ValueError, match=match):
            unfitted.partial_fit(X, _y(kind, X), **extra)
        assert not hasattr(unfitted, "coefs_")


# The parameters that a further partial_fit epoch actually uses.
_USED_BY_PARTIAL_FIT = {
    "activation",
    "loss",
    "learning_rate_init",
    "momentum",
    "beta_1",
    "beta_2",
    "alpha",
}
_INVALID_FOR_PARTIAL_FIT = [
    (params, match)
    for params, match in _INVALID_PARAMETERS
    if set(params) <= _USED_BY_PARTIAL_FIT
]


@pytest.mark.parametrize(
    "params, match",
    _INVALID_FOR_PARTIAL_FIT,
    ids=[str(p) for p, _ in _INVALID_FOR_PARTIAL_FIT],
)
def test_partial_fit_on_fitted_model_refuses_invalid_parameters(params, match):
    solver = "adam" if {"beta_1", "beta_2"} & set(params) else "sgd"
    estimator, X = _fitted("regression", solver)
    estimator.set_params(**params)
    snapshot = pickle.dumps(estimator)
    with warnings.catch_warnings():
        # beta_1=1 divides by zero in Adam's bias correction, unchecked.
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=match):
            estimator.partial_fit(X, _y("regression", X))
    assert pickle.dumps(estimator) == snapshot


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(N_SAMPLES), "Negative values in data passed to `sample_weight`"),
        (
            np.ones(N_SAMPLES - 1),
            re.escape("sample_weight.shape == (59,), expected (60,)"),
        ),
        (np.ones((N_SAMPLES, 2)), "Sample weights must be 1D"),
    ],
    ids=["negative", "too-short", "2d"],
)
def test_bad_sample_weight_is_refused_and_changes_nothing(sample_weight, match, solver):
    for kind in ("multiclass", "regression"):
        estimator, X = _fitted(kind, solver)
        snapshot = pickle.dumps(estimator)
        with pytest.raises(ValueError, match=match):
            estimator.fit(X, _y(kind, X), sample_weight=sample_weight)
        if solver != "lbfgs":
            with pytest.raises(ValueError, match=match):
                estimator.partial_fit(X, _y(kind, X), sample_weight=sample_weight)
        assert pickle.dumps(estimator) == snapshot


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_diverging_training_is_refused_and_changes_nothing(solver):
    # Fails *after* training has written into the parameters: the model must
    # still come back exactly as it was.
    estimator, X = _fitted("regression", solver)
    y = _y("regression", X)
    snapshot = pickle.dumps(estimator)
    with warnings.catch_warnings():
        # Overflow on the way to inf/NaN, and max_iter reached, are expected.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            estimator.partial_fit(X * 1e200, y * 1e200)
        assert pickle.dumps(estimator) == snapshot
        assert _is_live(estimator)
        estimator.set_params(warm_start=True)
        snapshot = pickle.dumps(estimator)
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            estimator.fit(X * 1e200, y * 1e200)
    assert pickle.dumps(estimator) == snapshot
    assert _is_live(estimator)


def test_unfitted_estimator_refuses_prediction():
    for estimator in (BackpropClassifier(), BackpropRegressor()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            estimator.predict(_X())


# --------------------------------------------------------------------------
# 10. Early stopping, verbose output, convergence warnings
# --------------------------------------------------------------------------


def _consumed_validation_split(random_state, layer_units, validation_fraction, n):
    """The rows held out for early stopping, as scikit-learn's MLP picks them.

    One ``RandomState`` draws the initial weights (Glorot-uniform, layer by
    layer, weights then biases, factor 6 for non-logistic units) and then the
    ``train_test_split``; without stratification (regression, multiclass).
    """
    rs = np.random.RandomState(random_state)
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        rs.uniform(-bound, bound, (fan_in, fan_out))
        rs.uniform(-bound, bound, fan_out)
    _, validation = train_test_split(
        np.arange(n), random_state=rs, test_size=validation_fraction
    )
    return validation


@pytest.mark.parametrize(
    "estimator_class, kind, score",
    [
        (BackpropRegressor, "regression", r2_score),
        (BackpropClassifier, "multiclass", accuracy_score),
    ],
)
def test_early_stopping_restores_the_best_weights(estimator_class, kind, score):
    X = _X(9, n_samples=120)
    y = _y(kind, X)
    if kind == "regression":
        y = y + 0.3 * np.random.default_rng(9).normal(size=len(y))
    estimator = estimator_class(
        hidden_layer_sizes=(6,),
        solver="sgd",
        learning_rate_init=0.3,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=5,
        max_iter=100,
        random_state=1,
    ).fit(X, y)
    scores = estimator.validation_scores_
    assert len(scores) == estimator.n_iter_ == len(estimator.loss_curve_)
    assert estimator.n_iter_ < 100  # stopped early
    assert estimator.best_validation_score_ == max(scores)
    assert estimator.best_loss_ is None
    # The best epoch is not the last, so "restored" is distinguishable from
    # "kept the final weights".
    assert scores[-1] < estimator.best_validation_score_

    n_outputs = 1 if kind == "regression" else 3
    validation = _consumed_validation_split(1, (N_FEATURES, 6, n_outputs), 0.25, len(y))
    restored_score = score(y[validation], estimator.predict(X[validation]))
    assert restored_score == pytest.approx(estimator.best_validation_score_, rel=1e-12)


def test_partial_fit_refuses_early_stopping():
    estimator = BackpropClassifier(solver="sgd", early_stopping=True)
    X = _X()
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        estimator.partial_fit(X, _y("binary", X), classes=["no", "yes"])
    assert not hasattr(estimator, "coefs_")


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_verbose_prints_the_loss_per_iteration(solver, capsys):
    estimator, X = _fitted("regression", solver, max_iter=3, verbose=True)
    out = capsys.readouterr().out
    lines = re.findall(r"^Iteration (\d+), loss = ([0-9.]+)$", out, flags=re.M)
    assert [int(i) for i, _ in lines] == list(range(1, estimator.n_iter_ + 1))
    assert float(lines[-1][1]) == pytest.approx(estimator.loss_curve_[-1], abs=1e-8)


def test_verbose_prints_validation_scores(capsys):
    _fitted("binary", "adam", max_iter=4, verbose=True, early_stopping=True)
    out = capsys.readouterr().out
    assert out.count("Validation score: ") == 4
    assert "Iteration 4, loss = " in out


def test_silent_by_default(capsys):
    _fitted("binary", "sgd")
    _fitted("binary", "lbfgs")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "solver, match",
    [
        ("sgd", r"Maximum iterations \(3\) reached"),
        ("adam", r"Maximum iterations \(3\) reached"),
        ("lbfgs", "lbfgs failed to converge"),
    ],
)
def test_convergence_warning_when_max_iter_reached(solver, match):
    X = _X()
    estimator = BackpropRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=3)
    with pytest.warns(ConvergenceWarning, match=match):
        estimator.fit(X, _y("regression", X))
    assert estimator.n_iter_ == 3


_UNCONVERGED_FITS = {
    "sgd": dict(solver="sgd", max_iter=3),
    "sgd-per-example": dict(solver="sgd", batch_size=1, max_iter=2),
    "adam": dict(solver="adam", max_iter=3),
    "lbfgs": dict(solver="lbfgs", max_iter=3),
    "diverged": dict(
        solver="sgd", learning_rate_init=1e6, early_stopping=True, random_state=0
    ),
}


def _convergence_warnings(params, X, y, **filter_options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if filter_options:
            warnings.filterwarnings(
                "ignore", category=ConvergenceWarning, **filter_options
            )
        BackpropRegressor(hidden_layer_sizes=(5,), **params).fit(X, y)
    return [w for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("fit", _UNCONVERGED_FITS)
def test_every_convergence_warning_is_attributed_to_skbp(fit):
    # Documented (differences.md): module="skbp" filters them all;
    # scikit-learn's examples' module="sklearn" does not, being scikit-learn's.
    X = _X()
    y = _y("regression", X) * (1e3 if fit == "diverged" else 1)
    params = _UNCONVERGED_FITS[fit]
    assert len(_convergence_warnings(params, X, y)) == 1
    assert len(_convergence_warnings(params, X, y, module="sklearn")) == 1
    assert _convergence_warnings(params, X, y, module="skbp") == []


# --------------------------------------------------------------------------
# 11. Meta-estimators
# --------------------------------------------------------------------------


def test_pipeline_in_grid_search():
    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(
        StandardScaler(),
        BackpropClassifier(solver="lbfgs", max_iter=300, random_state=0),
    )
    search = GridSearchCV(
        pipeline,
        {
            "backpropclassifier__hidden_layer_sizes": [(3,), (8,)],
            "backpropclassifier__alpha": [1e-3, 1.0],
        },
        cv=3,
        n_jobs=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    # Iris with any of these settings: ~0.95 cross-validated accuracy.
    assert search.best_score_ > 0.9
    assert search.predict(X).shape == (len(y),)
    assert search.predict_proba(X).shape == (len(y), 3)
    assert search.score(X, y) > 0.9


def test_cross_val_score():
    X = _X(10, n_samples=90)
    y = _y("regression", X)
    model = make_pipeline(
        StandardScaler(),
        BackpropRegressor(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0),
    )
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.shape == (3,)
    # A linear target without noise: R^2 near 1 on each fold.
    assert np.all(scores > 0.95)
    clf_scores = cross_val_score(
        BackpropClassifier(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0),
        X,
        _y("binary", X),
        cv=3,
    )
    assert np.all(clf_scores > 0.8)


def test_weights_set_by_hand_are_trained_on():
    # As in scikit-learn's MLP (its test_fit): coefs_ and intercepts_ assigned
    # to an unfitted estimator are where partial_fit starts.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(2, size=20)
    # No momentum: the step then depends on the weights alone, not on the
    # optimizer state the fitted model carries and the one set by hand lacks.
    params = dict(hidden_layer_sizes=(4,), solver="sgd", momentum=0, random_state=0)
    fitted = BackpropClassifier(**params)
    fitted.partial_fit(X, y, classes=[0, 1])
    by_hand = BackpropClassifier(**params)
    by_hand.coefs_ = [c.tolist() for c in fitted.coefs_]  # any array-like
    by_hand.intercepts_ = [b.copy() for b in fitted.intercepts_]
    by_hand.partial_fit(X, y, classes=[0, 1])
    fitted.partial_fit(X, y)
    for ours, theirs in zip(by_hand.coefs_, fitted.coefs_, strict=True):
        assert_array_equal(ours, theirs)


def test_weights_set_by_hand_of_the_wrong_shape_are_refused():
    X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    model = BackpropClassifier(hidden_layer_sizes=(4,), solver="sgd")
    model.coefs_ = [np.zeros((2, 4)), np.zeros((4, 1))]
    model.intercepts_ = [np.zeros(4), np.zeros(1)]
    with pytest.raises(ValueError, match="coefs_ and intercepts_ do not match"):
        model.partial_fit(X, y, classes=[0, 1])
    assert model.coefs_[0].shape == (2, 4)
