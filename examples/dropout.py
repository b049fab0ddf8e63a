"""Dropout against overfitting
===========================

A wide network on a small, noisy problem learns its training rows by heart:
its training loss keeps falling while its loss on held-out rows turns back
up. :class:`skbp.BackpropClassifier`'s ``dropout`` (here half of the hidden
units zeroed in each step) slows the memorising, and the held-out loss stays
lower. This example trains the same network without and with dropout and
draws both runs' curves, recorded in ``validation_loss_curve_``, with
:class:`skbp.TrainingCurveDisplay`.

Needs matplotlib (``pip install matplotlib``).
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skbp import BackpropClassifier, TrainingCurveDisplay

# %%
# A small, noisy problem
# ----------------------
#
# 300 training rows of 40 features, of which only 6 carry information, and
# 15% of the labels flipped at random: easy to memorise, hard to generalise
# from. Another 300 rows are held out to watch the memorising.

X, y = make_classification(
    n_samples=600, n_features=40, n_informative=6, flip_y=0.15, random_state=0
)
X_train, X_val, y_train, y_val = train_test_split(X, y, train_size=300, random_state=0)

# %%
# Without and with dropout
# ------------------------
#
# Two hidden layers of 256 units, far more than 300 rows need. Passing
# ``X_val`` and ``y_val`` with ``early_stopping=True`` scores the held-out
# rows after every epoch; a patience longer than the budget keeps each run
# going for all 120 epochs, to show the whole curve.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True, layout="constrained")
for ax, dropout in zip(axes, (0.0, 0.5), strict=True):
    model = BackpropClassifier(
        hidden_layer_sizes=(256, 256),
        dropout=dropout,
        early_stopping=True,  # scores X_val each epoch ...
        n_iter_no_change=200,  # ... and keeps training, to show the whole curve
        max_iter=120,
        random_state=0,
    )
    with warnings.catch_warnings():
        # Stopping at max_iter is the point of this run, not a problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    display = TrainingCurveDisplay.from_estimator(model, ax=ax)
    # Both panels have the same three curves: one legend below them, rather
    # than one in each panel over the curves.
    display.score_ax_.get_legend().remove()
    ax.set_title(f"dropout={dropout}")
    best = min(model.validation_loss_curve_)
    last = model.validation_loss_curve_[-1]
    print(
        f"dropout={dropout}: training loss {model.loss_curve_[-1]:.3f}, held-out loss "
        f"best {best:.3f}, last {last:.3f}; held-out accuracy "
        f"{model.best_validation_score_:.3f} (best epoch)"
    )
fig.legend(
    list(display.lines_.values()),
    ["training loss", "held-out loss", "held-out accuracy"],
    loc="outside lower center",
    ncols=3,
)
plt.show()

# %%
# Without dropout the training loss falls to almost nothing and the held-out
# loss climbs far above its best value; with dropout the training loss falls
# more slowly and the held-out loss climbs less. Dropout does not remove the
# need to stop in time: with ``n_iter_no_change`` at its default, early
# stopping ends both runs near their best epoch and restores its weights.
