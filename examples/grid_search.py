"""Grid search over a scaling pipeline
====================================

A :class:`skbp.BackpropClassifier` is a scikit-learn estimator, so the
model-selection tools take it as they take any other. Here ``GridSearchCV``
picks the hidden layer sizes and the L2 penalty ``alpha`` of a
``StandardScaler`` + ``BackpropClassifier`` pipeline by 3-fold
cross-validation on the handwritten digits, and the refitted best model is
scored on a held-out test set.
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier

# %%
# The data and the pipeline
# -------------------------
#
# A quarter of the digits is kept aside for the final test; the search sees
# only the rest. A short training budget keeps the search fast, and every
# candidate gets the same seed, so the comparison is between settings only.

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
pipeline = Pipeline(
    [
        ("scale", StandardScaler()),
        ("net", BackpropClassifier(max_iter=60, random_state=0)),
    ]
)

# %%
# The search
# ----------
#
# Pipeline parameters are addressed as ``<step name>__<parameter>``. On this
# data ``alpha=1e-2`` is too weak a penalty to change many predictions from
# ``1e-4``; a strong penalty (``1.0``) does. The nine candidates times three
# folds are fitted two at a time (``n_jobs=2``).

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

# %%
# The results
# -----------
#
# ``cv_results_`` holds every candidate's mean and spread of the fold scores;
# ``best_params_`` the winner, which ``GridSearchCV`` refitted on all the
# training rows (``refit=True``) so that ``search.score`` uses it.

results = search.cv_results_
print(f"Grid search over {len(results['params'])} candidates, cv=3:")
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
print(f"Test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}")
print(f"Search time: {seconds:.1f} s")
