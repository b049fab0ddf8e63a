"""``scoring=``: what early stopping and validation curves score.

References: scikit-learn's own scorers and metrics on the model's
predictions (``neg_log_loss`` for ``'loss'``, ``balanced_accuracy_score``,
``mean_absolute_error``), and the default fit (``scoring=None``), which the
scikit-learn parity tests hold to ``MLPClassifier``.
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    balanced_accuracy_score,
    get_scorer,
    log_loss,
    mean_absolute_error,
)
from sklearn.utils._param_validation import InvalidParameterError

from skbp import BackpropClassifier, BackpropRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _classification(seed=0, n_samples=400, weights=(0.8,)):
    X, y = make_classification(
        n_samples, n_features=6, weights=list(weights), flip_y=0.1, random_state=seed
    )
    return X[:300], y[:300], X[300:], y[300:]


def _early_stopping(estimator_class, **params):
    settings = dict(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        n_iter_no_change=4,
        max_iter=60,
        learning_rate_init=0.01,
        random_state=0,
    )
    return estimator_class(**{**settings, **params})


def _fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def test_none_is_the_default_fit():
    X, y, _, _ = _classification()
    default = _fit(_early_stopping(BackpropClassifier), X, y)
    explicit = _fit(_early_stopping(BackpropClassifier, scoring=None), X, y)
    assert_array_equal(explicit._theta, default._theta)
    assert explicit.validation_scores_ == default.validation_scores_
    # scikit-learn's MLP scores early stopping by accuracy.
    assert all(0 <= s <= 1 for s in default.validation_scores_)


def test_loss_is_the_negated_validation_loss_and_neg_log_loss():
    X, y, X_val, y_val = _classification()
    seen = []

    def neg_log_loss(estimator, X, y):
        seen.append(get_scorer("neg_log_loss")(estimator, X, y))
        return seen[-1]

    by_loss = _fit(_early_stopping(BackpropClassifier, scoring="loss"), X, y)
    assert_allclose(
        by_loss.validation_scores_, -np.array(by_loss.validation_loss_curve_)
    )
    # scikit-learn's own log-loss of predict_proba, epoch by epoch: the same
    # scores, so the same epochs and the same model.
    by_scorer = _fit(_early_stopping(BackpropClassifier, scoring=neg_log_loss), X, y)
    assert_allclose(by_loss.validation_scores_, seen, rtol=1e-12)
    assert by_scorer.n_iter_ == by_loss.n_iter_
    assert_array_equal(by_scorer._theta, by_loss._theta)
    # Given X_val too: the restored best model scores best_validation_score_.
    model = _fit(
        _early_stopping(BackpropClassifier, scoring="loss"),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
    )
    assert -model.best_validation_score_ == pytest.approx(
        log_loss(y_val, model.predict_proba(X_val)), rel=1e-12
    )
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_a_scorer_name_scores_the_model_of_each_epoch():
    X, y, X_val, y_val = _classification(seed=1)
    weights = np.random.default_rng(0).uniform(0.5, 2, len(y_val))
    model = _fit(
        _early_stopping(BackpropClassifier, scoring="balanced_accuracy"),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
        sample_weight_val=weights,
    )
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_validation_score_ == pytest.approx(
        balanced_accuracy_score(y_val, model.predict(X_val), sample_weight=weights)
    )
    # Not the accuracy: on imbalanced classes the two differ.
    accuracy = _fit(
        _early_stopping(BackpropClassifier),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
        sample_weight_val=weights,
    )
    assert model.validation_scores_ != accuracy.validation_scores_


def test_a_callable_scorer_sees_a_model_with_that_epochs_weights():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] - 2 * X[:, 1] + rng.standard_t(2, 300)
    X_val, y_val = X[:60], y[:60]
    seen = []

    def neg_mae(estimator, X, y):
        seen.append((estimator, estimator.predict(X)))
        return -mean_absolute_error(y, seen[-1][1])

    model = _fit(
        _early_stopping(BackpropRegressor, scoring=neg_mae),
        X[60:],
        y[60:],
        X_val=X_val,
        y_val=y_val,
    )
    assert len(seen) == len(model.validation_scores_)
    assert seen[0][0] is not model  # a copy, so training never sees its state
    assert not np.array_equal(seen[0][1], seen[-1][1])  # each epoch's weights
    best = int(np.argmax(model.validation_scores_))
    assert_allclose(model.predict(X_val), seen[best][1])
    assert model.best_validation_score_ == -mean_absolute_error(
        y_val, model.predict(X_val)
    )


def test_the_regressor_takes_scorer_names_and_the_split():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] + rng.normal(scale=0.1, size=300)
    model = _fit(
        _early_stopping(BackpropRegressor, scoring="neg_mean_absolute_error"), X, y
    )
    scores = np.array(model.validation_scores_)
    assert np.all(scores <= 0) and model.best_validation_score_ == scores.max()


def test_a_partial_fit_stream_scores_its_validation_set_with_it():
    X, y, X_val, y_val = _classification(seed=4)
    model = BackpropClassifier((8,), scoring="loss", random_state=0)
    for _ in range(4):
        model.partial_fit(X, y, classes=[0, 1], X_val=X_val, y_val=y_val)
    assert len(model.validation_scores_) == 4
    assert_allclose(model.validation_scores_, -np.array(model.validation_loss_curve_))
    assert model.validation_scores_[-1] == pytest.approx(
        -log_loss(y_val, model.predict_proba(X_val)), rel=1e-12
    )


def test_an_unknown_scorer_is_refused_before_anything_changes():
    X, y, _, _ = _classification()
    model = _fit(_early_stopping(BackpropClassifier, max_iter=3), X, y)
    before = pickle.dumps(model)
    model.set_params(scoring="accurracy")
    with pytest.raises(ValueError, match="scoring must be None, 'loss'.*'accurracy'"):
        model.fit(X, y)
    model.set_params(scoring=None)
    assert pickle.dumps(model) == before
    with pytest.raises(InvalidParameterError, match="scoring"):
        BackpropClassifier(scoring=3).fit(X, y)


def test_without_early_stopping_scoring_changes_nothing():
    X, y, _, _ = _classification()
    settings = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    plain = _fit(BackpropClassifier(**settings), X, y)
    scored = _fit(BackpropClassifier(scoring="roc_auc", **settings), X, y)
    assert_array_equal(scored._theta, plain._theta)
    assert scored.validation_scores_ is None
