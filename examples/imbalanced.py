"""Imbalanced classes: BackpropClassifier with and without class_weight.

Draws a synthetic binary problem in which only about 5% of the samples
belong to the positive (rare) class, and fits the same network twice: once
with every sample weighing the same, once with ``class_weight="balanced"``,
which weighs each class by ``n_samples / (n_classes * count)`` so that both
classes carry the same total weight in the loss. For both models it prints,
on a stratified test set, the accuracy, the recall of the rare class, the
balanced accuracy (mean recall over the classes) and the confusion matrix.

Run with ``python examples/imbalanced.py``.
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


def report(name, y_test, y_pred):
    """Print the scores that matter for a rare positive class."""
    print(f"{name}:")
    print(f"  accuracy               = {accuracy_score(y_test, y_pred):.4f}")
    print(f"  recall of rare class 1 = {recall_score(y_test, y_pred):.4f}")
    print(f"  balanced accuracy      = {balanced_accuracy_score(y_test, y_pred):.4f}")
    matrix = confusion_matrix(y_test, y_pred)
    print("  confusion matrix (rows: true 0, 1; columns: predicted 0, 1):")
    for row in matrix:
        print("    " + "  ".join(f"{count:5d}" for count in row))


def main():
    # 95% class 0, 5% class 1; flip_y adds some label noise, so the classes
    # overlap and the rare one is easy to neglect.
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

    settings = dict(hidden_layer_sizes=(32,), max_iter=100, random_state=0)
    models = {
        "No class weights": BackpropClassifier(**settings),
        'class_weight="balanced"': BackpropClassifier(
            class_weight="balanced", **settings
        ),
    }
    for name, classifier in models.items():
        model = make_pipeline(StandardScaler(), classifier)
        with warnings.catch_warnings():
            # 100 epochs is a demo budget, not convergence.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        report(name, y_test, model.predict(X_test))

    print(
        "Balancing trades some accuracy on the common class for recall on the rare one."
    )


if __name__ == "__main__":
    main()
