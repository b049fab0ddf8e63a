"""A fitted model through ``skops.io``, trusting only skbp's public classes.

skops loads a model without running pickle's arbitrary code: every type in
the file must be trusted by default (NumPy, scikit-learn's own) or by name.
A fitted skbp model keeps only plain data in its state, so the one name to
trust is the estimator's class; these tests check that for every solver,
early stopping, ``partial_fit`` streams, learning-rate schedules, class
weights, dropout, float32, the regressor's losses and
``HiddenLayerEmbedding``, and that the loaded model predicts the same, keeps
``coefs_`` live and trains on (``partial_fit`` or a warm start) bit for bit
as the original would have, as after a plain pickle.
"""

import pickle
import warnings

import numpy as np
import pytest
import skops.io as sio
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skbp import BackpropClassifier, BackpropRegressor, HiddenLayerEmbedding

PUBLIC = {
    BackpropClassifier: f"{BackpropClassifier.__module__}.BackpropClassifier",
    BackpropRegressor: f"{BackpropRegressor.__module__}.BackpropRegressor",
}

rng = np.random.RandomState(0)
X = rng.randn(80, 4)
Y_BINARY = (X[:, 0] > 0).astype(int)
Y_MULTICLASS = np.digitize(X[:, 1], [-0.5, 0.5])
Y_REAL = X[:, 0] - 0.5 * X[:, 2]
Y_COUNTS = rng.poisson(np.exp(0.5 * X[:, 0]))
Y_PROBABILITY = 1 / (1 + np.exp(-X[:, 1]))

CASES = {
    "classifier-sgd": (BackpropClassifier, {"solver": "sgd"}, Y_BINARY),
    "classifier-adam": (BackpropClassifier, {"solver": "adam"}, Y_MULTICLASS),
    "classifier-lbfgs": (BackpropClassifier, {"solver": "lbfgs"}, Y_MULTICLASS),
    "classifier-early-stopping": (
        BackpropClassifier,
        {"early_stopping": True, "n_iter_no_change": 50},
        Y_MULTICLASS,
    ),
    "classifier-class-weight": (
        BackpropClassifier,
        {"class_weight": {0: 2.0, 1: 1.0, 2: 0.5}, "solver": "sgd"},
        Y_MULTICLASS,
    ),
    "classifier-dropout": (BackpropClassifier, {"dropout": 0.3}, Y_BINARY),
    "regressor-sgd-invscaling": (
        BackpropRegressor,
        {"solver": "sgd", "learning_rate": "invscaling"},
        Y_REAL,
    ),
    "regressor-sgd-adaptive": (
        BackpropRegressor,
        {"solver": "sgd", "learning_rate": "adaptive", "n_iter_no_change": 1},
        Y_REAL,
    ),
    "regressor-adam-early-stopping": (
        BackpropRegressor,
        {"early_stopping": True, "n_iter_no_change": 50},
        Y_REAL,
    ),
    "regressor-lbfgs": (BackpropRegressor, {"solver": "lbfgs"}, Y_REAL),
    "regressor-poisson": (BackpropRegressor, {"loss": "poisson"}, Y_COUNTS),
    "regressor-log-loss": (BackpropRegressor, {"loss": "log_loss"}, Y_PROBABILITY),
    "regressor-quantile": (
        BackpropRegressor,
        {"loss": "quantile", "quantile": 0.8},
        Y_REAL,
    ),
    "regressor-huber": (
        BackpropRegressor,
        {"loss": "huber", "huber_delta": 0.25, "solver": "sgd"},
        Y_REAL,
    ),
}


def _model(cls, params, **more):
    return cls(
        hidden_layer_sizes=(7, 5),
        max_iter=8,
        random_state=0,
        **params,
        **more,
    )


def _quietly(method, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return method(*args, **kwargs)


def _skops_round_trip(model):
    """``model`` through ``skops.io``, trusting its public class only."""
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= {PUBLIC[type(model)]}, untrusted
    return sio.loads(data, trusted=[PUBLIC[type(model)]])


def _pickle_round_trip(model):
    return pickle.loads(pickle.dumps(model))


def _fitted(case, *, stream=False):
    """A model of ``case``, its targets and what its ``partial_fit`` calls take.

    A stream cannot use ``early_stopping``; it is given a validation set
    instead, which the same bookkeeping scores.
    """
    cls, params, y = CASES[case]
    kwargs = {}
    if stream and params.get("early_stopping"):
        params = {**params, "early_stopping": False}
        kwargs = {"X_val": X[:20], "y_val": y[:20]}
    model = _model(cls, params)
    if stream:
        first = {"classes": np.unique(y)} if cls is BackpropClassifier else {}
        model.partial_fit(X, y, **first, **kwargs)
        model.partial_fit(X, y, **kwargs)
    else:
        _quietly(model.fit, X, y)
    return model, y, kwargs


def _assert_same_state(loaded, original):
    assert_array_equal(loaded._theta, original._theta)
    assert loaded._theta.dtype == original._theta.dtype
    for attribute in ("n_iter_", "t_", "loss_", "best_loss_", "loss_curve_"):
        assert getattr(loaded, attribute) == getattr(original, attribute)
    assert loaded.validation_scores_ == original.validation_scores_
    assert loaded.validation_loss_curve_ == original.validation_loss_curve_


def _assert_live_views(model):
    """``coefs_`` and ``intercepts_`` write into the flat vector."""
    for view in (*model.coefs_, *model.intercepts_):
        assert np.shares_memory(view, model._theta)
    before = model._theta.copy()
    model.coefs_[0][0, 0] += 1.0
    assert model._theta[0] == before[0] + 1.0
    model.coefs_[0][0, 0] -= 1.0


def _train_on(model, y, stream, kwargs):
    """Train on: one ``partial_fit`` call in a stream, else a warm-start fit."""
    if stream:
        model.partial_fit(X, y, **kwargs)
    else:
        model.set_params(warm_start=True)
        _quietly(model.fit, X, y)
    return model


def test_scikit_learns_mlp_needs_one_type_trusted():
    # The baseline the skbp estimators are held to.
    model = _quietly(MLPClassifier(max_iter=5, random_state=0).fit, X, Y_BINARY)
    assert len(sio.get_untrusted_types(data=sio.dumps(model))) <= 1


def _cases_and_streams(fit_name):
    """(case, stream) pairs: every case fitted, and streamed where it can be."""
    return [
        pytest.param(case, stream, id=f"{case}-{'partial_fit' if stream else fit_name}")
        for case, (_, params, _) in CASES.items()
        for stream in (False, True)
        if not (stream and params.get("solver") == "lbfgs")  # no partial_fit
    ]


@pytest.mark.parametrize(("case", "stream"), _cases_and_streams("fit"))
def test_round_trip_trusts_only_the_public_class(case, stream):
    cls = CASES[case][0]
    model, _, _ = _fitted(case, stream=stream)
    loaded = _skops_round_trip(model)
    assert type(loaded) is cls
    _assert_same_state(loaded, model)
    method = "predict_proba" if cls is BackpropClassifier else "predict"
    assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    _assert_live_views(loaded)


@pytest.mark.parametrize("round_trip", [_skops_round_trip, _pickle_round_trip])
@pytest.mark.parametrize(("case", "stream"), _cases_and_streams("warm_start"))
def test_training_goes_on_as_without_the_round_trip(case, stream, round_trip):
    # The optimizer's moments and step count, the learning rate, the loss
    # curve, the stopping rule and the random streams all come back.
    model, y, kwargs = _fitted(case, stream=stream)
    loaded = round_trip(model)
    for _ in range(2):
        _train_on(model, y, stream, kwargs)
        _train_on(loaded, y, stream, kwargs)
        _assert_same_state(loaded, model)
    _assert_live_views(loaded)


def test_float32_model_keeps_its_dtype():
    model = _model(BackpropRegressor, {"solver": "adam"})
    model.partial_fit(X.astype(np.float32), Y_REAL.astype(np.float32))
    loaded = _skops_round_trip(model)
    assert loaded._theta.dtype == np.float32
    for _ in range(2):
        model.partial_fit(X.astype(np.float32), Y_REAL.astype(np.float32))
        loaded.partial_fit(X.astype(np.float32), Y_REAL.astype(np.float32))
    assert_array_equal(loaded._theta, model._theta)


def test_loaded_lists_are_the_ones_training_appends_to():
    # skops does not keep two references to one list: the fitted curve is
    # relinked to the bookkeeping on loading, so it grows with training.
    model, y, kwargs = _fitted("regressor-adam-early-stopping", stream=True)
    loaded = _skops_round_trip(model)
    loaded.partial_fit(X, y, **kwargs)
    assert loaded.loss_curve_ is loaded._progress.loss_curve
    assert loaded.validation_scores_ is loaded._progress.validation_scores
    assert len(loaded.loss_curve_) == len(model.loss_curve_) + 1


def test_state_holds_plain_data_only():
    model, _, _ = _fitted("classifier-adam", stream=True)
    state = model.__getstate__()
    assert isinstance(state["_network"], dict)
    assert "_progress" not in state
    assert isinstance(state["_progress_fields"]["optimizer_state"], dict)
    assert "coefs_" not in state


@pytest.mark.parametrize("round_trip", [_skops_round_trip, _pickle_round_trip])
def test_loss_parameters_are_plain_data_and_come_back(round_trip):
    model, _, _ = _fitted("regressor-quantile")
    record = model.__getstate__()["_network"]
    assert record["loss_parameters"] == {"quantile": 0.8}
    loaded = round_trip(model)
    assert loaded._network == model._network
    assert loaded._network.output.parameters == (("quantile", 0.8),)
    assert_array_equal(loaded.predict(X), model.predict(X))
    # A loss without parameters keeps the record it had before they existed,
    # which loads as it always did.
    plain, _, _ = _fitted("regressor-lbfgs")
    assert "loss_parameters" not in plain.__getstate__()["_network"]


def test_embedding_trusts_its_class_and_the_estimators():
    embedding = HiddenLayerEmbedding(_model(BackpropClassifier, {"solver": "adam"}))
    _quietly(embedding.fit, X, Y_BINARY)
    data = sio.dumps(embedding)
    public = [
        PUBLIC[BackpropClassifier],
        f"{HiddenLayerEmbedding.__module__}.HiddenLayerEmbedding",
    ]
    assert set(sio.get_untrusted_types(data=data)) <= set(public)
    loaded = sio.loads(data, trusted=public)
    assert_array_equal(loaded.transform(X), embedding.transform(X))
