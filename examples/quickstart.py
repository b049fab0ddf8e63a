"""Quickstart: skbp next to scikit-learn's MLP
=============================================

:class:`skbp.BackpropClassifier` and :class:`skbp.BackpropRegressor` take the
parameters of scikit-learn's ``MLPClassifier`` and ``MLPRegressor``. This
example fits each of them on a data set shipped with scikit-learn (the
handwritten digits, the diabetes data) with scikit-learn's estimator at the
same settings beside it, and prints their test scores and fit times.
"""

import time
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor

# %%
# A helper to fit and score
# -------------------------
#
# Networks train best on standardised features, so every estimator is fitted
# inside a pipeline after a ``StandardScaler``. The helper prints one line per
# estimator: its score on the test set (accuracy for a classifier, R^2 for a
# regressor) and how long ``fit`` took.


def compare(title, estimators, X_train, X_test, y_train, y_test):
    """Fit each estimator in a scaling pipeline; print its test score and fit time.

    Parameters
    ----------
    title : str
        Printed above the results.
    estimators : list of (str, estimator)
        Named estimators to compare.
    X_train, X_test, y_train, y_test : array-like
        The split data set.
    """
    print(title)
    for name, estimator in estimators:
        model = make_pipeline(StandardScaler(), estimator)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # Short demo fits stop at max_iter on purpose.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        score = model.score(X_test, y_test)
        print(f"  {name:<22} score = {score:.4f}   fit = {seconds:.2f} s")


# %%
# Classification: the handwritten digits
# --------------------------------------
#
# The same settings go to both classifiers: Adam, one hidden layer of 64 units,
# 100 epochs and the same seed. ``BackpropClassifier`` is a drop-in superset of
# ``MLPClassifier``: at the same settings it learns the same model, and the
# test accuracies agree.

X, y = load_digits(return_X_y=True)
digits = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
settings = dict(hidden_layer_sizes=(64,), max_iter=100, random_state=0)
compare(
    "Digits, accuracy (Adam, 64 hidden units, 100 epochs):",
    [
        ("skbp BackpropClassifier", BackpropClassifier(**settings)),
        ("sklearn MLPClassifier", MLPClassifier(**settings)),
    ],
    *digits,
)

# %%
# Regression: the diabetes data
# -----------------------------
#
# The regressors use L-BFGS, a full-batch quasi-Newton method, which on 442
# rows needs a strong L2 penalty: at the default ``alpha=1e-4`` the 16 hidden
# units learn the training rows closely and score below zero on the test set;
# ``alpha=10`` keeps them from overfitting. A network also prefers a
# standardised target: scikit-learn's ``TransformedTargetRegressor`` fits the
# regressor on the scaled target and scales its predictions back.


def scaled_target(regressor):
    """Wrap ``regressor`` so that it is fitted on the standardised target.

    Parameters
    ----------
    regressor : estimator
        The regressor to wrap.

    Returns
    -------
    model : TransformedTargetRegressor
        ``regressor`` around a ``StandardScaler`` of the target.
    """
    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


X, y = load_diabetes(return_X_y=True)
diabetes = train_test_split(X, y, test_size=0.25, random_state=0)
settings = dict(
    hidden_layer_sizes=(16,),
    solver="lbfgs",
    alpha=10.0,
    max_iter=200,
    random_state=0,
)
compare(
    "Diabetes, R^2 (L-BFGS, 16 hidden units, standardised target):",
    [
        ("skbp BackpropRegressor", scaled_target(BackpropRegressor(**settings))),
        ("sklearn MLPRegressor", scaled_target(MLPRegressor(**settings))),
    ],
    *diabetes,
)
