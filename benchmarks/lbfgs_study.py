"""Are skbp's L-BFGS models as good as scikit-learn's?  A seeded study.

L-BFGS amplifies differences in the last bit: two implementations that sum
the same terms in another order (skbp's blocked objective, its compiled
kernels, another BLAS call) start from the same weights, agree to 1e-16
after one iteration and can end many iterations later at different local
optima.  scikit-learn itself moves from one optimum to another when its input
moves by one ulp.  So "the same model" cannot hold bit for bit for L-BFGS;
what must hold is that the models are *equally good*.

For each data set and seed this script fits scikit-learn's MLP and skbp's
with the same settings and ``random_state`` (so the same initial weights),
and records the test score, the number of iterations and whether the two
fits ended at the same weights (to 1e-6).  It reports, per data set and
overall, the mean test score of each library, the paired differences
(their mean, and a two-sided Wilcoxon signed-rank test of "no difference"),
and how many fits ended at the same optimum.

Run from the repository root::

    python benchmarks/lbfgs_study.py            # 5 data sets x 20 seeds, ~2 minutes
    python benchmarks/lbfgs_study.py --quick    # seconds

This is a study, not a test: nothing here asserts anything.
"""

import argparse
import statistics
import warnings

import numpy as np
from scipy.stats import wilcoxon
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
    make_moons,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor


def datasets():
    """``{name: (X, y, is_classification)}``: small problems L-BFGS suits."""
    X_moons, y_moons = make_moons(400, noise=0.3, random_state=0)
    X_class, y_class = make_classification(
        600, n_features=20, n_informative=8, n_classes=3, random_state=0
    )
    X_diabetes, y_diabetes = load_diabetes(return_X_y=True)
    return {
        "moons": (X_moons, y_moons, True),
        "classification": (X_class, y_class, True),
        "breast_cancer": (*load_breast_cancer(return_X_y=True), True),
        "digits": (*load_digits(return_X_y=True), True),
        "diabetes": (X_diabetes, y_diabetes / y_diabetes.std(), False),
    }


def fit_pair(X, y, is_classification, seed, max_iter):
    """Both libraries' fits on one split; their test scores and iterations."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    params = dict(
        hidden_layer_sizes=(32,),
        solver="lbfgs",
        alpha=1e-3,
        max_iter=max_iter,
        random_state=seed,
    )
    estimators = (
        (MLPClassifier, BackpropClassifier)
        if is_classification
        else (MLPRegressor, BackpropRegressor)
    )
    fitted = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for estimator in estimators:
            fitted.append(estimator(**params).fit(X_train, y_train))
    sklearn, skbp = fitted
    same = all(
        np.allclose(a, b, rtol=0, atol=1e-6)
        for a, b in zip(sklearn.coefs_, skbp.coefs_, strict=True)
    )
    return {
        "sklearn": sklearn.score(X_test, y_test),
        "skbp": skbp.score(X_test, y_test),
        "iterations": (sklearn.n_iter_, skbp.n_iter_),
        "same": same,
    }


def summarise(name, results):
    """One row of the table: means, paired differences, Wilcoxon p, agreement."""
    sklearn = [r["sklearn"] for r in results]
    skbp = [r["skbp"] for r in results]
    differences = [b - a for a, b in zip(sklearn, skbp, strict=True)]
    nonzero = [d for d in differences if d != 0]
    p_value = wilcoxon(nonzero).pvalue if len(nonzero) >= 2 else float("nan")
    same = sum(r["same"] for r in results)
    iterations = statistics.median(b - a for a, b in (r["iterations"] for r in results))
    return (
        f"| {name} | {len(results)} | {statistics.mean(sklearn):.4f} | "
        f"{statistics.mean(skbp):.4f} | {statistics.mean(differences):+.4f} | "
        f"{min(differences):+.3f} .. {max(differences):+.3f} | {p_value:.2f} | "
        f"{same}/{len(results)} | {iterations:+g} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    n_seeds, max_iter = (2, 50) if args.quick else (args.seeds, 200)
    print(
        f"hidden (32,), alpha 1e-3, L-BFGS max_iter={max_iter}, {n_seeds} seeds per "
        "data set (the seed draws the split and the initial weights); test scores "
        "are accuracy (classification) or R² (diabetes)."
    )
    print(
        "| data set | fits | scikit-learn mean | skbp mean | mean difference "
        "(skbp - sklearn) | range | Wilcoxon p | same optimum | median extra "
        "iterations |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    everything = []
    for name, (X, y, is_classification) in datasets().items():
        results = [
            fit_pair(X, y, is_classification, seed, max_iter) for seed in range(n_seeds)
        ]
        everything += results
        print(summarise(name, results))
    print(summarise("all", everything))


if __name__ == "__main__":
    main()
