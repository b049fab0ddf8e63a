"""The fit as named steps, and the hooks that subclasses may use.

``_BaseBackprop._fit`` runs its steps in a fixed order; ``skbp._base.FIT_HOOKS``
names the steps a subclass whose rows live elsewhere overrides and the target
hooks it calls.  ``skbp/dask.py`` is read here (its source, so the test runs
without Dask) to check that it touches no other private member of the
estimators.  The shared class-weight hook is checked against scikit-learn's
``compute_class_weight``.
"""

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight

import skbp
from skbp._base import FIT_HOOKS, _BaseBackprop

_DASK_SOURCE = Path(skbp.__file__).with_name("dask.py")
_PLAIN_CLASSES = (skbp.BackpropClassifier, skbp.BackpropRegressor)


def _is_private(name):
    return name.startswith("_") and not name.startswith("__")


def _private_attributes_used(tree):
    """Every ``something._name`` read, called or assigned in the module."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and _is_private(node.attr)
    }


def _names_defined(tree):
    """Functions, classes, methods and class attributes the module defines."""
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    defined.update(
                        target.id
                        for target in statement.targets
                        if isinstance(target, ast.Name)
                    )
    return defined


def _private_members_of_the_plain_estimators():
    return {name for cls in _PLAIN_CLASSES for name in dir(cls) if _is_private(name)}


def test_the_dask_module_touches_only_the_documented_hooks():
    tree = ast.parse(_DASK_SOURCE.read_text(encoding="utf-8"))
    defined = _names_defined(tree)
    used_elsewhere = _private_attributes_used(tree) - defined
    assert used_elsewhere <= FIT_HOOKS, sorted(used_elsewhere - FIT_HOOKS)
    overridden = defined & _private_members_of_the_plain_estimators()
    assert overridden <= FIT_HOOKS, sorted(overridden - FIT_HOOKS)
    # It does override the steps that read the rows (else this test is vacuous).
    assert {"_training_data", "_lbfgs_objective", "_check_not_diverged"} <= overridden


@pytest.mark.parametrize("name", sorted(FIT_HOOKS))
def test_every_hook_is_a_documented_method_of_both_estimators(name):
    for cls in _PLAIN_CLASSES:
        hook = getattr(cls, name)
        assert callable(hook)
        assert hook.__doc__ and hook.__doc__.strip(), f"{cls.__name__}.{name}"


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])


_STEPS = (
    "_fit_plan",
    "_training_data",
    "_network_for",
    "_random_state_for",
    "_set_up_parameters",
    "_callback_tasks",
    "_run_solver",
    "_check_not_diverged",
    "_publish_parameters",
)


def _recording_classifier(calls):
    """A BackpropClassifier subclass that records each step as it runs."""

    def recorder(name):
        def step(self, *args, **kwargs):
            calls.append(name)
            return getattr(skbp.BackpropClassifier, name)(self, *args, **kwargs)

        return step

    members = {name: recorder(name) for name in (*_STEPS, "_lbfgs_objective")}
    return type("Recording", (skbp.BackpropClassifier,), members)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_fit_runs_its_steps_in_order_with_the_plain_results(solver):
    X, y = _data()
    calls = []
    params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        recorded = _recording_classifier(calls)(**params).fit(X, y)
        plain = skbp.BackpropClassifier(**params).fit(X, y)
    expected = list(_STEPS)
    if solver == "lbfgs":
        expected.insert(expected.index("_run_solver") + 1, "_lbfgs_objective")
    assert calls == expected
    assert_array_equal(recorded._theta, plain._theta)


def test_partial_fit_runs_the_same_steps():
    X, y = _data()
    calls = []
    model = _recording_classifier(calls)(hidden_layer_sizes=(4,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2])
    assert calls == list(_STEPS)


@pytest.mark.parametrize("n_classes", [1, 2, 3])
def test_balanced_class_weights_from_counts_equal_compute_class_weight(n_classes):
    # The hook computes 'balanced' from the class counts (as skbp.dask must,
    # without the rows); the floats are compute_class_weight's on the rows.
    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, n_classes, size=97)
    X = rng.normal(size=(97, 2))
    model = skbp.BackpropClassifier(
        hidden_layer_sizes=(2,), solver="lbfgs", max_iter=1, class_weight="balanced"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    classes = np.unique(y)
    counts = np.array([(y == c).sum() for c in classes])
    per_class = model._per_class_weights(counts, incremental=False)
    assert_array_equal(
        per_class, compute_class_weight("balanced", classes=classes, y=y)
    )


def test_the_regressor_has_no_class_weights():
    model = skbp.BackpropRegressor()
    assert model._per_class_weights(None, incremental=False) is None
    assert _BaseBackprop._per_class_weights(model, None, incremental=True) is None
