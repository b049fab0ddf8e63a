"""Early stopping for ``partial_fit`` streams, opted into with ``X_val``/``y_val``.

Monitoring must not change training: until the rule fires, a monitored
stream has exactly the weights of an unmonitored twin.  When it fires, the
restored weights are the twin's weights after the best call, and the
recorded scores and losses are those of scikit-learn's metrics on the
held-out set.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.metrics import accuracy_score, log_loss, r2_score

from skbp import BackpropClassifier, BackpropRegressor

CHUNK = 50


def _stream_data(seed=0, n_samples=2500):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 4))
    noise = rng.normal(scale=0.8, size=n_samples)
    y = (X[:, 0] + X[:, 1] + noise > 0).astype(int)
    return X[:-500], y[:-500], X[-500:], y[-500:]


def _weights(model):
    return [w.copy() for w in model.coefs_ + model.intercepts_]


def _chunks(X, y):
    for start in range(0, len(X), CHUNK):
        yield X[start : start + CHUNK], y[start : start + CHUNK]


def _model(estimator=BackpropClassifier, **params):
    settings = dict(
        hidden_layer_sizes=(16,),
        learning_rate_init=0.05,
        n_iter_no_change=3,
        random_state=0,
    )
    return estimator(**{**settings, **params})


def _run_monitored_and_twin(X, y, X_val, y_val, kwargs):
    monitored, twin = _model(), _model()
    twin_weights = []
    for X_chunk, y_chunk in _chunks(X, y):
        monitored.partial_fit(X_chunk, y_chunk, X_val=X_val, y_val=y_val, **kwargs)
        twin.partial_fit(X_chunk, y_chunk, **kwargs)
        twin_weights.append(_weights(twin))
        if monitored.early_stopped_:
            break
        for ours, theirs in zip(_weights(monitored), twin_weights[-1], strict=True):
            assert_array_equal(ours, theirs)  # monitoring does not change training
    return monitored, twin_weights


def test_stream_stops_and_restores_the_best_call():
    X, y, X_val, y_val = _stream_data()
    monitored, twin_weights = _run_monitored_and_twin(
        X, y, X_val, y_val, dict(classes=[0, 1])
    )
    assert monitored.early_stopped_
    n_calls = len(twin_weights)
    assert n_calls < len(X) // CHUNK  # it stopped before the data ran out
    assert len(monitored.validation_scores_) == n_calls
    assert len(monitored.validation_loss_curve_) == n_calls
    best = int(np.argmax(monitored.validation_scores_))
    assert best < n_calls - monitored.n_iter_no_change
    for ours, theirs in zip(_weights(monitored), twin_weights[best], strict=True):
        assert_array_equal(ours, theirs)
    # What was recorded is what scikit-learn's metrics say of those weights.
    assert monitored.best_validation_score_ == accuracy_score(
        y_val, monitored.predict(X_val)
    )
    assert monitored.validation_loss_curve_[best] == pytest.approx(
        log_loss(y_val, monitored.predict_proba(X_val)), rel=1e-9
    )


def test_regressor_stream_stops_and_restores_the_best_call():
    X, _, X_val, _ = _stream_data(seed=3)
    coef = np.array([1.0, -2.0, 0.5, 0.0])
    y, y_val = X @ coef, X_val @ coef
    model = _model(BackpropRegressor, learning_rate_init=0.2, n_iter_no_change=2)
    for X_chunk, y_chunk in _chunks(X, y):
        model.partial_fit(X_chunk, y_chunk, X_val=X_val, y_val=y_val)
        if model.early_stopped_:
            break
    assert model.early_stopped_
    assert model.best_validation_score_ == pytest.approx(
        r2_score(y_val, model.predict(X_val)), rel=1e-12
    )


def test_stream_without_a_validation_set_keeps_its_rules():
    X, y, X_val, y_val = _stream_data()
    model = _model()
    model.partial_fit(X[:CHUNK], y[:CHUNK], classes=[0, 1], X_val=X_val, y_val=y_val)
    assert len(model.validation_scores_) == 1
    # Without X_val the stream monitors its training loss again, as
    # scikit-learn's partial_fit does.
    model.partial_fit(X[CHUNK : 2 * CHUNK], y[CHUNK : 2 * CHUNK])
    assert model.validation_scores_ is None
    assert model.validation_loss_curve_ is None
    assert model.best_loss_ is not None
    assert not model.early_stopped_


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(X_val="X"), "y_val was not provided"),
        (dict(y_val="y"), "X_val was not provided"),
        (dict(X_val="X2", y_val="y"), "features"),
        (dict(X_val="X", y_val="y9"), "classes"),
    ],
)
def test_bad_stream_validation_sets_change_nothing(kwargs, match):
    X, y, X_val, y_val = _stream_data()
    values = {"X": X_val, "X2": X_val[:, :2], "y": y_val, "y9": np.full(500, 9)}
    model = _model()
    model.partial_fit(X[:CHUNK], y[:CHUNK], classes=[0, 1], X_val=X_val, y_val=y_val)
    snapshot = pickle.dumps(model)
    with pytest.raises(ValueError, match=match):
        model.partial_fit(
            X[CHUNK : 2 * CHUNK],
            y[CHUNK : 2 * CHUNK],
            **{name: values[key] for name, key in kwargs.items()},
        )
    assert pickle.dumps(model) == snapshot
