"""Validation loss per epoch, and a validation set given to ``fit``.

``validation_loss_curve_`` is checked against scikit-learn's own metrics
evaluated at the weights early stopping restores (those of the best epoch);
``X_val``/``y_val`` follow HistGradientBoosting's ``fit`` parameters and
travel through a Pipeline by metadata routing.
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor

EARLY = dict(
    hidden_layer_sizes=(5,),
    early_stopping=True,
    n_iter_no_change=50,
    max_iter=25,
    learning_rate_init=0.01,
    random_state=0,
)


def _data(n_samples=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 4))
    y = (X[:, 0] + X[:, 1] + rng.normal(scale=0.5, size=n_samples) > 0).astype(int)
    return X, y


def _fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def _best_epoch(model):
    return int(np.argmax(model.validation_scores_))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_curve_has_one_loss_per_epoch(solver):
    X, y = _data()
    model = _fit(BackpropClassifier(solver=solver, **EARLY), X, y)
    assert len(model.validation_loss_curve_) == model.n_iter_
    assert len(model.validation_scores_) == model.n_iter_
    assert np.isfinite(model.validation_loss_curve_).all()


@pytest.mark.parametrize(
    "params", [dict(early_stopping=False), dict(solver="lbfgs", early_stopping=True)]
)
def test_no_curve_without_early_stopping(params):
    X, y = _data()
    model = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=5, **params)
    _fit(model, X, y)
    assert model.validation_loss_curve_ is None


def test_classifier_curve_is_the_log_loss_on_the_validation_set():
    X, y = _data()
    X_val, y_val = _data(80, seed=1)
    model = _fit(BackpropClassifier(**EARLY), X, y, X_val=X_val, y_val=y_val)
    best = _best_epoch(model)
    # Early stopping restored the best epoch's weights: the model now is the
    # one whose validation loss and score were recorded at that epoch.
    expected_loss = log_loss(y_val, model.predict_proba(X_val))
    assert model.validation_loss_curve_[best] == pytest.approx(expected_loss, rel=1e-9)
    expected_score = accuracy_score(y_val, model.predict(X_val))
    assert model.validation_scores_[best] == expected_score


def test_regressor_curve_is_half_the_squared_error_on_the_validation_set():
    X, y = _data()
    target = X @ [1.0, -2.0, 0.5, 0.0]
    X_val, _ = _data(80, seed=1)
    target_val = X_val @ [1.0, -2.0, 0.5, 0.0]
    model = _fit(BackpropRegressor(**EARLY), X, target, X_val=X_val, y_val=target_val)
    best = _best_epoch(model)
    prediction = model.predict(X_val)
    expected = 0.5 * mean_squared_error(target_val, prediction)
    assert model.validation_loss_curve_[best] == pytest.approx(expected, rel=1e-9)
    assert model.validation_scores_[best] == pytest.approx(
        r2_score(target_val, prediction), rel=1e-12
    )


def test_weighted_validation_set():
    X, y = _data()
    X_val, y_val = _data(80, seed=1)
    weights = np.random.default_rng(2).uniform(0.1, 3.0, size=80)
    model = _fit(
        BackpropClassifier(**EARLY),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
        sample_weight_val=weights,
    )
    best = _best_epoch(model)
    proba = model.predict_proba(X_val)
    expected = log_loss(y_val, proba, sample_weight=weights)
    assert model.validation_loss_curve_[best] == pytest.approx(expected, rel=1e-9)


def test_given_validation_set_trains_on_every_row():
    X, y = _data()
    X_val, y_val = _data(80, seed=1)
    model = _fit(BackpropClassifier(**EARLY), X, y, X_val=X_val, y_val=y_val)
    assert model.t_ == model.n_iter_ * X.shape[0]
    split = _fit(BackpropClassifier(**EARLY), X, y)
    assert split.t_ == split.n_iter_ * round(X.shape[0] * 0.9)


@pytest.mark.parametrize(
    ("kwargs", "params", "match"),
    [
        (dict(X_val="X"), {}, "y_val was not provided"),
        (dict(y_val="y"), {}, "X_val was not provided"),
        (dict(sample_weight_val="w"), {}, "X_val is not"),
        (dict(X_val="X", y_val="y"), dict(early_stopping=False), "early_stopping"),
        (dict(X_val="X", y_val="y"), dict(solver="lbfgs"), "solver"),
        (dict(X_val="X3", y_val="y"), {}, "features"),
        (dict(X_val="X", y_val="y7"), {}, "classes"),
        (dict(X_val="X", y_val="y", sample_weight_val="w-"), {}, "Negative values"),
    ],
)
def test_bad_validation_sets_are_refused_and_change_nothing(kwargs, params, match):
    X, y = _data()
    X_val, y_val = _data(20, seed=1)
    values = {
        "X": X_val,
        "X3": X_val[:, :3],
        "y": y_val,
        "y7": np.where(y_val == 1, 7, 0),
        "w": np.ones(20),
        "w-": -np.ones(20),
    }
    model = _fit(BackpropClassifier(**EARLY), X, y)
    model.set_params(**params)
    snapshot = pickle.dumps(model)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, **{name: values[key] for name, key in kwargs.items()})
    assert pickle.dumps(model) == snapshot


def test_validation_set_travels_through_a_pipeline():
    X, y = _data()
    X = X * 10 + 3
    X_val, y_val = _data(80, seed=1)
    X_val = X_val * 10 + 3
    with sklearn.config_context(enable_metadata_routing=True):
        model = BackpropClassifier(**EARLY).set_fit_request(X_val=True, y_val=True)
        pipeline = Pipeline(
            [("scale", StandardScaler()), ("mlp", model)], transform_input=["X_val"]
        )
        _fit(pipeline, X, y, X_val=X_val, y_val=y_val)
    scaler = pipeline.named_steps["scale"]
    direct = _fit(
        BackpropClassifier(**EARLY),
        scaler.transform(X),
        y,
        X_val=scaler.transform(X_val),
        y_val=y_val,
    )
    fitted = pipeline.named_steps["mlp"]
    assert_allclose(fitted.validation_loss_curve_, direct.validation_loss_curve_)
    assert fitted.validation_scores_ == direct.validation_scores_
