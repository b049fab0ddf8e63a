"""The regressor's robust and quantile losses, fitted end to end.

Every solver fits each of 'absolute_error', 'huber' and 'quantile' (per-example
SGD through the NumPy loop, as no compiled kernel computes them), better than
the best constant does in the loss's own terms; a network with no hidden layer
reaches the optimum of scipy's linear program behind scikit-learn's
``QuantileRegressor``; a quantile model covers its quantile of the targets;
and the robust losses are barely moved by outliers that move squared error.
The losses themselves are checked in ``test_losses.py``.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import QuantileRegressor
from sklearn.metrics import mean_absolute_error, mean_pinball_loss

import skbp._training
from skbp import BackpropRegressor
from skbp._losses import get_output_layer
from skbp._primitives import NUMPY

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROBUST_LOSSES = ("absolute_error", "huber", "quantile")

SOLVERS = {
    "lbfgs": {"solver": "lbfgs", "max_iter": 300},
    "adam": {"solver": "adam", "learning_rate_init": 0.01, "max_iter": 150},
    "sgd": {"solver": "sgd", "learning_rate_init": 0.05, "max_iter": 150},
    # One sample a step: normally the compiled per-example loop.
    "sgd-batch-1": {
        "solver": "sgd",
        "batch_size": 1,
        "learning_rate_init": 0.01,
        "max_iter": 15,
    },
}


def _curve(n_samples, seed, noise=0.3):
    """Targets a smooth function of one feature plus noise, as (X, y, rng)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n_samples, 1))
    y = 2.0 * np.sin(1.5 * X[:, 0]) + noise * rng.normal(size=n_samples)
    return X, y, rng


def _mean_loss(loss, y, prediction, quantile=0.5, huber_delta=1.0):
    """The loss of a prediction, through the references of test_losses.py."""
    if loss == "absolute_error":
        return mean_absolute_error(y, prediction)
    if loss == "quantile":
        return mean_pinball_loss(y, prediction, alpha=quantile)
    # Huber, written out: 0.5 r^2 inside the threshold, linear beyond.
    size = np.abs(y - prediction)
    inside = 0.5 * size**2
    beyond = huber_delta * (size - huber_delta / 2)
    return np.mean(np.where(size <= huber_delta, inside, beyond))


def _best_constant(loss, y, quantile=0.5):
    """The constant prediction minimising the loss (over a fine grid for Huber)."""
    if loss == "quantile":
        return np.quantile(y, quantile)
    if loss == "absolute_error":
        return np.median(y)
    grid = np.linspace(y.min(), y.max(), 2001)
    losses = [_mean_loss(loss, y, np.full_like(y, c)) for c in grid]
    return grid[np.argmin(losses)]


class _CompiledLoopCalls:
    """Counts the epochs run by the compiled per-example loop."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = skbp._training.run_per_example_epoch

        def counted(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(skbp._training, "run_per_example_epoch", counted)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("loss", ROBUST_LOSSES)
def test_every_solver_fits_each_loss(loss, solver, monkeypatch):
    X, y, _ = _curve(300, seed=0)
    q = 0.7
    calls = _CompiledLoopCalls(monkeypatch)
    reg = BackpropRegressor(
        loss=loss,
        quantile=q,
        hidden_layer_sizes=(16,),
        activation="tanh",
        random_state=0,
        **SOLVERS[solver],
    ).fit(X, y)
    assert reg.out_activation_ == "identity"
    prediction = reg.predict(X)
    assert np.isfinite(reg.loss_) and np.isfinite(prediction).all()
    fitted = _mean_loss(loss, y, prediction, quantile=q)
    constant = np.full_like(y, _best_constant(loss, y, q))
    constant = _mean_loss(loss, y, constant, quantile=q)
    # The sine carries most of the variance: the best constant is several
    # times worse than a fit, even a short one (measured: 3x to 10x).
    assert fitted < 0.5 * constant
    # No compiled kernel computes these losses: the NumPy loop ran.
    assert calls.count == 0


def test_the_compiled_loop_runs_squared_error(monkeypatch):
    # The counter of the test above does see the compiled loop where it runs.
    X, y, _ = _curve(50, seed=0)
    calls = _CompiledLoopCalls(monkeypatch)
    BackpropRegressor(
        hidden_layer_sizes=(4,), random_state=0, **SOLVERS["sgd-batch-1"]
    ).fit(X, y)
    if NUMPY.per_example_sgd is None:
        pytest.skip("the compiled per-example loop is not built")
    assert calls.count > 0


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_quantile_model_covers_its_quantile(quantile):
    # Noise whose spread grows with |x|: the quantiles are not a shift of
    # the mean, and a network has to learn their shape.
    rng = np.random.default_rng(1)
    X = rng.uniform(-2.0, 2.0, size=(3000, 1))
    y = X[:, 0] + (0.2 + 0.5 * np.abs(X[:, 0])) * rng.normal(size=3000)
    reg = BackpropRegressor(
        loss="quantile",
        quantile=quantile,
        hidden_layer_sizes=(16,),
        activation="tanh",
        solver="lbfgs",
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    coverage = np.mean(y <= reg.predict(X))
    # The training coverage of a minimiser of the pinball loss is the
    # quantile up to the number of points on the fit (few, for continuous
    # targets) and the optimiser's tolerance: 0.02 absolute, ~3 standard
    # errors of a binomial proportion at n=3000.
    assert abs(coverage - quantile) < 0.02


@pytest.mark.parametrize("quantile", [0.25, 0.5, 0.8])
def test_linear_quantile_fit_reaches_the_linear_programs_optimum(quantile):
    # No hidden layer, no penalty: the model is linear and the objective the
    # mean pinball loss, which scikit-learn's QuantileRegressor minimises
    # exactly as a linear program (scipy's HiGHS).
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3))
    y = X @ [1.0, -2.0, 0.5] + 1.0 + rng.standard_t(3, size=400)
    reference = QuantileRegressor(quantile=quantile, alpha=0.0, solver="highs")
    reference.fit(X, y)
    reg = BackpropRegressor(
        loss="quantile",
        quantile=quantile,
        hidden_layer_sizes=(),
        alpha=0.0,
        solver="lbfgs",
        max_iter=2000,
        tol=1e-10,
        random_state=0,
    ).fit(X, y)
    optimum = mean_pinball_loss(y, reference.predict(X), alpha=quantile)
    reached = mean_pinball_loss(y, reg.predict(X), alpha=quantile)
    # L-BFGS on a piecewise linear objective stalls near, not at, its
    # minimum: within 0.5% of the optimal loss, and coefficients within 0.1.
    assert optimum <= reached < optimum * 1.005
    np.testing.assert_allclose(reg.coefs_[0].ravel(), reference.coef_, atol=0.1)
    assert reg.loss_ == pytest.approx(reached, rel=1e-6)


@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_robust_losses_barely_move_for_outliers(loss):
    # A line, and 5% of its points thrown 50 units up: squared error follows
    # the mean and shifts by ~2.5; the robust losses stay on the line.  Huber's
    # threshold at 3 noise deviations: each outlier pulls with force 0.3.
    rng = np.random.default_rng(3)
    X = rng.uniform(-1.0, 1.0, size=(200, 1))
    y = 3.0 * X[:, 0] + 1.0 + 0.1 * rng.normal(size=200)
    y[:10] += 50.0
    grid = np.linspace(-1.0, 1.0, 21).reshape(-1, 1)
    line = 3.0 * grid[:, 0] + 1.0
    settings = dict(
        hidden_layer_sizes=(), alpha=0.0, solver="lbfgs", max_iter=500, tol=1e-8
    )
    robust = BackpropRegressor(loss=loss, huber_delta=0.3, **settings).fit(X, y)
    squared = BackpropRegressor(loss="squared_error", **settings).fit(X, y)
    assert np.max(np.abs(squared.predict(grid) - line)) > 2.0
    # Ten outliers against 190 inliers move the median or Huber fit by a
    # fraction of the noise (0.1; Huber's by ~10 * 0.3 / 190 at the centre),
    # not of the outliers' 50.
    assert np.max(np.abs(robust.predict(grid) - line)) < 0.1


def test_warm_start_with_another_quantile_trains_the_new_loss():
    X, y, _ = _curve(500, seed=4)
    reg = BackpropRegressor(
        loss="quantile",
        quantile=0.2,
        hidden_layer_sizes=(8,),
        activation="tanh",
        solver="lbfgs",
        max_iter=300,
        warm_start=True,
        random_state=0,
    ).fit(X, y)
    low = reg.predict(X)
    assert reg._network.output == get_output_layer("quantile", "identity", quantile=0.2)
    reg.set_params(quantile=0.8).fit(X, y)
    # The network is rebuilt for the new loss, from the fitted weights.
    assert reg._network.output.parameters == (("quantile", 0.8),)
    assert np.mean(y <= reg.predict(X)) > np.mean(y <= low) + 0.4


def test_the_loss_parameters_of_another_loss_change_nothing():
    # ``quantile`` and ``huber_delta`` are ignored by the other losses: the
    # same fit, bit for bit, and the same output layer as without them.
    X, y, _ = _curve(100, seed=5)
    settings = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = BackpropRegressor(**settings, random_state=0).fit(X, y)
        other = BackpropRegressor(
            **settings, quantile=0.9, huber_delta=0.1, random_state=0
        ).fit(X, y)
    np.testing.assert_array_equal(plain.predict(X), other.predict(X))
    assert other._network.output.parameters == ()
