"""``class_weight`` on BackpropClassifier, checked against references.

A class weight is a per-sample weight, so a model fitted with
``class_weight`` must equal the one fitted with the corresponding
``sample_weight`` (the same arithmetic, so exactly), and, for full-batch
solvers, the one fitted on data where each sample is repeated as many times
as its class weighs (the same objective, so up to round-off).
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight

from skbp import BackpropClassifier


def _data(n_classes=2, n_samples=60, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    y = np.digitize(X[:, 0] + 0.3 * X[:, 1], np.linspace(-1, 1, n_classes + 1)[1:-1])
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def _weights(model):
    return model.coefs_ + model.intercepts_


def _assert_same_model(a, b, **tolerance):
    for ours, theirs in zip(_weights(a), _weights(b), strict=True):
        if tolerance:
            assert_allclose(ours, theirs, **tolerance)
        else:
            assert_array_equal(ours, theirs)


def _fit(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_lbfgs_class_weight_equals_repeated_samples(n_classes):
    X, y = _data(n_classes)
    class_weight = {0: 3, 1: 1, 2: 2}
    class_weight = {c: class_weight[c] for c in range(n_classes)}
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
    weighted = _fit(BackpropClassifier(class_weight=class_weight, **params), X, y)
    repeats = np.array([class_weight[label] for label in y])
    repeated = _fit(
        BackpropClassifier(**params),
        np.repeat(X, repeats, axis=0),
        np.repeat(y, repeats),
    )
    # The same objective; L-BFGS sums in another order, hence round-off.
    _assert_same_model(weighted, repeated, rtol=1e-8, atol=1e-10)


def test_full_batch_sgd_class_weight_equals_repeated_samples():
    X, y = _data(3)
    class_weight = {0: 2, 1: 1, 2: 3}
    repeats = np.array([class_weight[label] for label in y])
    params = dict(
        hidden_layer_sizes=(4,),
        solver="sgd",
        batch_size=int(repeats.sum()),  # one full batch per epoch, both fits
        shuffle=False,
        max_iter=5,
        random_state=0,
    )
    weighted = _fit(BackpropClassifier(class_weight=class_weight, **params), X, y)
    repeated = _fit(
        BackpropClassifier(**params),
        np.repeat(X, repeats, axis=0),
        np.repeat(y, repeats),
    )
    _assert_same_model(weighted, repeated, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_balanced_equals_balanced_sample_weight(solver):
    X, y = _data(3, seed=1)
    y[:40] = 0  # imbalanced
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    balanced = _fit(BackpropClassifier(class_weight="balanced", **params), X, y)
    reference = _fit(
        BackpropClassifier(**params),
        X,
        y,
        sample_weight=compute_sample_weight("balanced", y),
    )
    _assert_same_model(balanced, reference)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_class_weight_multiplies_sample_weight(solver):
    X, y = _data(2, labels=["no", "yes"])
    sample_weight = np.random.default_rng(3).uniform(0.5, 2.0, size=len(y))
    class_weight = {"no": 0.5, "yes": 4.0}
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    weighted = _fit(
        BackpropClassifier(class_weight=class_weight, **params),
        X,
        y,
        sample_weight=sample_weight,
    )
    per_sample = np.where(y == "yes", 4.0, 0.5)
    reference = _fit(
        BackpropClassifier(**params), X, y, sample_weight=sample_weight * per_sample
    )
    _assert_same_model(weighted, reference)


def test_partial_fit_with_a_dict_equals_sample_weight_stream():
    X, y = _data(3)
    classes = np.unique(y)
    class_weight = {0: 1.0, 1: 5.0}  # class 2 not listed: weighs 1
    weighted = BackpropClassifier(
        hidden_layer_sizes=(4,), class_weight=class_weight, random_state=0
    )
    reference = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    per_sample = np.array([class_weight.get(label, 1.0) for label in y])
    for rows in (slice(0, 20), slice(20, 45), slice(45, 60)):
        weighted.partial_fit(X[rows], y[rows], classes=classes)
        reference.partial_fit(
            X[rows], y[rows], classes=classes, sample_weight=per_sample[rows]
        )
    _assert_same_model(weighted, reference)


def test_partial_fit_refuses_balanced_and_changes_nothing():
    X, y = _data(2)
    model = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1])
    model.set_params(class_weight="balanced")
    snapshot = pickle.dumps(model)
    with pytest.raises(ValueError, match="compute_class_weight"):
        model.partial_fit(X, y)
    assert pickle.dumps(model) == snapshot


def test_class_weight_refused_for_multilabel():
    X, _ = _data(2)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    model = BackpropClassifier(class_weight={0: 2}, solver="lbfgs", max_iter=5)
    with pytest.raises(ValueError, match="multilabel"):
        model.fit(X, Y)


def test_class_weight_for_an_unknown_class_is_refused():
    X, y = _data(2)
    model = BackpropClassifier(class_weight={7: 2.0}, solver="lbfgs", max_iter=5)
    with pytest.raises(ValueError, match="class"):
        model.fit(X, y)


def test_class_weight_changes_the_decision_towards_the_heavy_class():
    # Imbalanced, overlapping classes: weighting the rare class makes the
    # model predict it more often, and find more of its members.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + rng.normal(scale=0.7, size=400) > 1.2).astype(int)
    params = dict(hidden_layer_sizes=(), solver="lbfgs", random_state=0)
    plain = _fit(BackpropClassifier(**params), X, y)
    weighted = _fit(BackpropClassifier(class_weight="balanced", **params), X, y)
    rare = y == 1
    assert 0.05 < rare.mean() < 0.3
    assert weighted.predict(X).mean() > plain.predict(X).mean()
    assert weighted.predict(X)[rare].mean() > plain.predict(X)[rare].mean()
