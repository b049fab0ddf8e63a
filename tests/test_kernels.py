"""The compiled kernels against the NumPy expressions they replace, bit for bit.

``skbp/_kernels.pyx`` is built by ``pip install .``; importing it here (not
through the primitives' fallback) makes a missing build fail loudly.  Each
kernel refuses what it cannot compute with an exception; those calls run in
a subprocess (:func:`outcomes_in_a_subprocess`), so that a kernel that
crashed the interpreter would fail its cases rather than end the test run.
"""

import json
import re
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skbp import BackpropClassifier
from skbp._kernel_codes import (
    BIAS_ACTIVATION_CODES,
    DERIVATIVE_CODES,
    OUTPUT_DELTA_CODES,
    ActivationCode,
    OutputCode,
)
from skbp._kernels import (
    adam_step,
    bias_activation,
    multiply_derivative,
    output_delta_and_loss,
    sgd_step,
    softmax_rows,
)
from skbp._optimizers import Adam
from skbp._primitives import NUMPY


def _plain_apply(optimizer, theta, grad, state, learning_rate):
    """The NumPy reference: ``theta += update(...)`` (no kernel)."""
    theta += optimizer.update(grad, state, learning_rate, np.empty_like(theta))
    return theta


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("beta_1", "beta_2", "epsilon"), [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)]
)
def test_fused_adam_is_bitwise_the_numpy_update(dtype, beta_1, beta_2, epsilon):
    rng = np.random.default_rng(0)
    optimizer = Adam(beta_1, beta_2, epsilon)
    theta = rng.normal(size=1001).astype(dtype)
    reference, fused = theta.copy(), theta.copy()
    state_reference, state_fused = optimizer.init(reference), optimizer.init(fused)
    for step in range(25):
        # gradients of every scale, zeros included
        grad = (rng.normal(size=theta.size) * 10.0 ** rng.integers(-8, 4)).astype(dtype)
        grad[::97] = 0
        _plain_apply(optimizer, reference, grad, state_reference, 0.01)
        optimizer.apply(fused, grad, state_fused, 0.01, np.empty_like(fused))
        assert_array_equal(fused, reference, err_msg=f"step {step}")
        assert_array_equal(state_fused.first_moment, state_reference.first_moment)
        assert_array_equal(state_fused.second_moment, state_reference.second_moment)
    assert state_fused.n_steps == state_reference.n_steps == 25


def test_the_kernel_is_what_the_numpy_primitives_use():
    assert NUMPY.fused_adam_step is adam_step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_fit_with_the_kernel_is_bitwise_the_fit_without(dtype, monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 8)).astype(dtype)
    y = (X[:, 0] > X[:, 1]).astype(int)
    settings = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    fused = BackpropClassifier(**settings).fit(X, y)
    monkeypatch.setattr(type(NUMPY), "fused_adam_step", None)
    plain = BackpropClassifier(**settings).fit(X, y)
    assert_array_equal(fused._theta, plain._theta)


def test_mixed_dtypes_take_the_numpy_path():
    theta32 = np.zeros(5, np.float32)
    moments = [np.zeros(5, np.float32) for _ in range(4)]
    with pytest.raises((TypeError, ValueError)):
        adam_step(
            theta32,
            np.zeros(5),
            *moments,
            0.9,
            0.999,
            1e-8,
            0.001,
        )
    optimizer = Adam()
    state = optimizer.init(theta32)
    optimizer.apply(theta32, np.ones(5, np.float64), state, 0.1)  # falls back
    assert theta32.dtype == np.float32 and np.all(theta32 < 0)


def test_numpy_float64_constants_in_float32_take_the_numpy_path():
    # NumPy multiplies a float32 array by a NumPy float64 in float64: the
    # kernel, which rounds its constants to float32 first, must not be used.
    rng = np.random.default_rng(2)
    optimizer = Adam(np.float64(0.9), np.float64(0.999), np.float64(1e-8))
    assert not _fusable_for(optimizer, np.float32)
    reference = rng.normal(size=300).astype(np.float32)
    fused = reference.copy()
    state_reference, state_fused = optimizer.init(reference), optimizer.init(fused)
    for _ in range(10):
        grad = rng.normal(size=300).astype(np.float32)
        _plain_apply(optimizer, reference, grad, state_reference, 0.01)
        optimizer.apply(fused, grad, state_fused, 0.01, np.empty_like(fused))
    assert_array_equal(fused, reference)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_number_constants_take_the_kernel(dtype):
    # The usual case: constants given as Python numbers, rounded to float32
    # by NumPy (under either promotion rule) as by the kernel.
    from skbp._optimizers import SGD, _fusable

    vector = np.zeros(3, dtype)
    assert _fusable_for(Adam(), dtype)
    assert _fusable_for(Adam(0.5, 0.9, 1e-3), dtype)
    for constants in [(0.1, 0.9), (0.001, 0), (1, 0.5, 1e-4 / 32)]:
        assert _fusable(vector, vector, constants), constants
    assert _fusable(vector, vector, (SGD(0.9, True).momentum, 0.01))


@pytest.mark.parametrize(
    ("name", "learning_rate"),
    [("adam", 1e39), ("adam-fast-beta_1", 1e37), ("sgd", 1e39)],
)
def test_constants_beyond_float32s_range_step_as_numpy_does(name, learning_rate):
    # A learning rate past float32's largest value: NumPy 2 rounds it to inf
    # as the kernel does; NumPy 1 multiplies by it in float64 and rounds the
    # product, which the kernel cannot, so there the NumPy path must serve.
    # With beta_1=0.999 and beta_2=0.9, Adam's bias-corrected rate is 316
    # times a rate that fits float32: past the range, it is NumPy's float64
    # product, under either rule, that the kernel must round.  Either way
    # the step is NumPy's, bit for bit (overflows included).
    from skbp._optimizers import SGD

    rng = np.random.default_rng(6)
    optimizer = {
        "adam": Adam(),
        "adam-fast-beta_1": Adam(0.999, 0.9, 1e-8),
        "sgd": SGD(0.9, True),
    }[name]
    reference = rng.normal(size=400).astype(np.float32)
    fused = reference.copy()
    state_reference, state_fused = optimizer.init(reference), optimizer.init(fused)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(2):
            grad = (rng.normal(size=400) * 1e-3).astype(np.float32)
            _plain_apply(optimizer, reference, grad, state_reference, learning_rate)
            optimizer.apply(
                fused, grad, state_fused, learning_rate, np.empty_like(fused)
            )
    assert_array_equal(fused, reference)


def _fusable_for(optimizer, dtype):
    from skbp._optimizers import _fusable

    vector = np.zeros(3, dtype)
    constants = (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon)
    return _fusable(vector, vector, constants)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_fused_sgd_is_bitwise_the_numpy_update(dtype, nesterov, momentum):
    from skbp._optimizers import SGD

    rng = np.random.default_rng(3)
    optimizer = SGD(momentum, nesterov)
    reference = rng.normal(size=777).astype(dtype)
    fused = reference.copy()
    state_reference, state_fused = optimizer.init(reference), optimizer.init(fused)
    for step in range(20):
        grad = (rng.normal(size=777) * 10.0 ** rng.integers(-6, 3)).astype(dtype)
        rate = 0.05 / (step + 1) ** 0.5  # as 'invscaling' changes it
        _plain_apply(optimizer, reference, grad, state_reference, rate)
        optimizer.apply(fused, grad, state_fused, rate, np.empty_like(fused))
        assert_array_equal(fused, reference, err_msg=f"step {step}")
        assert_array_equal(state_fused.velocity, state_reference.velocity)


def test_an_sgd_fit_with_the_kernel_is_bitwise_the_fit_without(monkeypatch):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] > 0).astype(int)
    # batch_size=2: with 1, the compiled per-example loop runs (test_sgd_loop.py)
    settings = dict(hidden_layer_sizes=(8,), solver="sgd", batch_size=2, max_iter=2)
    fused = BackpropClassifier(**settings, random_state=0).fit(X, y)
    monkeypatch.setattr(type(NUMPY), "fused_sgd_step", None)
    plain = BackpropClassifier(**settings, random_state=0).fit(X, y)
    assert_array_equal(fused._theta, plain._theta)


def _penalised_reference(optimizer, theta, grad, state, learning_rate, penalty):
    """add_penalty's gradient term, then the plain NumPy step."""
    from skbp._optimizers import add_penalty_gradient

    grad = add_penalty_gradient(
        grad.copy(), theta, penalty, scratch=np.empty_like(theta)
    )
    return _plain_apply(optimizer, theta, grad, state, learning_rate)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_the_l2_term_fused_into_the_step_is_bitwise_add_penalty(name, dtype):
    from skbp._optimizers import SGD

    rng = np.random.default_rng(5)
    optimizer = Adam() if name == "adam" else SGD(0.9, True)
    reference = rng.normal(size=500).astype(dtype)
    fused = reference.copy()
    state_reference, state_fused = optimizer.init(reference), optimizer.init(fused)
    # alpha / sum(sample_weight): a Python float, or a float32 scalar when
    # the weights are float32 (NumPy then multiplies in float32 too).  A
    # NumPy float64 (a caller's np.float64 alpha) NumPy multiplies by in
    # float64, which the kernel does not: the NumPy path must serve it.
    for scale in (1e-4 / 32, dtype(0.3) / dtype(7.0), 2.5, np.float64(0.3) / 7):
        penalty = (321, scale)  # the first 321 entries are weights
        grad = rng.normal(size=500).astype(dtype)
        _penalised_reference(optimizer, reference, grad, state_reference, 0.01, penalty)
        optimizer.apply(
            fused, grad, state_fused, 0.01, np.empty_like(fused), penalty=penalty
        )
        assert_array_equal(fused, reference)
        for ours, theirs in zip(
            state_fused.arrays(), state_reference.arrays(), strict=True
        ):
            assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_a_guarded_state_is_never_written(name, kernels, monkeypatch):
    # The transactional step: after guard(), the snapshot's arrays keep their
    # values through any number of steps, and the live state is what an
    # unguarded run computes.
    from skbp._optimizers import SGD

    if not kernels:
        monkeypatch.setattr(type(NUMPY), "fused_adam_step", None)
        monkeypatch.setattr(type(NUMPY), "fused_sgd_step", None)
    rng = np.random.default_rng(6)
    optimizer = Adam() if name == "adam" else SGD(0.9, True)
    theta = rng.normal(size=200)
    unguarded_theta = theta.copy()
    state, unguarded = optimizer.init(theta), optimizer.init(unguarded_theta)
    for call in range(3):
        snapshot = state.guard()
        saved = [array.copy() for array in snapshot.arrays()]
        for _ in range(2):
            grad = rng.normal(size=200)
            optimizer.apply(theta, grad, state, 0.01, np.empty(200))
            optimizer.apply(unguarded_theta, grad, unguarded, 0.01, np.empty(200))
        for array, before in zip(snapshot.arrays(), saved, strict=True):
            assert_array_equal(array, before, err_msg=f"call {call}")
        assert not any(
            np.shares_memory(a, b) for a in snapshot.arrays() for b in state.arrays()
        )
    assert_array_equal(theta, unguarded_theta)
    for ours, theirs in zip(state.arrays(), unguarded.arrays(), strict=True):
        assert_array_equal(ours, theirs)


def _awkward_values(rng, shape, dtype):
    """Normal values with NaN, infinities and both zeros among them."""
    values = rng.normal(size=shape).astype(dtype)
    flat = values.reshape(-1)
    flat[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30]
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["identity", "relu", "leaky_relu"])
def test_bias_activation_is_bitwise_the_two_numpy_passes(name, dtype):
    from skbp._activations import ACTIVATIONS

    activation = ACTIVATIONS[name]
    rng = np.random.default_rng(7)
    z = _awkward_values(rng, (37, 19), dtype)
    bias = rng.normal(size=19).astype(dtype)
    bias[3:5] = 0.0  # keeps the -0.0 and 0.0 of row 0 as they are
    reference = z.copy()
    reference += bias
    reference = activation.forward(reference)
    fused = z.copy()
    bias_activation(fused, bias, activation.kernel_code)
    assert_array_equal(fused, reference)
    assert_array_equal(np.signbit(fused), np.signbit(reference))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_multiply_derivative_is_bitwise_the_numpy_pass(name, dtype):
    from skbp._activations import ACTIVATIONS

    activation = ACTIVATIONS[name]
    rng = np.random.default_rng(8)
    output = activation.forward(_awkward_values(rng, (23, 31), dtype))
    delta = _awkward_values(rng, (23, 31), dtype)[::-1].copy()
    reference = activation.multiply_derivative(output, delta.copy())
    fused = delta.copy()
    multiply_derivative(fused, output, activation.kernel_code)
    assert_array_equal(fused, reference)
    assert_array_equal(np.signbit(fused), np.signbit(reference))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("activation", ["identity", "relu", "leaky_relu"])
def test_fits_and_predictions_with_the_layer_kernels_are_bitwise_without(
    activation, solver, monkeypatch
):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(150, 6))
    y = rng.integers(0, 3, 150)
    settings = dict(
        hidden_layer_sizes=(7, 5), activation=activation, solver=solver, max_iter=8
    )
    fused = BackpropClassifier(**settings, random_state=0).fit(X, y)
    fused_proba = fused.predict_proba(X)
    monkeypatch.setattr(type(NUMPY), "fused_bias_activation", None)
    monkeypatch.setattr(type(NUMPY), "fused_derivative", None)
    plain = BackpropClassifier(**settings, random_state=0).fit(X, y)
    assert_array_equal(fused._theta, plain._theta)
    assert_array_equal(fused.loss_curve_, plain.loss_curve_)
    assert_array_equal(fused_proba, plain.predict_proba(X))


def _counting(kernel, calls):
    """``kernel``, as the primitives hold it, recording each call."""

    def counted(*args):
        calls.append(args)
        return kernel(*args)

    return staticmethod(counted)


# (first array's dtype, second array's dtype, layout of the second, served)
_LAYER_KERNEL_ARRAYS = [
    (np.float64, np.float64, "C", True),
    (np.float32, np.float32, "C", True),
    # Arrays the kernels would refuse: the NumPy expressions serve.
    (np.float32, np.float64, "C", False),
    (np.float64, np.float32, "C", False),
    (np.float64, np.float64, "F", False),
]


@pytest.mark.parametrize(("first", "second", "layout", "served"), _LAYER_KERNEL_ARRAYS)
def test_the_derivative_kernel_serves_exactly_the_arrays_it_takes(
    first, second, layout, served, monkeypatch
):
    from skbp._activations import ACTIVATIONS

    relu = ACTIVATIONS["relu"]
    rng = np.random.default_rng(14)
    delta = rng.normal(size=(20, 6)).astype(first)
    output = np.maximum(rng.normal(size=(20, 6)), 0).astype(second, order=layout)
    expected = relu.multiply_derivative(output, delta.copy())
    calls = []
    monkeypatch.setattr(
        type(NUMPY), "fused_derivative", _counting(multiply_derivative, calls)
    )
    assert_array_equal(relu.apply_derivative(output, delta), expected)
    assert len(calls) == served


@pytest.mark.parametrize(("first", "second", "layout", "served"), _LAYER_KERNEL_ARRAYS)
def test_the_bias_activation_kernel_serves_exactly_the_arrays_it_takes(
    first, second, layout, served, monkeypatch
):
    from skbp._activations import ACTIVATIONS

    relu = ACTIVATIONS["relu"]
    rng = np.random.default_rng(15)
    # The layer's product z (first) and its bias (second; "F" lays out z).
    z = rng.normal(size=(20, 6)).astype(first, order=layout)
    bias = rng.normal(size=6).astype(second)
    expected = z.copy()
    expected += bias  # in z's dtype, as the layer adds it
    expected = relu.forward(expected)
    calls = []
    monkeypatch.setattr(
        type(NUMPY), "fused_bias_activation", _counting(bias_activation, calls)
    )
    assert_array_equal(relu.add_bias_and_activate(z, bias), expected)
    assert len(calls) == served


def _numpy_delta_and_loss(output, prediction, raw, y, sample_weight, weight_sum):
    """loss_and_grad's NumPy expressions for the output delta and the loss."""
    delta = output.gradient(y, raw, prediction, np.empty_like(raw))
    if sample_weight is None:
        delta /= weight_sum
    else:
        delta *= (sample_weight / weight_sum)[:, None]
    return delta, output.loss(y, raw, prediction, sample_weight)


OUTPUT_KERNEL_CASES = [
    ("log_loss", "softmax", "onehot"),
    ("log_loss", "logistic", "labels"),
    ("squared_error", "identity", "values"),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("loss", "link", "targets"), OUTPUT_KERNEL_CASES)
def test_output_kernel_delta_is_bitwise_and_loss_agrees(
    loss, link, targets, dtype, weighted
):
    from skbp._losses import get_output_layer

    output = get_output_layer(loss, link)
    rng = np.random.default_rng(10)
    raw = (rng.normal(size=(41, 5)) * 4).astype(dtype)
    prediction = output.link(raw, np.empty_like(raw))
    if targets == "onehot":
        y = np.eye(5, dtype=bool)[rng.integers(0, 5, 41)]
    elif targets == "labels":
        y = rng.integers(0, 2, (41, 5)).astype(bool)
    else:
        y = rng.normal(size=(41, 5)).astype(dtype)
    sample_weight = rng.uniform(0, 2, 41).astype(dtype) if weighted else None
    weight_sum = 41 if sample_weight is None else sample_weight.sum()
    expected_delta, expected_loss = _numpy_delta_and_loss(
        output, prediction, raw, y, sample_weight, weight_sum
    )
    delta = np.empty_like(raw)
    target = y.view(np.uint8) if y.dtype == bool else y
    loss_value = output_delta_and_loss(
        prediction, raw, target, sample_weight, weight_sum, delta, output.kernel_code
    )
    assert_array_equal(delta, expected_delta)
    # The loss is summed in another order: equal to rounding.
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(loss_value, expected_loss, rtol=rtol)


def _targets_for_the_output_kernel(kind, rng, dtype):
    """Class indicators (C- or Fortran-ordered booleans) or float values."""
    if kind == "float":
        return rng.normal(size=(30, 4)).astype(dtype)
    onehot = np.eye(4, dtype=bool)[rng.integers(0, 4, 30)]
    return onehot if kind == "indicators" else np.asfortranarray(onehot)


@pytest.mark.parametrize(
    ("prediction_dtype", "targets", "weights", "served"),
    [
        (np.float64, "indicators", None, True),
        (np.float32, "indicators", None, True),
        (np.float64, "indicators", np.float64, True),
        (np.float32, ("float", np.float32), np.float32, True),
        # Weights or targets the kernel would refuse (another dtype than the
        # predictions', or not C-ordered): the NumPy expressions serve.
        (np.float32, "indicators", np.float64, False),
        (np.float64, "indicators", np.float32, False),
        (np.float32, ("float", np.float64), None, False),
        (np.float64, ("float", np.float32), None, False),
        (np.float64, "indicators, Fortran-ordered", None, False),
    ],
    ids=str,
)
def test_the_output_kernel_serves_exactly_the_arrays_it_takes(
    prediction_dtype, targets, weights, served, monkeypatch
):
    from skbp._losses import get_output_layer

    kind, target_dtype = targets if isinstance(targets, tuple) else (targets, None)
    link = "identity" if kind == "float" else "softmax"
    output = get_output_layer("squared_error" if kind == "float" else "log_loss", link)
    rng = np.random.default_rng(13)
    raw = rng.normal(size=(30, 4)).astype(prediction_dtype)
    prediction = output.link(raw, np.empty_like(raw))
    y = _targets_for_the_output_kernel(kind, rng, target_dtype)
    sample_weight = None if weights is None else rng.uniform(0, 2, 30).astype(weights)
    weight_sum = 30.0 if sample_weight is None else float(sample_weight.sum())
    calls = []

    def counted(*args):
        calls.append(args)
        return output_delta_and_loss(*args)

    monkeypatch.setattr(type(NUMPY), "fused_output", staticmethod(counted))
    delta = np.empty_like(raw)
    loss = output.delta_and_loss(
        y, raw, prediction, sample_weight, weight_sum, delta, block=False
    )
    assert len(calls) == served
    expected_delta, expected_loss = _numpy_delta_and_loss(
        output, prediction, raw, y, sample_weight, weight_sum
    )
    assert_array_equal(delta, expected_delta)
    rtol = 1e-6 if prediction_dtype == np.float32 else 1e-14
    np.testing.assert_allclose(loss, expected_loss, rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_fit_with_the_output_kernel_takes_the_same_steps(dtype, monkeypatch):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(200, 6)).astype(dtype)
    y = rng.integers(0, 4, 200)
    weights = rng.uniform(0.5, 2.0, 200)
    settings = dict(hidden_layer_sizes=(9,), max_iter=6, tol=0.0, random_state=0)
    fused = BackpropClassifier(**settings).fit(X, y, sample_weight=weights)
    monkeypatch.setattr(type(NUMPY), "fused_output", None)
    plain = BackpropClassifier(**settings).fit(X, y, sample_weight=weights)
    assert_array_equal(fused._theta, plain._theta)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fused.loss_curve_, plain.loss_curve_, rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_softmax_proba_agrees_with_the_numpy_passes(dtype, monkeypatch):
    from skbp._guards import finite_raw, fused_softmax_proba, inside_unit_interval
    from skbp._losses import LINKS

    rng = np.random.default_rng(12)
    raw = (rng.normal(size=(300, 12)) * 10).astype(dtype)
    raw[0] = [1e4] + [0.0] * 11  # probabilities that round to 1 and to 0
    raw[1] = np.finfo(dtype).max  # ties at the largest float
    raw[2, :3] = [np.inf, -np.inf, np.inf]  # overflowed outputs
    fused = fused_softmax_proba(raw.copy())
    monkeypatch.setattr(type(NUMPY), "fused_softmax", None)  # NumPy's passes
    finite = finite_raw(raw.copy())
    expected = inside_unit_interval(LINKS["softmax"](finite, finite.copy()))
    # exp is the C library's and the row sum runs in order: a few ulps.
    np.testing.assert_allclose(fused, expected, rtol=8 * np.finfo(dtype).eps, atol=0)
    assert fused.min() > 0 and fused.max() < 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softmax_link_kernel_agrees_with_the_numpy_passes(dtype, monkeypatch):
    from skbp._losses import LINKS

    rng = np.random.default_rng(14)
    raw = (rng.normal(size=(200, 7)) * 30).astype(dtype)
    fused = LINKS["softmax"](raw, np.empty_like(raw))
    monkeypatch.setattr(type(NUMPY), "fused_softmax", None)
    expected = LINKS["softmax"](raw, np.empty_like(raw))
    np.testing.assert_allclose(fused, expected, rtol=8 * np.finfo(dtype).eps, atol=0)


def test_predict_proba_with_the_softmax_kernel_agrees_without(monkeypatch):
    rng = np.random.default_rng(13)
    X = rng.normal(size=(120, 5))
    y = rng.integers(0, 4, 120)
    clf = BackpropClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0)
    clf.fit(X, y)
    fused = clf.predict_proba(X)
    monkeypatch.setattr(type(NUMPY), "fused_softmax", None)
    np.testing.assert_allclose(fused, clf.predict_proba(X), rtol=1e-14, atol=0)


def test_the_identity_leaves_the_delta_as_it_is():
    # Its derivative is one: no kernel pass, whatever the outputs' signs
    # (the derivative kernel, given its code, refuses rather than zero them).
    from skbp._activations import ACTIVATIONS

    rng = np.random.default_rng(15)
    output = rng.normal(size=(9, 4))
    delta = rng.normal(size=(9, 4))
    expected = delta.copy()
    assert ACTIVATIONS["identity"].apply_derivative(output, delta) is delta
    assert_array_equal(delta, expected)
    with pytest.raises(ValueError, match="code 0"):
        multiply_derivative(delta, output, ActivationCode.IDENTITY)


# ------------------------------------------------- what the kernels refuse


def outcomes_in_a_subprocess(module, cases):
    """Call every case of ``module.cases()`` in a fresh interpreter.

    A kernel that reads or writes outside its arrays may end the process
    (a segmentation fault): it ends this subprocess instead of the test run,
    and its case fails, as do the cases it kept from running.

    Parameters
    ----------
    module : str
        A test module of this directory.
    cases : str
        The name of its function returning ``{case: (call, error, match)}``.

    Returns
    -------
    outcomes : dict
        ``{case: (exception type name or "returned", message)}``; a case that
        crashed the interpreter has ``("crashed", ...)``, one after it none.
    """
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from {module} import {cases} as cases
        for name, (call, _, _) in cases().items():
            print(json.dumps([name, None]), flush=True)
            try:
                call()
                outcome = ["returned", ""]
            except Exception as error:
                outcome = [type(error).__name__, str(error)]
            print(json.dumps([name, outcome]), flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    crashed = ["crashed", f"exit status {result.returncode}: {result.stderr[-2000:]}"]
    outcomes = {}
    for line in result.stdout.splitlines():
        if line.startswith('["'):
            name, outcome = json.loads(line)
            outcomes[name] = outcome or crashed
    return outcomes


def assert_refused(outcomes, case, error, match):
    """The case raised ``error`` (a type or tuple of types) matching ``match``."""
    assert case in outcomes, f"{case!r} did not run: an earlier case crashed"
    kind, message = outcomes[case]
    names = {e.__name__ for e in (error if isinstance(error, tuple) else (error,))}
    assert kind in names, f"{case!r}: {kind}: {message}"
    assert match is None or re.search(match, message), message


NONE = r"must not be None|No matching signature|ambiguous argument types"
DTYPE = r"No matching signature|Buffer dtype mismatch|ambiguous argument types"


def _vectors(n, count, dtype=np.float64):
    return [np.zeros(n, dtype) for _ in range(count)]


def _with(arguments, position, value):
    """``arguments`` with the one at ``position`` replaced by ``value``."""
    return [*arguments[:position], value, *arguments[position + 1 :]]


def _optimizer_refusals():
    cases = {}
    adam_constants = (0.9, 0.999, 1e-8, 0.01)
    adam_names = ["theta", "grad", "first_moment", "second_moment"]
    adam_names += ["first_moment_out", "second_moment_out"]
    for position, name in enumerate(adam_names):
        for change, value, error, match in [
            ("=None", None, TypeError, NONE),
            (" shorter", np.zeros(4), ValueError, "entries"),
            (" float32", np.zeros(5, np.float32), (TypeError, ValueError), DTYPE),
        ]:
            arrays = _with(_vectors(5, 6), position, value)
            call = partial(adam_step, *arrays, *adam_constants)
            cases[f"adam_step {name}{change}"] = (call, error, match)
    cases["adam_step strided"] = (
        partial(adam_step, np.zeros(10)[::2], *_vectors(5, 5), *adam_constants),
        ValueError,
        "contiguous",
    )
    cases["adam_step 2-d"] = (
        partial(adam_step, *[np.zeros((5, 1))] * 6, *adam_constants),
        (TypeError, ValueError),
        r"dimensions|No matching signature",
    )
    cases["adam_step integers"] = (
        partial(adam_step, *_vectors(5, 6, np.int64), *adam_constants),
        TypeError,
        DTYPE,
    )
    for position, name in enumerate(["theta", "grad", "velocity", "velocity_out"]):
        for change, value, error, match in [
            ("=None", None, TypeError, NONE),
            (" longer", np.zeros(6), ValueError, "entries"),
        ]:
            arrays = _with(_vectors(5, 4), position, value)
            call = partial(sgd_step, *arrays, 0.1, 0.9, True)
            cases[f"sgd_step {name}{change}"] = (call, error, match)
    cases["sgd_step mixed dtypes"] = (
        partial(sgd_step, *_vectors(5, 3), np.zeros(5, np.float32), 0.1, 0.9, True),
        (TypeError, ValueError),
        DTYPE,
    )
    return cases


def _layer_refusals():
    cases = {}
    z, bias = np.zeros((4, 3)), np.zeros(3)
    relu = int(ActivationCode.RELU)
    for code in [*ActivationCode, -1, 7, 99]:
        if code not in BIAS_ACTIVATION_CODES:
            cases[f"bias_activation code {int(code)}"] = (
                lambda c=int(code): bias_activation(z, bias, c),
                ValueError,
                f"code {int(code)}",
            )
        if code not in DERIVATIVE_CODES:
            cases[f"multiply_derivative code {int(code)}"] = (
                lambda c=int(code): multiply_derivative(z, z.copy(), c),
                ValueError,
                f"code {int(code)}",
            )
    cases.update(
        {
            "bias_activation z=None": (
                lambda: bias_activation(None, bias, relu),
                TypeError,
                NONE,
            ),
            "bias_activation bias=None": (
                lambda: bias_activation(z, None, relu),
                TypeError,
                NONE,
            ),
            "bias_activation bias too long": (
                lambda: bias_activation(z, np.zeros(4), relu),
                ValueError,
                "4 entries for 3 units",
            ),
            "bias_activation bias too short": (
                lambda: bias_activation(z, np.zeros(2), relu),
                ValueError,
                "2 entries for 3 units",
            ),
            "bias_activation 1-d z": (
                lambda: bias_activation(np.zeros(3), bias, relu),
                (TypeError, ValueError),
                r"dimensions|No matching signature",
            ),
            "bias_activation transposed z": (
                lambda: bias_activation(np.zeros((3, 4)).T, np.zeros(4), relu),
                ValueError,
                "contiguous",
            ),
            "bias_activation mixed dtypes": (
                lambda: bias_activation(z, bias.astype(np.float32), relu),
                (TypeError, ValueError),
                DTYPE,
            ),
            "bias_activation read-only z": (
                lambda: bias_activation(_read_only(z), bias, relu),
                ValueError,
                "read-only",
            ),
            "multiply_derivative delta=None": (
                lambda: multiply_derivative(None, z, relu),
                TypeError,
                NONE,
            ),
            "multiply_derivative activation=None": (
                lambda: multiply_derivative(z, None, relu),
                TypeError,
                NONE,
            ),
            "multiply_derivative fewer rows": (
                lambda: multiply_derivative(z, np.zeros((3, 3)), relu),
                ValueError,
                r"4 x 3, the activation 3 x 3",
            ),
            "multiply_derivative more columns": (
                lambda: multiply_derivative(z, np.zeros((4, 5)), relu),
                ValueError,
                r"4 x 3, the activation 4 x 5",
            ),
            "multiply_derivative mixed dtypes": (
                lambda: multiply_derivative(z, z.astype(np.float32), relu),
                (TypeError, ValueError),
                DTYPE,
            ),
        }
    )
    return cases


def _read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def _output_refusals():
    cases = {}
    m = np.zeros((4, 3))
    softmax = int(OutputCode.SOFTMAX_LOG_LOSS)

    def output(prediction=m, raw=m, y=m, sample_weight=None, delta=m, code=softmax):
        return lambda: output_delta_and_loss(
            prediction, raw, y, sample_weight, 4.0, delta, code
        )

    for code in [*OutputCode, -1, 5, 99]:
        if code not in OUTPUT_DELTA_CODES:
            cases[f"output_delta_and_loss code {int(code)}"] = (
                output(code=int(code)),
                ValueError,
                f"code {int(code)}",
            )
    for name in ("prediction", "raw", "y", "delta"):
        cases[f"output_delta_and_loss {name}=None"] = (
            output(**{name: None}),
            TypeError,
            NONE,
        )
        for shape in ((3, 3), (4, 2), (5, 3)):
            cases[f"output_delta_and_loss {name} of shape {shape}"] = (
                output(**{name: np.zeros(shape)}),
                ValueError,
                "one shape",
            )
    empty = np.zeros((4, 0))
    cases.update(
        {
            "output_delta_and_loss no outputs": (
                output(empty, empty, empty, None, empty),
                ValueError,
                "at least one column",
            ),
            "output_delta_and_loss too many weights": (
                output(sample_weight=np.ones(5)),
                ValueError,
                "5 sample weights for 4 samples",
            ),
            "output_delta_and_loss too few weights": (
                output(sample_weight=np.ones(3)),
                ValueError,
                "3 sample weights for 4 samples",
            ),
            "output_delta_and_loss float32 weights": (
                output(sample_weight=np.ones(4, np.float32)),
                (TypeError, ValueError),
                DTYPE,
            ),
            "output_delta_and_loss float32 raw": (
                output(raw=m.astype(np.float32)),
                (TypeError, ValueError),
                DTYPE,
            ),
            "output_delta_and_loss read-only delta": (
                output(delta=_read_only(m)),
                ValueError,
                "read-only",
            ),
            "softmax_rows raw=None": (
                lambda: softmax_rows(None, m),
                TypeError,
                NONE,
            ),
            "softmax_rows out=None": (
                lambda: softmax_rows(m, None),
                TypeError,
                NONE,
            ),
            "softmax_rows fewer rows out": (
                lambda: softmax_rows(m, np.zeros((3, 3))),
                ValueError,
                "one shape",
            ),
            "softmax_rows more columns out": (
                lambda: softmax_rows(m, np.zeros((4, 4))),
                ValueError,
                "one shape",
            ),
            "softmax_rows no outputs": (
                lambda: softmax_rows(empty, empty.copy()),
                ValueError,
                "at least one column",
            ),
            "softmax_rows mixed dtypes": (
                lambda: softmax_rows(m, m.astype(np.float32)),
                (TypeError, ValueError),
                DTYPE,
            ),
            "softmax_rows strided": (
                lambda: softmax_rows(np.zeros((4, 6))[:, ::2], m),
                ValueError,
                "contiguous",
            ),
        }
    )
    return cases


def kernel_refusals():
    """``{case: (call, error, match)}``: a kernel called with what it refuses."""
    return {**_optimizer_refusals(), **_layer_refusals(), **_output_refusals()}


@pytest.fixture(scope="module")
def refusal_outcomes():
    return outcomes_in_a_subprocess("test_kernels", "kernel_refusals")


@pytest.mark.parametrize("case", sorted(kernel_refusals()))
def test_each_kernel_refuses_what_it_cannot_compute(case, refusal_outcomes):
    _, error, match = kernel_refusals()[case]
    assert_refused(refusal_outcomes, case, error, match)


def test_the_subprocess_reports_a_crash():
    # The harness itself: a case that kills its interpreter is reported as
    # crashed, and the cases after it as not run.
    outcomes = outcomes_in_a_subprocess("test_kernels", "_crashing_cases")
    assert outcomes["fine"] == ["returned", ""]
    assert outcomes["crash"][0] == "crashed"
    assert "after" not in outcomes


def _crashing_cases():
    import os

    return {
        "fine": (lambda: None, None, None),
        "crash": (lambda: os._exit(139), None, None),
        "after": (lambda: None, None, None),
    }
