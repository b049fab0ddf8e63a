"""Prediction intervals and outliers: quantile, Huber and absolute-error losses
==============================================================================

:class:`skbp.BackpropRegressor` takes three losses that scikit-learn's MLP
does not: ``'quantile'`` (the pinball loss of a chosen quantile),
``'absolute_error'`` and ``'huber'``. This example fits two quantile models to
get a 90% prediction interval and measures how often held-out targets fall in
it, then fits a curve through data with a few gross outliers with squared
error, Huber and absolute error, and shows which of them the outliers drag.

Needs matplotlib (``pip install matplotlib``).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skbp import BackpropRegressor

# A small network trained by L-BFGS: a few hundred points fit in a second.
SETTINGS = dict(
    hidden_layer_sizes=(16,),
    activation="tanh",
    solver="lbfgs",
    max_iter=500,
    random_state=0,
)


def fit(X, y, **params):
    """A regressor with ``SETTINGS`` and ``params``, fitted quietly."""
    model = BackpropRegressor(**SETTINGS, **params)
    with warnings.catch_warnings():
        # L-BFGS may stop at max_iter on the kinked losses: what it reached
        # is what we show.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


# %%
# Noise that grows with x
# -----------------------
#
# Targets scatter around a sine with a spread that grows with ``|x|``: a
# model of the mean says nothing about it, and a fixed-width band around the
# mean would be too wide in the middle and too narrow at the edges.

rng = np.random.default_rng(0)
X = rng.uniform(-3.0, 3.0, size=(800, 1))
y = np.sin(X[:, 0]) + (0.1 + 0.25 * np.abs(X[:, 0])) * rng.normal(size=800)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

# %%
# Two quantile models make an interval
# ------------------------------------
#
# ``loss='quantile'`` with ``quantile=0.05`` fits the 5th percentile of the
# targets given ``x``, ``quantile=0.95`` the 95th: between them lie about
# 90% of the targets. On held-out data the share should be near 90%, which
# checks the models rather than their training fit.

low = fit(X_train, y_train, loss="quantile", quantile=0.05)
high = fit(X_train, y_train, loss="quantile", quantile=0.95)
inside = (low.predict(X_test) <= y_test) & (y_test <= high.predict(X_test))
print(f"held-out coverage of the 90% interval: {inside.mean():.3f}")
for model in (low, high):
    below = np.mean(y_test <= model.predict(X_test))
    print(f"share of held-out targets below the {model.quantile} model: {below:.3f}")

grid = np.linspace(-3.0, 3.0, 300).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
ax.scatter(X_test[:, 0], y_test, s=8, color="0.6", label="held-out targets")
ax.fill_between(
    grid[:, 0],
    low.predict(grid),
    high.predict(grid),
    alpha=0.3,
    label=f"0.05 to 0.95 quantile models ({inside.mean():.0%} of held-out points)",
)
ax.plot(grid[:, 0], np.sin(grid[:, 0]), color="k", label="sin(x)")
ax.set(xlabel="x", ylabel="y", title="A prediction interval from two quantile models")
ax.legend(loc="upper left")
plt.show()

# %%
# A few gross outliers
# --------------------
#
# The same kind of curve with little noise, and 4% of its points thrown far
# up. Squared error fits the conditional mean, which the outliers drag
# towards them; absolute error fits the median and Huber (here with a
# threshold of 0.3, three noise deviations) is quadratic for small residuals
# and linear for large ones, so each outlier pulls on it with a bounded force.

X_curve = rng.uniform(-3.0, 3.0, size=(300, 1))
y_curve = np.sin(X_curve[:, 0]) + 0.1 * rng.normal(size=300)
outliers = rng.choice(300, size=12, replace=False)
y_curve[outliers] += rng.uniform(8.0, 12.0, size=12)

losses = {
    "squared error": dict(loss="squared_error"),
    "huber (huber_delta=0.3)": dict(loss="huber", huber_delta=0.3),
    "absolute error": dict(loss="absolute_error"),
}
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
ax.scatter(X_curve[:, 0], y_curve, s=8, color="0.6", label="training targets")
for name, params in losses.items():
    model = fit(X_curve, y_curve, **params)
    error = np.max(np.abs(model.predict(grid) - np.sin(grid[:, 0])))
    print(f"{name:<24} largest distance from sin(x): {error:.3f}")
    ax.plot(grid[:, 0], model.predict(grid), label=name)
# The outliers lie at y ~ 10, above the plotted range.
ax.set(ylim=(-2.0, 3.0), xlabel="x", ylabel="y", title="Fits through 12 outliers")
ax.legend(loc="upper left")
plt.show()

# %%
# The squared-error fit bends towards the outliers wherever they fall; the
# Huber and absolute-error fits stay on the curve. The price of robustness
# is efficiency: on clean Gaussian noise squared error estimates the mean
# with less variance, and Huber's threshold sets where between the two a
# model sits.
