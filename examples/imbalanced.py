"""Imbalanced classes and ``class_weight``
========================================

scikit-learn's ``MLPClassifier`` has no ``class_weight``;
:class:`skbp.BackpropClassifier` has. On a binary problem in which only about
5% of the samples belong to the positive (rare) class, this example fits the
same network twice: once with every sample weighing the same, once with
``class_weight="balanced"``, which weighs each class by
``n_samples / (n_classes * count)`` so that both classes carry the same total
weight in the loss. For each model it prints, on a stratified test set, the
accuracy, the recall of the rare class, the balanced accuracy (the mean recall
over the classes) and the confusion matrix.
"""

import warnings

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    recall_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier

# %%
# An imbalanced data set
# ----------------------
#
# 95% of the samples are of class 0 and 5% of class 1. ``flip_y`` adds some
# label noise, so the classes overlap and the rare one is easy to neglect: a
# model that always answers 0 is already 95% accurate. The split is stratified
# so that the test set has the same share of the rare class.

X, y = make_classification(
    n_samples=4000,
    n_features=20,
    n_informative=5,
    weights=[0.95, 0.05],
    flip_y=0.02,
    class_sep=0.8,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
print(
    f"Training set: {len(y_train)} samples, "
    f"{(y_train == 1).sum()} of the rare class 1 "
    f"({(y_train == 1).mean():.1%})"
)

# %%
# The scores that matter for a rare class
# ---------------------------------------
#
# Accuracy says little here; the recall of the rare class (the share of its
# samples found) and the balanced accuracy say more, and the confusion matrix
# shows where the errors are.


def report(name, y_test, y_pred):
    """Print the scores that matter for a rare positive class.

    Parameters
    ----------
    name : str
        The model's name, printed above its scores.
    y_test : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    """
    print(f"{name}:")
    print(f"  accuracy               = {accuracy_score(y_test, y_pred):.4f}")
    print(f"  recall of rare class 1 = {recall_score(y_test, y_pred):.4f}")
    print(f"  balanced accuracy      = {balanced_accuracy_score(y_test, y_pred):.4f}")
    matrix = confusion_matrix(y_test, y_pred)
    print("  confusion matrix (rows: true 0, 1; columns: predicted 0, 1):")
    for row in matrix:
        print("    " + "  ".join(f"{count:5d}" for count in row))


# %%
# Without and with class weights
# ------------------------------
#
# Both networks have the same architecture, budget and seed; only
# ``class_weight`` differs.

settings = dict(hidden_layer_sizes=(32,), max_iter=100, random_state=0)
models = {
    "No class weights": BackpropClassifier(**settings),
    'class_weight="balanced"': BackpropClassifier(class_weight="balanced", **settings),
}
for name, classifier in models.items():
    model = make_pipeline(StandardScaler(), classifier)
    with warnings.catch_warnings():
        # 100 epochs is a demo budget, not convergence.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    report(name, y_test, model.predict(X_test))

print("Balancing trades some accuracy on the common class for recall on the rare one.")

# %%
# Balancing the classes finds more of the rare class (higher recall and
# balanced accuracy) at the price of more false alarms among the common one
# (lower accuracy). Which trade is right depends on what each kind of error
# costs; ``class_weight`` also takes a dict of weights per class for costs
# other than "balanced".
