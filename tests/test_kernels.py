"""The compiled kernels against the NumPy expressions they replace, bit for bit.

``skbp/_kernels.pyx`` is built by ``pip install .``; importing it here (not
through the primitives' fallback) makes a missing build fail loudly.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skbp import BackpropClassifier
from skbp._kernels import adam_step
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
    with pytest.raises(ValueError):
        adam_step(
            theta32,
            np.zeros(5),
            np.zeros(5, np.float32),
            np.zeros(5, np.float32),
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
