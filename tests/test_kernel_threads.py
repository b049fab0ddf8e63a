"""The compiled kernels on many threads: the results of one thread, bit for bit.

Large calls split their work across OpenMP threads (skbp/_kernels.pyx); the
reference is the same call on one thread (``threadpoolctl`` limits OpenMP),
and NumPy's expressions, which the kernels match on one thread
(``tests/test_kernels.py``).  The sizes are above the kernels' threshold for
a second thread.  Where the build has no OpenMP, every call runs on one
thread and these tests check that path against NumPy only.
"""

import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_limits

from skbp import BackpropClassifier
from skbp._activations import ACTIVATIONS
from skbp._kernels import (
    adam_step,
    bias_activation,
    max_threads,
    multiply_derivative,
    openmp_enabled,
    output_delta_and_loss,
    sgd_step,
    softmax_rows,
)
from skbp._losses import get_output_layer

N_ENTRIES = 300_001  # about nine chunks of 2**15, the last one short
SHAPE = (3001, 67)  # rows of 67 entries, about 2**15 entries a chunk


def _on_one_and_all_threads(call):
    """``call()`` on one thread, then on every thread OpenMP allows."""
    with threadpool_limits(limits=1, user_api="openmp"):
        assert max_threads() == 1
        one = call()
    return one, call()


def test_the_thread_count_follows_threadpoolctl():
    with threadpool_limits(limits=1, user_api="openmp"):
        assert max_threads() == 1
    if openmp_enabled():
        with threadpool_limits(limits=2, user_api="openmp"):
            assert max_threads() == 2
    else:
        assert max_threads() == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_and_sgd_steps(dtype):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=N_ENTRIES).astype(dtype)
    grad = rng.normal(size=N_ENTRIES).astype(dtype)
    moments = [rng.uniform(0, 1, N_ENTRIES).astype(dtype) for _ in range(2)]

    def adam():
        out = theta.copy(), np.empty_like(theta), np.empty_like(theta)
        adam_step(out[0], grad, *moments, out[1], out[2], 0.9, 0.999, 1e-8, 1e-3,
                  n_penalised=123_457, penalty_scale=1e-4)  # fmt: skip
        return out

    def sgd():
        out = theta.copy(), np.empty_like(theta)
        sgd_step(out[0], grad, moments[0], out[1], 0.1, 0.9, True,
                 n_penalised=123_457, penalty_scale=1e-4)  # fmt: skip
        return out

    for step in (adam, sgd):
        one, many = _on_one_and_all_threads(step)
        for a, b in zip(one, many, strict=True):
            assert_array_equal(a, b)
    # On one thread, the NumPy expressions (the L2 term on the weights only).
    new_theta, velocity = sgd()
    g = grad.copy()
    g[:123_457] += theta[:123_457] * dtype(1e-4)
    expected_velocity = dtype(0.9) * moments[0] - dtype(0.1) * g
    assert_allclose(velocity, expected_velocity, rtol=4 * np.finfo(dtype).eps)
    assert_allclose(
        new_theta,
        theta + dtype(0.9) * expected_velocity - dtype(0.1) * g,
        rtol=1e-5 if dtype == np.float32 else 1e-12,
        atol=1e-6 if dtype == np.float32 else 1e-13,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["identity", "relu", "leaky_relu"])
def test_layer_passes(name, dtype):
    activation = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    z = rng.normal(size=SHAPE).astype(dtype)
    bias = rng.normal(size=SHAPE[1]).astype(dtype)

    def forward():
        out = z.copy()
        bias_activation(out, bias, activation.kernel_code)
        return out

    one, many = _on_one_and_all_threads(forward)
    assert_array_equal(one, many)
    assert_array_equal(many, activation.forward(z + bias))
    if name == "identity":
        return
    delta = rng.normal(size=SHAPE).astype(dtype)

    def backward():
        out = delta.copy()
        multiply_derivative(out, many, activation.kernel_code)
        return out

    one, threaded = _on_one_and_all_threads(backward)
    assert_array_equal(one, threaded)
    assert_array_equal(threaded, activation.multiply_derivative(many, delta.copy()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_output_delta_and_loss(weighted, dtype):
    output = get_output_layer("log_loss", "softmax")
    rng = np.random.default_rng(2)
    raw = (rng.normal(size=SHAPE) * 4).astype(dtype)
    prediction = output.link(raw, np.empty_like(raw))
    y = np.eye(SHAPE[1], dtype=bool)[rng.integers(0, SHAPE[1], SHAPE[0])]
    weights = rng.uniform(0, 2, SHAPE[0]).astype(dtype) if weighted else None
    total = SHAPE[0] if weights is None else float(weights.sum())

    def call():
        delta = np.empty_like(raw)
        loss = output_delta_and_loss(
            prediction, raw, y.view(np.uint8), weights, total, delta,
            output.kernel_code,
        )  # fmt: skip
        return delta, loss

    (delta_one, loss_one), (delta, loss) = _on_one_and_all_threads(call)
    assert_array_equal(delta_one, delta)
    assert loss_one == loss  # summed by blocks of rows, in order, on any threads
    expected = output.gradient(y, raw, prediction, np.empty_like(raw))
    expected *= (1 / total) if weights is None else (weights / total)[:, None]
    assert_allclose(delta, expected, rtol=4 * np.finfo(dtype).eps)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(output.loss(y, raw, prediction, weights), rel=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows(dtype):
    rng = np.random.default_rng(3)
    raw = (rng.normal(size=SHAPE) * 10).astype(dtype)

    def call():
        out = np.empty_like(raw)
        softmax_rows(raw, out)
        return out

    one, many = _on_one_and_all_threads(call)
    assert_array_equal(one, many)
    shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
    assert_allclose(many, shifted / shifted.sum(axis=1, keepdims=True), rtol=1e-5)


def test_a_fit_is_the_same_on_one_and_many_threads():
    # A network whose parameters (and layers) are above the threshold.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1200, 40)).astype(np.float32)
    y = rng.integers(0, 5, 1200)

    def fit():
        model = BackpropClassifier(
            (512, 256), batch_size=1200, max_iter=3, random_state=0
        ).fit(X, y)
        return model._theta.copy(), model.predict_proba(X)

    with pytest.warns(Warning):  # max_iter=3: the ConvergenceWarning
        one, many = _on_one_and_all_threads(fit)
    assert_array_equal(one[0], many[0])
    assert_array_equal(one[1], many[1])


def test_openmp_is_loaded_with_sleeping_threads_and_the_environment_kept(
    monkeypatch,
):
    # OpenMP reads its wait policy when it loads: PASSIVE then, and the
    # environment as it was afterwards; a policy the user chose is kept.
    from skbp._primitives import _sleeping_openmp_threads

    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"):
        monkeypatch.delenv(name, raising=False)
    with _sleeping_openmp_threads():
        assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setenv("GOMP_SPINCOUNT", "1000")
    with _sleeping_openmp_threads():
        assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    with _sleeping_openmp_threads():
        assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
