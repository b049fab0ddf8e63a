"""Quickstart: skbp's estimators next to scikit-learn's MLP on real data.

Fits :class:`skbp.BackpropClassifier` on the handwritten digits and
:class:`skbp.BackpropRegressor` on the diabetes data (both shipped with
scikit-learn), with scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` at
the same settings beside them, and prints test scores and fit times.

Run with ``python examples/quickstart.py``.
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


def fit_and_score(estimator, X_train, X_test, y_train, y_test):
    """Return (test score, fit seconds) of a scaled pipeline around ``estimator``."""
    model = make_pipeline(StandardScaler(), estimator)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Short demo fits stop at max_iter on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return model.score(X_test, y_test), seconds


def scaled_target(regressor):
    """Fit ``regressor`` on the standardised target, as networks prefer."""
    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


def compare(title, pairs, data):
    """Print one line per estimator: its score and fit time."""
    print(title)
    for name, estimator in pairs:
        score, seconds = fit_and_score(estimator, *data)
        print(f"  {name:<22} score = {score:.4f}   fit = {seconds:.2f} s")


def main():
    X, y = load_digits(return_X_y=True)
    digits = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    settings = dict(hidden_layer_sizes=(64,), max_iter=100, random_state=0)
    compare(
        "Digits, accuracy (Adam, 64 hidden units, 100 epochs):",
        [
            ("skbp BackpropClassifier", BackpropClassifier(**settings)),
            ("sklearn MLPClassifier", MLPClassifier(**settings)),
        ],
        digits,
    )

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
        diabetes,
    )


if __name__ == "__main__":
    main()
