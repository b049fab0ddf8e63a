"""Smoke tests of an installed skbp: what each built wheel is checked with.

cibuildwheel runs this file (with tests/test_kernels.py) against every wheel
it builds (pyproject.toml's ``[tool.cibuildwheel]``); the whole suite runs it
too. It asks what a wheel can get wrong: compiled modules missing or not
loadable, and fits that fail on the platform's compiler or BLAS.
"""

import importlib
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning

import skbp

COMPILED_MODULES = ["skbp._kernels", "skbp._sgd_loop"]


@pytest.mark.parametrize("module", COMPILED_MODULES)
def test_compiled_module_is_built_and_in_use(module, capsys):
    importlib.import_module(module)  # ImportError where the build left it out
    skbp.show_versions()
    report = capsys.readouterr().out
    assert f"{module}: in use" in report


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_classifier_fits_iris(solver):
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = skbp.BackpropClassifier(
        hidden_layer_sizes=(16,),
        solver=solver,
        learning_rate_init=0.05,
        max_iter=300,
        random_state=0,
    )
    with warnings.catch_warnings():
        # 300 epochs of sgd may stop short of the tolerance: not the point here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.score(X, y) > 0.9
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_fits_a_linear_target_in_its_dtype(dtype):
    X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    X, y = X.astype(dtype), (y / y.std()).astype(dtype)
    model = skbp.BackpropRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500, random_state=0
    ).fit(X, y)
    assert model.coefs_[0].dtype == dtype
    assert model.predict(X).dtype == dtype
    assert model.score(X, y) > 0.99


def test_per_example_sgd_runs_in_the_compiled_loop(monkeypatch):
    # batch_size=1 with plain SGD is the compiled loop's case (_per_example.py).
    from skbp._primitives import NUMPY

    calls = []
    kernel = NUMPY.per_example_sgd

    def counted(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(NUMPY, "per_example_sgd", counted)
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = skbp.BackpropClassifier(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=1,
        momentum=0.0,
        learning_rate_init=0.01,
        max_iter=20,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert len(calls) >= model.n_iter_
    assert model.score(X, y) > 0.9
