"""scikit-learn's ``ProgressBar`` callback on both estimators: it changes nothing.

``ProgressBar`` draws with rich, a test dependency (imported here so that a
test install without it fails) that the core tests do without:
tools/min_versions.sh leaves this file out.  The reference is the same fit
without the callback, which must be bit-identical.
"""

import warnings

import numpy as np
import pytest
import rich  # noqa: F401  (ProgressBar's drawing library)
from numpy.testing import assert_array_equal
from sklearn.callback import ProgressBar
from sklearn.exceptions import ConvergenceWarning

from skbp import BackpropClassifier, BackpropRegressor


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _model(solver="adam", estimator=BackpropClassifier):
    return estimator(
        hidden_layer_sizes=(5,),
        solver=solver,
        max_iter=6,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
    )


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _assert_same_weights(a, b):
    for ours, theirs in zip(
        a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
    ):
        assert_array_equal(ours, theirs)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("estimator", [BackpropClassifier, BackpropRegressor])
def test_progress_bar_runs_and_changes_nothing(solver, estimator):
    X, y = _data()
    with_bar = _fit(_model(solver, estimator).set_callbacks(ProgressBar()), X, y)
    plain = _fit(_model(solver, estimator), X, y)
    _assert_same_weights(with_bar, plain)
    assert with_bar.loss_curve_ == plain.loss_curve_


def test_progress_bar_on_a_partial_fit_stream():
    X, y = _data()
    model = _model().set_callbacks(ProgressBar())
    twin = _model()
    for rows in (slice(0, 40), slice(40, 80), slice(80, 120)):
        model.partial_fit(X[rows], y[rows], classes=[0, 1])
        twin.partial_fit(X[rows], y[rows], classes=[0, 1])
    _assert_same_weights(model, twin)
