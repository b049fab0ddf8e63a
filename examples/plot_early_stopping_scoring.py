"""Early stopping on any score
===========================

scikit-learn's MLP stops early on its ``score``: accuracy for a classifier.
On imbalanced classes accuracy rewards predicting the majority class, and a
model can stop, and be restored to, the epoch where it did that best.
:class:`skbp.BackpropClassifier` takes ``scoring=``, as
``HistGradientBoostingClassifier`` does: the name of any scikit-learn scorer,
a callable ``scorer(estimator, X, y)``, or ``'loss'``, the validation loss
(recorded negated, so that greater is better).

This example fits the same network with early stopping on three scores,
``None`` (accuracy, the default), ``'balanced_accuracy'`` and ``'loss'``, from
five seeds, prints where each stopped and how it does on a held-out test set,
and draws the validation curves (``validation_scores_``) that decided.

Needs matplotlib (``pip install matplotlib``).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier

# %%
# An imbalanced binary problem
# ----------------------------
#
# 3,000 samples, 20 features of which 5 are informative; about 10% of them in
# the positive (minority) class, and 5% of the labels flipped at random, so
# that no model is perfect. Half of the samples, stratified, are the test set.

X, y = make_classification(
    n_samples=3000,
    n_features=20,
    n_informative=5,
    weights=[0.9],
    flip_y=0.05,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)
print(f"positive class: {y_train.mean():.1%} of the training set")

# %%
# Three scores, five seeds
# ------------------------
#
# Every network has one hidden layer of 64 units and trains with Adam. Early
# stopping holds out 20% of the training set (stratified; the default 10%
# would leave about 18 positive samples to judge by), stops when the score has
# not improved by ``tol`` for ``n_iter_no_change=10`` epochs, and restores the
# weights of the best epoch. The three scores see the same split and the same
# weights from the same seed: only the score that decides when to stop, and
# which epoch to keep, differs. The score changes nothing in the gradient.
#
# For each run: the epochs trained (``n_iter_``), the best epoch (the one kept),
# ``best_validation_score_``, and on the test set the balanced accuracy (the
# mean of the two classes' recalls) and the recall of the minority class.

SCORINGS = (None, "balanced_accuracy", "loss")
SEEDS = (0, 1, 2, 3, 4)

results = {scoring: [] for scoring in SCORINGS}
curves = {scoring: [] for scoring in SCORINGS}
print(
    f"{'scoring':<18} {'seed':>4} {'n_iter_':>7} {'best':>4} "
    f"{'best_validation_score_':>22} {'test bal. acc.':>14} {'test recall':>11}"
)
for scoring in SCORINGS:
    for seed in SEEDS:
        model = make_pipeline(
            StandardScaler(),
            BackpropClassifier(
                hidden_layer_sizes=(64,),
                early_stopping=True,
                validation_fraction=0.2,
                scoring=scoring,
                max_iter=300,
                random_state=seed,
            ),
        ).fit(X_train, y_train)
        net = model[-1]
        y_pred = model.predict(X_test)
        balanced = balanced_accuracy_score(y_test, y_pred)
        recall = recall_score(y_test, y_pred)
        best_epoch = int(np.argmax(net.validation_scores_)) + 1
        results[scoring].append((net.n_iter_, balanced, recall))
        curves[scoring].append(net.validation_scores_)
        print(
            f"{scoring!s:<18} {seed:>4} {net.n_iter_:>7} {best_epoch:>4} "
            f"{net.best_validation_score_:>22.3f} {balanced:>14.3f} {recall:>11.3f}"
        )

print()
for scoring, rows in results.items():
    n_iter, balanced, recall = np.mean(rows, axis=0)
    print(
        f"{scoring!s:<18} mean over seeds: n_iter_ {n_iter:5.1f}, "
        f"test balanced accuracy {balanced:.3f}, test recall {recall:.3f}"
    )

# %%
# The validation curves
# ---------------------
#
# One panel per score, one line per seed; a dot marks the best epoch, the one
# whose weights the model keeps, and each line ends where training stopped.
# The three panels have different units: accuracy, balanced accuracy and the
# negated log-loss.

fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
for ax, (scoring, runs) in zip(axes, curves.items(), strict=True):
    for seed, scores in zip(SEEDS, runs, strict=True):
        epochs = np.arange(1, len(scores) + 1)
        (line,) = ax.plot(epochs, scores, lw=1, label=f"seed {seed}")
        best = int(np.argmax(scores))
        ax.plot(epochs[best], scores[best], "o", color=line.get_color())
    ax.set_title(f"scoring={scoring!r}")
    ax.set_xlabel("epoch")
axes[0].set_ylabel("validation score (greater is better)")
axes[-1].legend(loc="lower right")
plt.show()

# %%
# What it shows
# -------------
#
# With accuracy, the validation curve climbs within a few epochs to about
# 0.88, the share of the majority class, then creeps up in steps of one
# sample (1/300): it soon stops improving, and the model kept has learnt
# little about the minority class. The validation loss is smooth and goes on
# falling for longer; stopping on it trains about 2.4 times as many epochs as
# accuracy on average, and in every seed here gives the best test balanced
# accuracy and minority recall of the three, by 0.6 to 9 points of balanced
# accuracy over the better of the other two.
#
# Stopping on ``'balanced_accuracy'`` is not the fix one might expect. On 300
# validation samples, about 36 of them positive, one positive sample moves it
# by 1.4 points, and its curve is far from smooth: in the first epochs the
# barely trained network predicts the positive class often, which scores well
# on balanced accuracy, and the score then falls as the network learns the
# majority class before it climbs again. In seeds 1 and 3 that early peak is
# not beaten within ``n_iter_no_change`` epochs: training stops at epoch 13
# and keeps the weights of epoch 2, a worse model than accuracy's. In seeds 0
# and 4 it stops where accuracy stops, and in seed 2 it trains 10 epochs
# longer and does slightly better. Early stopping needs a score that changes
# smoothly with the weights, and the loss is one; ``'average_precision'`` or
# ``'roc_auc'``, which do not depend on a threshold, may be others.
#
# Which score to stop on does not change what the network is trained to
# minimise: for a model that weighs the minority class more, combine it with
# ``class_weight="balanced"`` (see :ref:`sphx_glr_auto_examples_imbalanced.py`).
