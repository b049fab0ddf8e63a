"""Training curves: early stopping and ``TrainingCurveDisplay``
=============================================================

A :class:`skbp.BackpropClassifier` fitted with ``early_stopping=True``
records three curves, one value per epoch: ``loss_curve_`` (the training
loss), ``validation_loss_curve_`` and ``validation_scores_`` (the loss and
the accuracy on the validation set). :class:`skbp.TrainingCurveDisplay`
draws all three. This example fits a network on the handwritten digits twice,
with the two ways of choosing its validation set, prints where each one's
validation score peaked and draws their curves side by side.

Needs matplotlib (``pip install matplotlib``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, TrainingCurveDisplay

# %%
# The data
# --------
#
# A quarter of the digits is the test set; a fifth of the rest is a validation
# set for the second model. The scaler learns from the training rows only.

X, y = load_digits(return_X_y=True)
X_rest, X_test, y_rest, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
X_train, X_val, y_train, y_val = train_test_split(
    X_rest, y_rest, test_size=0.2, random_state=0, stratify=y_rest
)
scaler = StandardScaler().fit(X_train)
X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))

# %%
# Two ways to choose the validation set
# -------------------------------------
#
# Both models stop once their validation score has not improved for 10 epochs
# and then restore the weights of their best epoch.
#
# 1. ``validation_fraction`` holds out a share of the training rows, as
#    scikit-learn's MLP does;
# 2. ``fit(X_train, y_train, X_val=X_val, y_val=y_val)`` takes a validation
#    set of your own, and all of ``X_train`` is trained on.


def describe(name, model, X_test, y_test):
    """Print how long a model trained and where its validation score peaked.

    Parameters
    ----------
    name : str
        The model's name, printed above its results.
    model : BackpropClassifier
        A model fitted with ``early_stopping=True``.
    X_test, y_test : array-like
        The test set.
    """
    # validation_scores_[i] is the score after epoch i + 1.
    best_epoch = int(np.argmax(model.validation_scores_)) + 1
    print(f"{name}:")
    print(f"  epochs run           = {model.n_iter_}")
    print(
        f"  best epoch           = {best_epoch} "
        f"(validation accuracy {model.best_validation_score_:.4f})"
    )
    print(f"  test accuracy        = {model.score(X_test, y_test):.4f}")


settings = dict(
    hidden_layer_sizes=(64,),
    early_stopping=True,
    n_iter_no_change=10,  # stop after 10 epochs without improvement
    max_iter=300,
    random_state=0,
)

held_out = BackpropClassifier(validation_fraction=0.2, **settings)
held_out.fit(X_train, y_train)
describe("Held-out 20% of the training rows", held_out, X_test, y_test)

own = BackpropClassifier(**settings)
own.fit(X_train, y_train, X_val=X_val, y_val=y_val)
describe("Own validation set (fit(..., X_val=, y_val=))", own, X_test, y_test)

# %%
# The curves
# ----------
#
# The losses share the left axis; the validation accuracy has the right one.
# Each run goes on for a few epochs past its best one (the stopping rule's
# patience) before the best weights are restored.

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for ax, model, title in zip(
    axes,
    (held_out, own),
    ("validation_fraction=0.2", "fit(X, y, X_val=X_val, y_val=y_val)"),
    strict=True,
):
    display = TrainingCurveDisplay.from_estimator(model, ax=ax)
    # Both panels have the same three curves: one legend below them, rather
    # than one in each panel over the curves' tails.
    display.score_ax_.get_legend().remove()
    ax.set_title(title)
fig.legend(
    list(display.lines_.values()),
    ["training loss", "validation loss", "validation accuracy"],
    loc="outside lower center",
    ncols=3,
)
plt.show()
