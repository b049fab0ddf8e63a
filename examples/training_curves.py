"""Training curves: early stopping and skbp.TrainingCurveDisplay.

Fits a BackpropClassifier with ``early_stopping=True`` on the handwritten
digits, twice:

1. holding out ``validation_fraction`` of the training rows, as scikit-learn's
   MLP does;
2. with a validation set of your own, ``fit(X_train, y_train, X_val=X_val,
   y_val=y_val)`` (all of ``X_train`` is then trained on).

Each fitted model records ``loss_curve_`` (training loss per epoch),
``validation_loss_curve_`` and ``validation_scores_`` (loss and accuracy on
the validation set per epoch); ``TrainingCurveDisplay.from_estimator`` plots
all three, the two models side by side, into one PNG. The script prints the
best epoch of each model and where the figure was saved.

Needs matplotlib (``pip install matplotlib``). Run with::

    python examples/training_curves.py [OUTPUT.png]

The figure goes to OUTPUT.png, by default to ``training_curves.png`` in the
system's temporary directory.
"""

import os
import sys
import tempfile

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no window: draw straight to a file
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skbp import BackpropClassifier, TrainingCurveDisplay  # noqa: E402


def describe(name, model, X_test, y_test):
    """Print how long a model trained and where its validation score peaked."""
    # validation_scores_[i] is the score after epoch i + 1; early stopping
    # restores the weights of the best epoch.
    best_epoch = int(np.argmax(model.validation_scores_)) + 1
    print(f"{name}:")
    print(f"  epochs run           = {model.n_iter_}")
    print(
        f"  best epoch           = {best_epoch} "
        f"(validation accuracy {model.best_validation_score_:.4f})"
    )
    print(f"  test accuracy        = {model.score(X_test, y_test):.4f}")


def main():
    default = os.path.join(tempfile.gettempdir(), "training_curves.png")
    path = sys.argv[1] if len(sys.argv) > 1 else default

    X, y = load_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.2, random_state=0, stratify=y_rest
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))

    settings = dict(
        hidden_layer_sizes=(64,),
        early_stopping=True,
        n_iter_no_change=10,  # stop after 10 epochs without improvement
        max_iter=300,
        random_state=0,
    )

    # 1. Validation rows held out from the training data (validation_fraction).
    held_out = BackpropClassifier(validation_fraction=0.2, **settings)
    held_out.fit(X_train, y_train)
    describe("Held-out 20% of the training rows", held_out, X_test, y_test)

    # 2. A validation set of your own, used instead of holding rows out.
    own = BackpropClassifier(**settings)
    own.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    describe("Own validation set (fit(..., X_val=, y_val=))", own, X_test, y_test)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    TrainingCurveDisplay.from_estimator(held_out, ax=axes[0], name="held out")
    TrainingCurveDisplay.from_estimator(own, ax=axes[1], name="X_val")
    axes[0].set_title("validation_fraction=0.2")
    axes[1].set_title("fit(X, y, X_val=X_val, y_val=y_val)")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"Saved the training curves to {path}")


if __name__ == "__main__":
    main()
