"""Grid search: tune a BackpropClassifier inside a scaling pipeline.

Builds ``Pipeline([StandardScaler(), BackpropClassifier()])`` and lets
scikit-learn's ``GridSearchCV`` pick the hidden layer sizes and the L2 penalty
``alpha`` by 3-fold cross-validation (two jobs in parallel) on the
handwritten digits shipped with scikit-learn. Prints the grid's mean CV
accuracies, the best parameters, their CV accuracy and the accuracy of the
refitted best model on a held-out test set.

Run with ``python examples/grid_search.py``.
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )

    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            # A short training budget keeps the search fast; every candidate
            # gets the same seed, so the comparison is between settings only.
            ("net", BackpropClassifier(max_iter=60, random_state=0)),
        ]
    )
    # Pipeline parameters are addressed as <step name>__<parameter>. On this
    # data alpha=1e-2 is too weak a penalty to change many predictions
    # from 1e-4; a strong penalty (1.0) does.
    param_grid = {
        "net__hidden_layer_sizes": [(16,), (32,), (16, 16)],
        "net__alpha": [1e-4, 1e-2, 1.0],
    }
    search = GridSearchCV(pipeline, param_grid, cv=3, n_jobs=2)

    start = time.perf_counter()
    with warnings.catch_warnings():
        # The short budget (max_iter=60) stops before convergence on purpose.
        # scikit-learn passes this filter on to the n_jobs=2 worker processes.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    seconds = time.perf_counter() - start

    print(f"Grid search over {len(search.cv_results_['params'])} candidates, cv=3:")
    results = search.cv_results_
    for params, mean, std in zip(
        results["params"],
        results["mean_test_score"],
        results["std_test_score"],
        strict=True,
    ):
        sizes = params["net__hidden_layer_sizes"]
        alpha = params["net__alpha"]
        print(
            f"  hidden_layer_sizes={str(sizes):<9} alpha={alpha:<7g}"
            f"  CV accuracy = {mean:.4f} +/- {std:.4f}"
        )
    print(f"Best parameters: {search.best_params_}")
    print(f"Best CV accuracy: {search.best_score_:.4f}")
    print(
        f"Test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}"
    )
    print(f"Search time: {seconds:.1f} s")


if __name__ == "__main__":
    main()
