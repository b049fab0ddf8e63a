"""Dropout: reproducible, deterministic across partial_fit streams, refused
where it cannot apply, and a no-op at zero.

The arithmetic of the thinned network (masks in the forward pass and in the
backward pass, derivative from the unmasked output) is checked against
central differences with fixed masks in tests/test_network.py; that
skbp.dask's estimators refuse it, in tests/test_dask_dropout.py.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from skbp import BackpropClassifier, BackpropRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(150, 6))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.6, 0.6])
    return X, y


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_zero_dropout_trains_exactly_as_without_it(solver):
    X, y = _data()
    plain = BackpropClassifier((8, 6), solver=solver, max_iter=8, random_state=0)
    plain.fit(X, y)
    for zero in (0.0, 0, (0.0, 0.0)):
        with_zero = clone(plain).set_params(dropout=zero).fit(X, y)
        assert_array_equal(with_zero._theta, plain._theta)


@pytest.mark.parametrize("estimator_class", [BackpropClassifier, BackpropRegressor])
def test_a_fit_with_dropout_is_reproducible_and_differs(estimator_class):
    X, y = _data()
    estimator = estimator_class(
        hidden_layer_sizes=(8, 6), dropout=(0.3, 0.1), max_iter=8, random_state=0
    )
    first, second = clone(estimator).fit(X, y), clone(estimator).fit(X, y)
    assert_array_equal(first._theta, second._theta)
    without = clone(estimator).set_params(dropout=0.0).fit(X, y)
    assert not np.allclose(first._theta, without._theta)


def test_a_stream_goes_on_deterministically_and_through_pickling():
    X, y = _data()
    stream = BackpropClassifier((8,), dropout=0.4, random_state=0)
    twin = clone(stream)
    for model in (stream, twin):
        model.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    assert_array_equal(stream._theta, twin._theta)
    resumed = pickle.loads(pickle.dumps(stream))
    for model in (stream, twin, resumed):
        model.partial_fit(X[50:100], y[50:100])
    assert_array_equal(stream._theta, twin._theta)
    assert_array_equal(resumed._theta, stream._theta)
    # The masks go on from one stream, not from a fresh seed at each call.
    source = stream._dropout_random_state
    before = source.get_state()
    stream.partial_fit(X[:50], y[:50])
    after = source.get_state()
    assert stream._dropout_random_state is source
    assert not (before[2] == after[2] and np.array_equal(before[1], after[1]))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"solver": "lbfgs", "dropout": 0.2}, "needs a stochastic solver"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": (0.1,)}, "one float per hidden layer"),
        ({"dropout": (0.1, 1.5)}, r"in \[0, 1\)"),
        ({"dropout": (0.1, "x")}, r"in \[0, 1\)"),
    ],
)
def test_dropout_that_cannot_apply_is_refused_and_changes_nothing(params, match):
    X, y = _data()
    model = BackpropClassifier((8, 6), max_iter=3, random_state=0).fit(X, y)
    state = pickle.dumps(model)
    with pytest.raises(ValueError, match=match):
        model.set_params(**params).fit(X, y)
    model.set_params(solver="adam", dropout=0.0)
    assert pickle.dumps(model) == state


def test_a_failing_call_rewinds_the_dropout_stream(monkeypatch):
    import skbp._training

    X, y = _data()
    model = BackpropClassifier((8,), dropout=0.5, batch_size=50, random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2])
    stream_state = model._dropout_random_state.get_state()
    theta = model._theta.copy()
    calls = []
    original = skbp._training.loss_and_grad

    def fails_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        result = original(*args, **kwargs)  # the masks are drawn here
        if len(calls) == 2:
            raise RuntimeError("failed after drawing masks")
        return result

    monkeypatch.setattr(skbp._training, "loss_and_grad", fails_on_the_second_batch)
    with pytest.raises(RuntimeError, match="after drawing masks"):
        model.partial_fit(X, y)
    assert_array_equal(model._theta, theta)
    now = model._dropout_random_state.get_state()
    for saved, current in zip(stream_state, now, strict=True):
        assert_array_equal(saved, current)


def test_dropout_on_torch_matches_numpy():
    torch = pytest.importorskip("torch")
    import sklearn

    X, y = _data()
    estimator = BackpropClassifier((8, 6), dropout=0.3, max_iter=6, random_state=0)
    reference = clone(estimator).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        on_torch = clone(estimator).fit(torch.asarray(X), torch.asarray(y))
    assert_allclose(on_torch._theta.numpy(), reference._theta, rtol=1e-10, atol=1e-14)
