"""Decision boundaries of the hidden activations
==============================================

:class:`skbp.BackpropClassifier` offers the four hidden activations of
scikit-learn's MLP and five more. This example trains the same small network
with each of the nine on a 2-D problem, two interleaving half-moons, and
draws the boundary each one learns between the classes, with its accuracy on
a test set.

Needs matplotlib (``pip install matplotlib``).
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.model_selection import train_test_split

from skbp import BackpropClassifier

# %%
# Two half-moons
# --------------
#
# 500 points of two classes that no straight line separates, with enough
# noise that the moons overlap a little. The network trains on 300 of them;
# the other 200 measure its accuracy.

X, y = make_moons(n_samples=500, noise=0.25, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=0)

# %%
# One network per activation
# --------------------------
#
# scikit-learn's activations are ``'identity'``, ``'logistic'``, ``'tanh'`` and
# ``'relu'``; skbp adds ``'leaky_relu'``, ``'elu'``, ``'gelu'``, ``'silu'`` and
# ``'softplus'``. Every network has one hidden layer of 32 units, starts from
# the same seed and trains for the same 500 epochs of Adam. The stopping rule
# is switched off (``n_iter_no_change`` as long as the budget): ``'logistic'``
# and ``'softplus'`` are nearly linear at the small initial weights, and would
# otherwise be stopped on the plateau where they still draw a straight line.

ACTIVATIONS = (
    "identity",
    "logistic",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "silu",
    "softplus",
)
N_EPOCHS = 500

models = {}
for activation in ACTIVATIONS:
    model = BackpropClassifier(
        hidden_layer_sizes=(32,),
        activation=activation,
        learning_rate_init=0.03,
        max_iter=N_EPOCHS,
        n_iter_no_change=N_EPOCHS,
        random_state=0,
    )
    with warnings.catch_warnings():
        # Every run ends at max_iter by design: a fixed budget for all.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    models[activation] = model
    print(f"{activation:<10} test accuracy = {model.score(X_test, y_test):.3f}")

# %%
# The boundaries
# --------------
#
# The background shows each network's probability of the second class, from
# red (first class) through white (undecided) to blue (second class); the
# points are the training set. ``'identity'`` makes the whole network linear:
# a straight boundary, whatever the number of units. ``'relu'`` and
# ``'leaky_relu'`` draw a boundary of straight pieces; the smooth activations
# draw curves.

fig, axes = plt.subplots(
    3, 3, figsize=(10, 10), sharex=True, sharey=True, layout="constrained"
)
for ax, (activation, model) in zip(axes.flat, models.items(), strict=True):
    DecisionBoundaryDisplay.from_estimator(
        model,
        X,
        response_method="predict_proba",
        cmap="RdBu",
        alpha=0.8,
        ax=ax,
        xlabel="",
        ylabel="",
    )
    ax.scatter(
        X_train[:, 0], X_train[:, 1], c=y_train, cmap="RdBu", edgecolors="k", s=20
    )
    ax.set_title(f"{activation}: test accuracy {model.score(X_test, y_test):.3f}")
plt.show()

# %%
# On this problem every nonlinear activation reaches about the same accuracy:
# the choice matters more for deep networks, where the activation also
# decides how well gradients flow through the layers, than for the shape of
# a boundary in two dimensions.
