"""Fits in bounded memory: L-BFGS over row blocks, early stopping without a copy.

References: the one-pass objective (the blocked sums agree with it to
rounding), the fit without blocks, and tracemalloc, to which NumPy reports
every array it allocates.  The memory bounds are the issue's: a fit grows
by at most 0.3 times the size of the data.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import skbp._lbfgs as lbfgs
from skbp import BackpropClassifier, BackpropRegressor
from skbp._primitives import NUMPY
from skbp._training import TrainingData

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_samples=3000, n_features=20, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    y = np.digitize(X[:, 0] + X[:, 1] * X[:, 2], [-0.5, 0.5])
    return rng, X, y


def _objective(model, X, y, sample_weight, block_rows, monkeypatch):
    """``local_objective`` of a fitted model's network, ``block_rows`` per block."""
    monkeypatch.setattr(lbfgs, "OBJECTIVE_BLOCK_ROWS", block_rows)
    y_encoded = model._label_binarizer.transform(y).astype(X.dtype)
    data = TrainingData(X, y_encoded, sample_weight)
    return lbfgs.local_objective(model._network, data, 1e-3, model._theta)


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_blocked_objective_is_one_pass_to_rounding(
    dtype, weighted, kernel, monkeypatch
):
    if not kernel:
        # The output layers without a compiled delta (the regressor's robust
        # losses, other namespaces) take each block's share in NumPy.
        monkeypatch.setattr(type(NUMPY), "fused_output", None)
    rng, X, y = _data(dtype=dtype)
    sample_weight = None
    if weighted:
        sample_weight = rng.uniform(0, 2, X.shape[0]).astype(dtype)
        sample_weight[1000:1300] = 0  # a block (of 100 rows) that weighs nothing
    model = BackpropClassifier((8, 5), solver="lbfgs", max_iter=3, random_state=0)
    model.fit(X, y)
    theta = model._theta
    one_pass = _objective(model, X, y, sample_weight, X.shape[0], monkeypatch)
    loss, grad = one_pass(theta)
    expected_loss, expected_grad = loss, grad.copy()
    blocked = _objective(model, X, y, sample_weight, 100, monkeypatch)
    loss, grad = blocked(theta)
    assert grad.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert loss == pytest.approx(expected_loss, rel=rtol)
    assert_allclose(grad, expected_grad, rtol=rtol, atol=rtol * np.abs(grad).max())
    # Evaluated again at other weights: the sums start afresh.
    loss_again, _ = blocked(theta * 0.5)
    assert loss_again != loss


def test_rows_that_fit_one_block_are_one_pass_bit_for_bit(monkeypatch):
    # The fits of scikit-learn's sizes (the parity tests) are unchanged.
    _, X, y = _data(n_samples=500)
    settings = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30)
    blocked = BackpropClassifier(**settings, random_state=0).fit(X, y)
    monkeypatch.setattr(lbfgs, "OBJECTIVE_BLOCK_ROWS", 10**9)
    one_pass = BackpropClassifier(**settings, random_state=0).fit(X, y)
    assert_array_equal(blocked._theta, one_pass._theta)


def test_a_blocked_fit_agrees_with_one_pass_to_rounding(monkeypatch):
    # L-BFGS amplifies last-bit differences over its iterations; over 15
    # iterations they stay far below any difference between models.
    _, X, y = _data(n_samples=3000)
    settings = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=15)
    monkeypatch.setattr(lbfgs, "OBJECTIVE_BLOCK_ROWS", 256)
    blocked = BackpropClassifier(**settings, random_state=0).fit(X, y)
    monkeypatch.setattr(lbfgs, "OBJECTIVE_BLOCK_ROWS", 10**9)
    one_pass = BackpropClassifier(**settings, random_state=0).fit(X, y)
    assert blocked.n_iter_ == one_pass.n_iter_
    assert_allclose(blocked._theta, one_pass._theta, rtol=1e-8, atol=1e-10)
    assert_allclose(blocked.loss_curve_, one_pass.loss_curve_, rtol=1e-10)


def _peak_growth(fit):
    """The largest memory NumPy (and Python) held during ``fit`` beyond before it."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


@pytest.mark.parametrize(
    "settings",
    [
        dict(solver="lbfgs", max_iter=3),
        dict(solver="adam", max_iter=2, early_stopping=True, batch_size=256),
        dict(solver="sgd", max_iter=2, early_stopping=True, batch_size=256),
        dict(solver="adam", max_iter=2, batch_size=256),
    ],
    ids=["lbfgs", "adam-early-stopping", "sgd-early-stopping", "adam"],
)
def test_a_fit_grows_by_less_than_a_third_of_the_data(settings):
    # 40,000 x 50 float64 rows (16 MB); before, the early-stopping split
    # copied the training rows (0.9x) and L-BFGS held every row's activations
    # and deltas (several times the data).
    _, X, y = _data(n_samples=40_000, n_features=50)
    model = BackpropClassifier((32,), random_state=0, **settings)
    growth = _peak_growth(lambda: model.fit(X, y))
    assert growth < 0.3 * X.nbytes, f"{growth / X.nbytes:.2f}x the data"


def test_the_regressors_early_stopping_trains_on_the_callers_rows(monkeypatch):
    # The training part of the split is the caller's X with the rows named:
    # every batch is gathered from X itself.
    rng, X, _ = _data(n_samples=1000)
    y = X[:, 0] - X[:, 1]
    seen = []
    original = TrainingData.rows

    def rows(self, index, buffers=None, ops=None):
        seen.append(self.X)
        return original(self, index, buffers, ops) if ops else original(self, index)

    monkeypatch.setattr(TrainingData, "rows", rows)
    BackpropRegressor(
        hidden_layer_sizes=(5,), early_stopping=True, max_iter=2, random_state=0
    ).fit(X, y)
    assert seen and all(array is X for array in seen)


@pytest.mark.parametrize("loss", ["huber", "squared_error"])
def test_rows_that_weigh_nothing_in_whole_blocks_are_rows_left_out(loss):
    # A zero weight leaves a row out of the objective.  With the first 1,100
    # rows weighing nothing, the first of the objective's blocks weighs
    # nothing at all: its share is 0.  (Huber, which no compiled kernel
    # computes, took 0 / 0 for that share and the fit "diverged".)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 5))
    y = X[:, 0] - X[:, 1] ** 2
    sample_weight = np.ones(3000)
    sample_weight[:1100] = 0
    settings = dict(
        hidden_layer_sizes=(8,), loss=loss, solver="lbfgs", max_iter=30, random_state=0
    )
    weighted = BackpropRegressor(**settings).fit(X, y, sample_weight=sample_weight)
    left_out = BackpropRegressor(**settings).fit(X[1100:], y[1100:])
    assert weighted.loss_ == pytest.approx(left_out.loss_, rel=1e-9)
    assert_allclose(weighted.predict(X), left_out.predict(X), rtol=0, atol=1e-6)
