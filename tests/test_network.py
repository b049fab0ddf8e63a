"""Tests for :mod:`skbp._network`, the pure backpropagation core.

Three kinds of checks:

* finite differences of :func:`~skbp._network.loss_and_grad` for every hidden
  activation, every output layer and 0, 1 or 3 hidden layers, with sample
  weights and an L2 penalty; sparse, float32 and workspace variants of the
  same computation;
* the flat parameter layout: :meth:`Network.views` are live views and
  :meth:`Network.pack` round-trips;
* one stochastic-gradient step on a 2-2-2 network of logistic units with
  squared error, computed by hand in plain Python from the delta rules of
  Liskowski's "Derivation of Backpropagation Algorithm for Feedforward Neural
  Networks" (the seed): output delta eq. (3), hidden delta eq. (4), weight
  steps eqs. (9) and (12); once through the core and once through
  :class:`~skbp.BackpropClassifier`.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning

from skbp import BackpropClassifier
from skbp._activations import ACTIVATIONS
from skbp._losses import OUTPUT_LAYER_NAMES, get_output_layer
from skbp._network import Network, Workspace, loss_and_grad
from skbp._optimizers import SGD
from skbp._primitives import NUMPY

from _targets import valid_targets

N_FEATURES, N_OUTPUTS, N_SAMPLES = 3, 3, 8
HIDDEN_LAYERS = {0: (), 1: (4,), 3: (4, 3, 5)}
ALPHA = 0.3

# Central-difference step near the float64 optimum eps ** (1/3): truncation
# and round-off errors are then both ~1e-10 for objectives of order one.
STEP = 1e-6

CLOSED_FORM_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "gelu": lambda z: z * norm.cdf(z),
    "silu": lambda z: z * expit(z),
    "softplus": lambda z: np.logaddexp(0.0, z),
}
CLOSED_FORM_LINKS = {
    "identity": lambda z: z,
    "logistic": expit,
    "softmax": lambda z: softmax(z, axis=1),
    "exp": np.exp,
}


def _make_problem(activation, pair, n_hidden_layers, seed=0):
    network = Network(
        (N_FEATURES, *HIDDEN_LAYERS[n_hidden_layers], N_OUTPUTS),
        (ACTIVATIONS[activation],) * len(HIDDEN_LAYERS[n_hidden_layers]),
        get_output_layer(*pair),
    )
    theta = network.init_parameters(np.random.RandomState(0), np.float64)
    rng = np.random.default_rng(seed)
    # Non-zero biases too, so that no parameter is checked only at zero.
    theta += rng.uniform(-0.2, 0.2, size=theta.shape)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = valid_targets(pair[1], rng, (N_SAMPLES, N_OUTPUTS))
    sample_weight = rng.uniform(0.2, 2.0, size=N_SAMPLES)
    return network, theta, X, y, sample_weight


def _central_differences(objective, theta):
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        shift = np.zeros_like(theta)
        shift[i] = STEP
        numeric[i] = (objective(theta + shift) - objective(theta - shift)) / (2 * STEP)
    return numeric


def _reference_forward(network, theta, X):
    """Forward pass with closed-form activations: ``(raw, prediction)``."""
    coefs, intercepts = network.views(theta)
    a = X
    for activation, coef, intercept in zip(
        network.hidden, coefs[:-1], intercepts[:-1], strict=True
    ):
        a = CLOSED_FORM_ACTIVATIONS[activation.name](a @ coef + intercept)
    raw = a @ coefs[-1] + intercepts[-1]
    return raw, CLOSED_FORM_LINKS[network.output.link_name](raw)


# ------------------------------------------------- loss_and_grad: gradient

ACTIVATION_NAMES = sorted(ACTIVATIONS)


@pytest.mark.parametrize("n_hidden_layers", sorted(HIDDEN_LAYERS))
@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_loss_and_grad_matches_finite_differences(activation, pair, n_hidden_layers):
    network, theta, X, y, sample_weight = _make_problem(
        activation, pair, n_hidden_layers
    )

    def objective(parameters):
        loss, _ = loss_and_grad(
            parameters, X, y, sample_weight, network=network, alpha=ALPHA
        )
        return loss

    _, grad = loss_and_grad(theta, X, y, sample_weight, network=network, alpha=ALPHA)
    assert grad.shape == theta.shape
    numeric = _central_differences(objective, theta)
    # rtol 1e-5 with an absolute floor of 1e-7: central differences are good
    # to ~1e-9 here, while a wrong delta is off by O(1) relative.
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_loss_matches_reference_objective(activation, pair):
    network, theta, X, y, sample_weight = _make_problem(activation, pair, 3)
    raw, prediction = _reference_forward(network, theta, X)
    weights = theta[: network.n_coefs]
    expected = network.output.loss(y, raw, prediction, sample_weight) + (
        0.5 * ALPHA * np.sum(weights**2) / sample_weight.sum()
    )
    loss, _ = loss_and_grad(theta, X, y, sample_weight, network=network, alpha=ALPHA)
    assert isinstance(loss, float)
    # Same arithmetic in a different order: round-off only.
    assert_allclose(loss, expected, rtol=1e-12)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_penalty_is_scaled_by_total_sample_weight(pair):
    # J = weighted mean loss + alpha / (2 sum w) ||W||^2: the penalty touches
    # the weights, never the biases, and is divided by the total weight.
    network, theta, X, y, sample_weight = _make_problem("tanh", pair, 1)
    loss0, grad0 = loss_and_grad(theta, X, y, sample_weight, network=network, alpha=0)
    grad0 = grad0.copy()
    loss1, grad1 = loss_and_grad(
        theta, X, y, sample_weight, network=network, alpha=ALPHA
    )
    weights = theta[: network.n_coefs]
    total = sample_weight.sum()
    assert_allclose(loss1 - loss0, 0.5 * ALPHA * weights @ weights / total, rtol=1e-10)
    expected = np.zeros_like(theta)
    expected[: network.n_coefs] = ALPHA * weights / total
    assert_allclose(grad1 - grad0, expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_unit_sample_weight_equals_none(pair):
    network, theta, X, y, _ = _make_problem("relu", pair, 1)
    loss_w, grad_w = loss_and_grad(
        theta, X, y, np.ones(N_SAMPLES), network=network, alpha=ALPHA
    )
    grad_w = grad_w.copy()
    loss, grad = loss_and_grad(theta, X, y, None, network=network, alpha=ALPHA)
    # Multiplying by one and dividing by n instead of sum(ones): exact up to
    # the order of summation.
    assert_allclose(loss_w, loss, rtol=1e-14)
    assert_allclose(grad_w, grad, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_loss_and_grad_leaves_its_inputs_unchanged(pair):
    network, theta, X, y, sample_weight = _make_problem("logistic", pair, 3)
    before = [a.copy() for a in (theta, X, y, sample_weight)]
    loss_and_grad(theta, X, y, sample_weight, network=network, alpha=ALPHA)
    for array, copy in zip((theta, X, y, sample_weight), before, strict=True):
        assert_array_equal(array, copy)


# ---------------------------------------- sparse, float32 and workspaces


@pytest.mark.parametrize("n_hidden_layers", [0, 1, 3])
@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_sparse_input_gives_dense_results(pair, n_hidden_layers):
    network, theta, X, y, sample_weight = _make_problem("tanh", pair, n_hidden_layers)
    X[np.random.default_rng(1).random(X.shape) < 0.5] = 0.0
    X_csr = sp.csr_matrix(X)
    loss, grad = loss_and_grad(theta, X, y, sample_weight, network=network, alpha=ALPHA)
    grad = grad.copy()
    loss_sp, grad_sp = loss_and_grad(
        theta, X_csr, y, sample_weight, network=network, alpha=ALPHA
    )
    # Sparse and dense products sum in different orders: round-off only.
    assert_allclose(loss_sp, loss, rtol=1e-13)
    assert_allclose(grad_sp, grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_float32_is_close_to_float64_and_stays_float32(activation, pair, sparse):
    network, theta, X, y, sample_weight = _make_problem(activation, pair, 3)
    loss64, grad64 = loss_and_grad(
        theta, X, y, sample_weight, network=network, alpha=ALPHA
    )
    X32 = X.astype(np.float32)
    loss32, grad32 = loss_and_grad(
        theta.astype(np.float32),
        sp.csr_matrix(X32) if sparse else X32,
        y.astype(np.float32),
        sample_weight.astype(np.float32),
        network=network,
        alpha=ALPHA,
    )
    assert grad32.dtype == np.float32
    # float32 carries ~7 digits; a few dozen operations per coordinate lose
    # at most a couple: rtol 1e-4, with a floor of 1e-5 of the gradient scale.
    assert_allclose(loss32, loss64, rtol=1e-5)
    assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-5 * np.abs(grad64).max())


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_workspace_gives_the_same_results(pair):
    network, theta, X, y, sample_weight = _make_problem("relu", pair, 3)
    loss, grad = loss_and_grad(theta, X, y, sample_weight, network=network, alpha=ALPHA)
    # A workspace larger than the batch, reused by calls of two batch sizes
    # in turn, as the epoch loop reuses it for a smaller last batch.
    workspace = Workspace(network, N_SAMPLES + 5, np.float64)
    for rows in (slice(None), slice(0, 3), slice(None)):
        loss_ws, grad_ws = loss_and_grad(
            theta,
            X[rows],
            y[rows],
            sample_weight[rows],
            network=network,
            alpha=ALPHA,
            workspace=workspace,
        )
        assert grad_ws is workspace.grad
        expected = loss_and_grad(
            theta, X[rows], y[rows], sample_weight[rows], network=network, alpha=ALPHA
        )
        # Same operations on the same numbers: identical results.
        assert loss_ws == expected[0]
        assert_array_equal(grad_ws, expected[1])
    assert loss_ws == loss
    assert_array_equal(grad_ws, grad)


# ------------------------------------------------------ parameter layout


def _network(layer_units=(3, 4, 2, 5)):
    return Network(
        layer_units,
        (ACTIVATIONS["tanh"],) * (len(layer_units) - 2),
        get_output_layer("squared_error", "identity"),
    )


def test_parameter_counts_and_shapes():
    network = _network()
    assert network.n_layers == 4
    assert network.coef_shapes == [(3, 4), (4, 2), (2, 5)]
    assert network.n_coefs == 3 * 4 + 4 * 2 + 2 * 5
    assert network.n_params == network.n_coefs + 4 + 2 + 5


def test_views_are_live_and_laid_out_weights_then_biases():
    network = _network()
    theta = np.arange(network.n_params, dtype=np.float64)
    coefs, intercepts = network.views(theta)
    assert [c.shape for c in coefs] == network.coef_shapes
    assert [b.shape for b in intercepts] == [(4,), (2,), (5,)]
    # All weight matrices (row-major), then all bias vectors, in layer order.
    flat = np.concatenate([c.ravel() for c in coefs] + intercepts)
    assert_array_equal(flat, theta)
    for view in (*coefs, *intercepts):
        assert np.shares_memory(view, theta)
    # Writes go both ways: optimizers update theta, users write coefs_.
    theta[0] = -1.0
    assert coefs[0][0, 0] == -1.0
    coefs[2][1, 3] = 99.0
    intercepts[1][...] = 7.0
    assert theta[network.n_coefs - 5 + 3] == 99.0
    assert_array_equal(theta[network.n_coefs + 4 : network.n_coefs + 6], 7.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pack_round_trips_and_copies(dtype):
    network = _network()
    theta = np.random.default_rng(0).normal(size=network.n_params).astype(dtype)
    packed = network.pack(*network.views(theta), dtype)
    assert packed.dtype == dtype
    assert_array_equal(packed, theta)
    assert not np.shares_memory(packed, theta)
    # And views of a packed vector give back the per-layer arrays.
    coefs = [np.full(shape, float(k)) for k, shape in enumerate(network.coef_shapes)]
    intercepts = [np.full(n, -float(k)) for k, n in enumerate((4, 2, 5))]
    new_coefs, new_intercepts = network.views(network.pack(coefs, intercepts, dtype))
    for got, expected in zip(
        new_coefs + new_intercepts, coefs + intercepts, strict=True
    ):
        assert_array_equal(got, expected)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_init_parameters_glorot_bounds(activation):
    network = Network(
        (5, 7, 3), (ACTIVATIONS[activation],), get_output_layer("log_loss", "softmax")
    )
    theta = network.init_parameters(np.random.RandomState(0), np.float32)
    assert theta.dtype == np.float32
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = network.views(theta)
    for coef, intercept in zip(coefs, intercepts, strict=True):
        bound = math.sqrt(factor / (coef.shape[0] + coef.shape[1]))
        assert np.abs(coef).max() <= bound
        assert np.abs(intercept).max() <= bound
    # Same seed, same parameters.
    again = network.init_parameters(np.random.RandomState(0), np.float32)
    assert_array_equal(theta, again)


# ---------------------------------------- the hand-computed backprop step


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def _liskowski_sgd_step(w_hidden, b_hidden, w_output, b_output, x, t, lr):
    """One step of Liskowski's Algorithm 2 on one example, in plain Python.

    Logistic hidden and output units, loss ``L = 1/2 sum_k (t_k - a_k)^2``.
    ``w_hidden[h][i]`` is the weight from input ``i`` to hidden unit ``h``
    (the seed's ``w_hi``) and ``w_output[k][h]`` the weight from hidden unit
    ``h`` to output unit ``k`` (``w_kh``).  A bias is the weight of a
    constant input 1, so it steps by ``-lr delta_j``.

    Returns the updated ``(w_hidden, b_hidden, w_output, b_output, loss)``,
    the loss being that before the step.
    """
    hidden_units, output_units, inputs = (
        range(len(b_hidden)),
        range(len(b_output)),
        range(len(x)),
    )
    # Forward: a_j = sigma(z_j), z_j = sum_i w_ji x_ji (+ bias).
    a_h = [
        _sigmoid(sum(w_hidden[h][i] * x[i] for i in inputs) + b_hidden[h])
        for h in hidden_units
    ]
    a_k = [
        _sigmoid(sum(w_output[k][h] * a_h[h] for h in hidden_units) + b_output[k])
        for k in output_units
    ]
    loss = 0.5 * sum((t[k] - a_k[k]) ** 2 for k in output_units)
    # Eq. (3): delta_k = -(t_k - a_k) a_k (1 - a_k).
    delta_k = [-(t[k] - a_k[k]) * a_k[k] * (1 - a_k[k]) for k in output_units]
    # Eq. (4): delta_h = a_h (1 - a_h) sum_k delta_k w_kh, with the weights
    # from before the step: all deltas are computed before any update.
    delta_h = [
        a_h[h] * (1 - a_h[h]) * sum(delta_k[k] * w_output[k][h] for k in output_units)
        for h in hidden_units
    ]
    # Eq. (9): Delta w_kh = -lr delta_k a_h;  eq. (12): Delta w_hi = -lr delta_h x_i.
    new_w_output = [
        [w_output[k][h] - lr * delta_k[k] * a_h[h] for h in hidden_units]
        for k in output_units
    ]
    new_w_hidden = [
        [w_hidden[h][i] - lr * delta_h[h] * x[i] for i in inputs] for h in hidden_units
    ]
    new_b_output = [b_output[k] - lr * delta_k[k] for k in output_units]
    new_b_hidden = [b_hidden[h] - lr * delta_h[h] for h in hidden_units]
    return new_w_hidden, new_b_hidden, new_w_output, new_b_output, loss


# Small fixed weights of a 2-2-2 network, in the seed's (unit, input) order.
W_HIDDEN = [[0.1, -0.2], [0.4, 0.3]]
B_HIDDEN = [0.05, -0.1]
W_OUTPUT = [[-0.3, 0.25], [0.15, 0.5]]
B_OUTPUT = [0.2, -0.05]
X_EXAMPLE = [0.35, 0.9]
T_EXAMPLE = [1.0, 0.0]
LEARNING_RATE = 0.7


def _as_skbp(w_hidden, b_hidden, w_output, b_output):
    """The seed's ``w_ji`` (unit, input) as skbp's ``coefs_[l][i, j]``."""
    coefs = [np.array(w_hidden, dtype=float).T, np.array(w_output, dtype=float).T]
    intercepts = [np.array(b_hidden, dtype=float), np.array(b_output, dtype=float)]
    return coefs, intercepts


def _liskowski_network():
    return Network(
        (2, 2, 2),
        (ACTIVATIONS["logistic"],),
        get_output_layer("squared_error", "logistic"),
    )


def _core_sgd_step(network, theta, x, t, lr):
    """One plain SGD step through loss_and_grad and the SGD optimizer."""
    X, y = np.array([x], dtype=float), np.array([t], dtype=float)
    loss, grad = loss_and_grad(theta, X, y, network=network, alpha=0.0)
    optimizer = SGD(momentum=0.0, nesterov=False)
    theta += optimizer.update(grad, optimizer.init(theta), lr)
    return loss


def test_hand_computed_sgd_step_through_the_core():
    """Liskowski eqs. (3), (4), (9), (12) against loss_and_grad + SGD."""
    network = _liskowski_network()
    theta = network.pack(*_as_skbp(W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT), np.float64)
    loss = _core_sgd_step(network, theta, X_EXAMPLE, T_EXAMPLE, LEARNING_RATE)
    *expected, expected_loss = _liskowski_sgd_step(
        W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT, X_EXAMPLE, T_EXAMPLE, LEARNING_RATE
    )
    expected_coefs, expected_intercepts = _as_skbp(*expected)
    coefs, intercepts = network.views(theta)
    # Same formulas evaluated in a different order: agreement to round-off.
    assert_allclose(loss, expected_loss, rtol=1e-12)
    for got, want in zip(
        coefs + intercepts, expected_coefs + expected_intercepts, strict=True
    ):
        assert_allclose(got, want, rtol=1e-12)
    # The step really moved every parameter (no vacuous comparison).
    before = network.pack(*_as_skbp(W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT), float)
    assert np.all(np.abs(theta - before) > 1e-4)


def test_published_worked_example():
    """Mazur's worked 2-2-2 example (2015), as a fully external check.

    Inputs (0.05, 0.10), targets (0.01, 0.99), learning rate 0.5; the post
    publishes the error before the step and the eight weights after it, to
    about nine digits.  Its hidden-unit rule is Liskowski's eq. (4) and its
    output rule eq. (3); it does not update biases, which do not affect the
    weights after one step.
    """
    w_hidden, b_hidden = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
    w_output, b_output = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
    network = _liskowski_network()
    theta = network.pack(*_as_skbp(w_hidden, b_hidden, w_output, b_output), float)
    loss = _core_sgd_step(network, theta, [0.05, 0.10], [0.01, 0.99], 0.5)
    coefs, _ = network.views(theta)
    # Published values are rounded at the 9th decimal: atol 1e-8.
    assert_allclose(loss, 0.298371109, atol=1e-8)
    # coefs_[0][i, h] is w_hi: (w1, w3; w2, w4) in the post's numbering.
    assert_allclose(
        coefs[0], [[0.149780716, 0.24975114], [0.19956143, 0.29950229]], atol=1e-8
    )
    assert_allclose(
        coefs[1], [[0.35891648, 0.511301270], [0.408666186, 0.561370121]], atol=1e-8
    )


def _fitted_multilabel_classifier(X, Y, **params):
    clf = BackpropClassifier(
        hidden_layer_sizes=(2,),
        activation="logistic",
        loss="squared_error",
        solver="sgd",
        momentum=0,
        alpha=0,
        batch_size=1,
        shuffle=False,
        learning_rate_init=LEARNING_RATE,
        max_iter=1,
        random_state=0,
        **params,
    )
    with warnings.catch_warnings():
        # One epoch on purpose: only the model's shape is wanted from fit.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    return clf


def _set_weights_in_place(clf, w_hidden, b_hidden, w_output, b_output):
    coefs, intercepts = _as_skbp(w_hidden, b_hidden, w_output, b_output)
    for target, value in zip(
        clf.coefs_ + clf.intercepts_, coefs + intercepts, strict=True
    ):
        target[...] = value


@pytest.mark.parametrize("nesterovs_momentum", [False, True])
def test_hand_computed_sgd_step_through_the_estimator(nesterovs_momentum):
    """Liskowski eqs. (3), (4), (9), (12) against BackpropClassifier.partial_fit.

    A 2-label indicator target gives two logistic output units; with
    ``loss='squared_error'`` the objective is the seed's
    ``1/2 sum_k (t_k - a_k)^2`` (alpha=0, one example).  With momentum 0,
    Nesterov's variant is the plain step as well.
    """
    X, Y = np.array([X_EXAMPLE]), np.array([T_EXAMPLE], dtype=int)
    clf = _fitted_multilabel_classifier(X, Y, nesterovs_momentum=nesterovs_momentum)
    assert clf.out_activation_ == "logistic"
    assert [c.shape for c in clf.coefs_] == [(2, 2), (2, 2)]
    _set_weights_in_place(clf, W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT)
    clf.partial_fit(X, Y)
    *expected, expected_loss = _liskowski_sgd_step(
        W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT, X_EXAMPLE, T_EXAMPLE, LEARNING_RATE
    )
    expected_coefs, expected_intercepts = _as_skbp(*expected)
    for got, want in zip(clf.coefs_, expected_coefs, strict=True):
        assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(clf.intercepts_, expected_intercepts, strict=True):
        assert_allclose(got, want, rtol=1e-12)
    # The epoch's reported loss is the loss before the (only) step.
    assert_allclose(clf.loss_, expected_loss, rtol=1e-12)


def test_two_examples_one_at_a_time_through_the_estimator():
    """Algorithm 2's inner loop: with batch_size=1 and no shuffling, one
    epoch steps on example 1, then on example 2 from the updated weights."""
    x2, t2 = [-0.6, 0.2], [0.0, 1.0]
    X = np.array([X_EXAMPLE, x2])
    Y = np.array([T_EXAMPLE, t2], dtype=int)
    clf = _fitted_multilabel_classifier(X, Y)
    _set_weights_in_place(clf, W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT)
    clf.partial_fit(X, Y)
    *after_first, _ = _liskowski_sgd_step(
        W_HIDDEN, B_HIDDEN, W_OUTPUT, B_OUTPUT, X_EXAMPLE, T_EXAMPLE, LEARNING_RATE
    )
    *after_second, _ = _liskowski_sgd_step(*after_first, x2, t2, LEARNING_RATE)
    expected_coefs, expected_intercepts = _as_skbp(*after_second)
    for got, want in zip(
        clf.coefs_ + clf.intercepts_, expected_coefs + expected_intercepts, strict=True
    ):
        assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_block_shares_sum_to_the_objective(weighted):
    # What a Dask worker computes: each block's share of J (weight_total set,
    # no penalty); the shares plus the penalty added once give J and its
    # gradient over all rows.
    from skbp._network import add_penalty

    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    y = rng.normal(size=(30, 2))
    weights = rng.uniform(0.0, 2.0, 30) if weighted else None
    network = Network(
        (4, 5, 2), (ACTIVATIONS["tanh"],), get_output_layer("squared_error", "identity")
    )
    theta = network.init_parameters(np.random.RandomState(0), np.float64)
    expected_loss, expected_grad = loss_and_grad(
        theta, X, y, weights, network=network, alpha=0.7
    )
    expected_grad = expected_grad.copy()
    total = 30.0 if weights is None else weights.sum()
    loss, grad = 0.0, np.zeros_like(theta)
    for rows in (slice(0, 11), slice(11, 12), slice(12, 30)):
        share, share_grad = loss_and_grad(
            theta,
            X[rows],
            y[rows],
            None if weights is None else weights[rows],
            network=network,
            alpha=0.0,
            weight_total=total,
        )
        loss, grad = loss + share, grad + share_grad
    loss, grad = add_penalty(
        loss, grad, theta, network=network, alpha=0.7, weight_total=total
    )
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["relu", "logistic", "gelu"])
def test_gradient_with_fixed_dropout_masks_matches_finite_differences(activation):
    # A fixed mask makes the thinned network's objective deterministic: its
    # gradient by backpropagation must equal its central differences.
    from skbp._dropout import Dropout

    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 4))
    y = np.eye(3)[rng.integers(0, 3, 9)]
    network = Network(
        (4, 6, 5, 3),
        (ACTIVATIONS[activation],) * 2,
        get_output_layer("log_loss", "softmax"),
    )
    theta = network.init_parameters(np.random.RandomState(0), np.float64)
    dropout = Dropout((0.3, 0.5), np.random.RandomState(1))
    masks = dropout.masks(9, (6, 5), np.float64, NUMPY)

    class FixedMasks:
        def masks(self, *args):
            return masks

    def objective(t):
        return loss_and_grad(t, X, y, network=network, alpha=0.2, dropout=FixedMasks())

    grad = objective(theta)[1].copy()
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = STEP
        numeric[i] = (objective(theta + step)[0] - objective(theta - step)[0]) / (
            2 * STEP
        )
    assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    # And dropout changes the gradient: the masks are really applied.
    assert not np.allclose(
        grad, loss_and_grad(theta, X, y, network=network, alpha=0.2)[1]
    )


def test_dropout_masks_are_scaled_and_reproducible():
    from skbp._dropout import Dropout

    first = Dropout((0.25, 0.0), np.random.RandomState(3)).masks(
        400, (50, 7), np.float64, NUMPY
    )
    again = Dropout((0.25, 0.0), np.random.RandomState(3)).masks(
        400, (50, 7), np.float64, NUMPY
    )
    assert_array_equal(first[0], again[0])
    assert first[1] is None
    assert set(np.unique(first[0])) == {0.0, 1.0 / 0.75}
    assert abs((first[0] == 0).mean() - 0.25) < 0.02


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("hidden_sizes", "activation"),
    [
        ((), ()),
        ((7,), ("tanh",)),
        ((9, 4), ("relu", "relu")),
        ((5, 5, 3), ("leaky_relu", "tanh", "relu")),  # one per layer
    ],
)
def test_a_large_prediction_in_blocks_equals_one_pass(
    hidden_sizes, activation, dtype, monkeypatch
):
    import skbp._network as network_module
    from skbp._network import predict_raw_from_views

    monkeypatch.setattr(network_module, "PREDICT_CHUNK_ROWS", 16)
    rng = np.random.default_rng(21)
    units = (6, *hidden_sizes, 3)
    coefs = [rng.normal(size=s).astype(dtype) for s in itertools.pairwise(units)]
    intercepts = [rng.normal(size=n).astype(dtype) for n in units[1:]]
    X = rng.normal(size=(101, 6)).astype(dtype)  # 7 blocks, the last short
    hidden = tuple(ACTIVATIONS[name] for name in activation)
    blocked = predict_raw_from_views(hidden, coefs, intercepts, X)
    whole = predict_raw_from_views(hidden, coefs, intercepts, X[:32])  # one pass
    assert blocked.dtype == whole.dtype == dtype
    assert_array_equal(blocked[:32], whole)
    rows = [
        predict_raw_from_views(hidden, coefs, intercepts, X[i : i + 1])
        for i in range(101)
    ]
    # One row at a time takes BLAS's matrix-vector path: equal to rounding
    # (at the scale of the outputs, since some are near zero).
    rows = np.vstack(rows)
    assert_allclose(blocked, rows, atol=64 * np.finfo(dtype).eps * np.abs(rows).max())


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_deferred_l2_term_is_returned_in_every_call_form(alpha, weighted):
    # loss_and_grad(defer_penalty=True) and add_penalty(gradient=False), with
    # or without a workspace, return the L2 term the gradient lacks; adding
    # it gives the penalised gradient bit for bit, and the same loss.
    from skbp._network import add_penalty
    from skbp._optimizers import add_penalty_gradient

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 2))
    weights = rng.uniform(0.5, 2.0, 20) if weighted else None
    network = Network(
        (4, 5, 2), (ACTIVATIONS["tanh"],), get_output_layer("squared_error", "identity")
    )
    theta = network.init_parameters(np.random.RandomState(0), np.float64)
    loss, grad = loss_and_grad(theta, X, y, weights, network=network, alpha=alpha)
    total = 20.0 if weights is None else weights.sum()
    expected_penalty = (network.n_coefs, alpha / total) if alpha else None
    for workspace in (None, Workspace(network, 20, np.float64)):
        deferred_loss, partial, penalty = loss_and_grad(
            theta,
            X,
            y,
            weights,
            network=network,
            alpha=alpha,
            workspace=workspace,
            defer_penalty=True,
        )
        assert deferred_loss == loss
        assert penalty == expected_penalty
        full = add_penalty_gradient(partial.copy(), theta, penalty)
        assert_array_equal(full, grad)
    data_loss, data_grad = loss_and_grad(theta, X, y, weights, network=network, alpha=0)
    data_grad = data_grad.copy()
    untouched = data_grad.copy()
    penalised_loss, same, penalty = add_penalty(
        data_loss,
        data_grad,
        theta,
        network=network,
        alpha=alpha,
        weight_total=total,
        gradient=False,
    )
    assert same is data_grad
    assert_array_equal(data_grad, untouched)  # left for the caller to add
    assert penalty == expected_penalty
    assert penalised_loss == loss
