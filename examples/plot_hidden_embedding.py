"""A hidden layer as a 2-D embedding
==================================

A network's hidden layers are features it has learnt for its task. With a
last hidden layer of two units, the network has to squeeze everything it
knows about a sample into two numbers before it classifies it, and those two
numbers can be drawn. This example trains :class:`skbp.BackpropClassifier`
on the handwritten digits with ``hidden_layer_sizes=(64, 2)``, reads that
layer with :class:`skbp.HiddenLayerEmbedding`, and draws it beside the 2-D
projection of the raw pixels that PCA finds, which knows nothing of the
labels. A linear classifier on each of the two 2-D representations tells how
well they separate the digits.

Needs matplotlib (``pip install matplotlib``).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, HiddenLayerEmbedding

# %%
# The digits
# ----------
#
# 1,797 images of 8x8 pixels with values from 0 to 16, scaled to [0, 1]. The
# embeddings are learnt on 70% of them and drawn for the other 30%, which
# neither the network nor PCA has seen.

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)

# %%
# A network with a 2-unit bottleneck
# ----------------------------------
#
# 64 units, then 2, then the 10 outputs. ``'tanh'`` bounds each unit's output
# to (-1, 1), so the embedding fills a square; unbounded activations such as
# ``'relu'`` or ``'elu'`` stretch a few classes far out and crowd the others
# near zero. An L2 penalty (``alpha=0.01``) a hundred times the default helps
# so narrow a network generalise.

network = BackpropClassifier(
    hidden_layer_sizes=(64, 2),
    activation="tanh",
    alpha=0.01,
    learning_rate_init=0.01,
    max_iter=800,
    random_state=0,
)
embedding = HiddenLayerEmbedding(network, layer=-1).fit(X_train, y_train)
print(f"network's own test accuracy: {embedding.estimator_.score(X_test, y_test):.3f}")

# %%
# Two 2-D representations
# -----------------------
#
# ``embedding.transform`` returns the bottleneck's two activations; the
# fitted network's own ``hidden_activations(X, layer=-1)`` gives the same
# (``embedding.estimator_`` is that network). PCA's projection keeps the two
# directions of largest variance of the pixels. A logistic regression on each
# 2-D representation, trained on the training rows, measures how much of the
# classes each one keeps in a form a linear model can use.

projections = {
    "PCA of the pixels": PCA(n_components=2).fit(X_train),
    "the network's 2-unit layer": embedding,
}
for name, projection in projections.items():
    # Both projections are fitted already; only the linear model learns here.
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    linear.fit(projection.transform(X_train), y_train)
    accuracy = linear.score(projection.transform(X_test), y_test)
    print(f"{name:<27} linear model's test accuracy = {accuracy:.3f}")

# %%
# The pictures
# ------------
#
# Each test digit is a point, coloured by its class and placed by its two
# coordinates; each class's label sits at the median of its points. PCA's
# projection piles several classes on top of one another. The network's
# bottleneck, trained to tell the digits apart, gives each class a stretch of
# the square's edges, a corner or a patch inside of its own.

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, (name, projection) in zip(axes, projections.items(), strict=True):
    points = projection.transform(X_test)
    ax.scatter(points[:, 0], points[:, 1], c=y_test, cmap="tab10", s=12, alpha=0.7)
    for digit in range(10):
        center = np.median(points[y_test == digit], axis=0)
        ax.annotate(
            str(digit),
            center,
            fontsize=14,
            fontweight="bold",
            ha="center",
            va="center",
            # A white outline keeps the label legible over points of any colour.
            path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
        )
    ax.set_title(name)
    ax.set_xlabel("first coordinate")
    ax.set_ylabel("second coordinate")
plt.show()
