"""Each array primitive against its plain NumPy reference, directly.

The core computes only through the primitives of :mod:`skbp._primitives`, so
each one is checked here on its own: every primitive of
:class:`~skbp._primitives.NumPyPrimitives` against the NumPy (or SciPy)
expression it stands for, bit for bit; the torch and array-API primitives
(where the library is installed) against the same references, to rounding;
and each compiled kernel against the NumPy passes it replaces, bit for bit
where the kernel promises it and to a few units in the last place for the
softmax.  The estimators' fits through these paths are tested elsewhere
(``test_kernels.py``, ``test_array_api.py``).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import erfc, expit, xlogy

from skbp._kernel_codes import (
    BIAS_ACTIVATION_CODES,
    DERIVATIVE_CODES,
    LEAKY_RELU_SLOPE,
    ActivationCode,
)
from skbp._primitives import NUMPY, copy_array, kernel_ready, primitives_for

DTYPES = [np.float32, np.float64]


def _arrays(dtype, seed=0):
    """Two (7, 4) arrays with negatives, a positive one, a vector, an index."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(7, 4)).astype(dtype)
    b = rng.normal(size=(7, 4)).astype(dtype)
    positive = rng.uniform(0.1, 3.0, size=(7, 4)).astype(dtype)
    return a, b, positive, rng.permutation(7)


# name -> (arguments from _arrays, the NumPy reference on the same arguments)
ELEMENTWISE = {
    "maximum": (lambda a, b, p: (a, b), np.maximum),
    "multiply": (lambda a, b, p: (a, b), np.multiply),
    "subtract": (lambda a, b, p: (a, b), np.subtract),
    "divide": (lambda a, b, p: (a, p), np.divide),
    "sqrt": (lambda a, b, p: (p,), np.sqrt),
    "abs": (lambda a, b, p: (a,), np.abs),
    # Rounded: zeros among the values, where the sign is 0.
    "sign": (lambda a, b, p: (np.round(a),), np.sign),
    "exp": (lambda a, b, p: (a,), np.exp),
    "tanh": (lambda a, b, p: (a,), np.tanh),
    "expit": (lambda a, b, p: (a,), expit),
    "erfc": (lambda a, b, p: (a,), erfc),
    "xlogy": (lambda a, b, p: (p, p), xlogy),
    "logaddexp0": (lambda a, b, p: (a,), lambda x: np.logaddexp(0, x)),
    "rowwise_dot": (lambda a, b, p: (a, b), lambda x, y: np.einsum("ij,ij->i", x, y)),
    "clip": (lambda a, b, p: (a, -0.5, 0.5), np.clip),
    "concat_columns": (lambda a, b, p: ([a, b],), np.hstack),
    "dense_matmul": (lambda a, b, p: (a, b.T), np.matmul),
    "matmul": (lambda a, b, p: (a, b.T), np.matmul),
    # On vectors: NumPy's reductions default to axis 0, the array API's to
    # all axes (the core passes ``axis`` wherever it reduces a matrix).
    "sum": (lambda a, b, p: (a.ravel(),), np.sum),
    "max": (lambda a, b, p: (a.ravel(),), np.max),
}
# Primitives that write into ``out`` and return it.
WITH_OUT = [
    "maximum",
    "multiply",
    "subtract",
    "divide",
    "sqrt",
    "abs",
    "sign",
    "exp",
    "tanh",
    "expit",
    "clip",
    "dense_matmul",
    "matmul",
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_numpy_primitive_is_its_numpy_expression(name, dtype):
    make_arguments, reference = ELEMENTWISE[name]
    a, b, positive, _ = _arrays(dtype)
    arguments = make_arguments(a, b, positive)
    expected = reference(*arguments)
    result = getattr(NUMPY, name)(*arguments)
    assert result.dtype == expected.dtype
    assert_array_equal(result, expected)
    if name in WITH_OUT:
        out = np.empty_like(expected)
        assert getattr(NUMPY, name)(*arguments, out=out) is out
        assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_reductions_take_axis_and_keepdims(dtype):
    a, _, _, _ = _arrays(dtype)
    assert_array_equal(
        NUMPY.sum(a, axis=1, keepdims=True), np.sum(a, axis=1, keepdims=True)
    )
    assert_array_equal(
        NUMPY.max(a, axis=1, keepdims=True), np.max(a, axis=1, keepdims=True)
    )


def test_numpy_row_and_mask_primitives():
    a, b, _, index = _arrays(np.float64)
    assert_array_equal(NUMPY.take_rows(a, index), a[index])
    out = np.empty_like(a)
    assert NUMPY.take_rows(a, index, out=out) is out
    assert_array_equal(out, a[index])
    sparse = sp.csr_matrix(a)
    assert_array_equal(NUMPY.take_rows(sparse, index).toarray(), a[index])
    delta = b.copy()
    assert NUMPY.mask_positive(delta, a) is delta
    assert_array_equal(delta, np.where(a > 0, b, 0.0))
    chosen = NUMPY.select(a > 0, 1.0, 0.5, like=np.empty(1, np.float32))
    assert chosen.dtype == np.float32
    assert_array_equal(chosen, np.where(a > 0, 1.0, 0.5).astype(np.float32))


def test_numpy_matmul_takes_sparse_inputs():
    a, b, _, _ = _arrays(np.float64)
    sparse = sp.csr_matrix(np.where(a > 0, a, 0.0))
    expected = sparse.toarray() @ b.T
    assert_allclose(NUMPY.matmul(sparse, b.T), expected, rtol=1e-15)
    out = np.empty_like(expected)
    assert NUMPY.matmul(sparse, b.T, out=out) is out
    assert_allclose(out, expected, rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_allocation_and_conversion(dtype):
    a, _, _, _ = _arrays(dtype)
    for make, fill in ((NUMPY.zeros, 0), (NUMPY.ones, 1)):
        made = make((3, 2), dtype)
        assert made.dtype == dtype and made.shape == (3, 2)
        assert_array_equal(made, np.full((3, 2), fill, dtype))
    assert NUMPY.empty(5, dtype).shape == (5,)
    copied = NUMPY.copy(a)
    assert copied is not a and not np.shares_memory(copied, a)
    assert_array_equal(copied, a)
    assert NUMPY.from_host(a) is a and NUMPY.to_host(a) is a
    assert NUMPY.from_host([1, 2], dtype).dtype == dtype
    value = NUMPY.scalar(a.sum())
    assert type(value) is float and value == float(a.sum())
    view = NUMPY.reshape(a, (4, 7))
    assert np.shares_memory(view, a) and view.shape == (4, 7)
    name = np.dtype(dtype).name
    assert NUMPY.float_dtype(name) == dtype and NUMPY.dtype_name(dtype) == name
    assert NUMPY.host_dtype(dtype) == dtype


def test_kernel_ready_and_primitives_for():
    a = np.ones((3, 2))
    assert kernel_ready(a, a[0])
    assert not kernel_ready(a, a.astype(np.float32))  # mixed dtypes
    assert not kernel_ready(a.T)  # not C-contiguous
    assert not kernel_ready(a.astype(np.int64))
    assert not kernel_ready(sp.csr_matrix(a))
    assert primitives_for(a) is NUMPY and primitives_for(sp.csr_matrix(a)) is NUMPY
    copied = copy_array(a)
    assert copied is not a
    assert_array_equal(copied, a)


# ------------------------------------------------ other namespaces' primitives


def _namespace_primitives(name):
    if name == "torch":
        torch = pytest.importorskip("torch")
        return primitives_for(torch.zeros(1, dtype=torch.float64))
    xp = pytest.importorskip("array_api_strict")
    return primitives_for(xp.zeros(1, dtype=xp.float64))


NAMESPACES = ["torch", "array_api_strict"]


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_namespace_primitive_agrees_with_numpy(namespace, name):
    ops = _namespace_primitives(namespace)
    make_arguments, reference = ELEMENTWISE[name]
    a, b, positive, _ = _arrays(np.float64)
    arguments = make_arguments(a, b, positive)
    expected = reference(*arguments)

    def moved(argument):
        if isinstance(argument, list):
            return [ops.from_host(x) for x in argument]
        return ops.from_host(argument) if isinstance(argument, np.ndarray) else argument

    on_device = [moved(argument) for argument in arguments]
    result = getattr(ops, name)(*on_device)
    assert_allclose(ops.to_host(result), expected, rtol=1e-13, atol=1e-15)
    if name in WITH_OUT:
        out = ops.empty(expected.shape, ops.float_dtype("float64"))
        result = getattr(ops, name)(*on_device, out=out)
        assert_allclose(ops.to_host(result), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_namespace_row_mask_and_conversion_primitives(namespace):
    ops = _namespace_primitives(namespace)
    a, b, _, index = _arrays(np.float64)
    A, B = ops.from_host(a), ops.from_host(b)
    host_index = ops.from_host(index)
    assert_array_equal(ops.to_host(ops.take_rows(A, host_index)), a[index])
    delta = ops.mask_positive(ops.copy(B), A)
    assert_array_equal(ops.to_host(delta), np.where(a > 0, b, 0.0))
    chosen = ops.select(A > 0, 1.0, 0.5, like=A)
    assert_array_equal(ops.to_host(chosen), np.where(a > 0, 1.0, 0.5))
    assert_allclose(
        ops.to_host(ops.sum(A, axis=1, keepdims=True)),
        a.sum(axis=1, keepdims=True),
        rtol=1e-14,
    )
    assert_array_equal(
        ops.to_host(ops.max(A, axis=1, keepdims=True)), a.max(axis=1, keepdims=True)
    )
    assert_array_equal(ops.to_host(ops.zeros((2, 3), A.dtype)), np.zeros((2, 3)))
    assert_array_equal(ops.to_host(ops.ones(4, A.dtype)), np.ones(4))
    assert_array_equal(ops.to_host(ops.reshape(A, (4, 7))), a.reshape(4, 7))
    assert float(ops.scalar(ops.sum(A))) == pytest.approx(a.sum(), rel=1e-14)
    assert ops.dtype_name(ops.float_dtype("float32")) == "float32"
    assert ops.host_dtype(A.dtype) == np.float64
    assert not ops.is_numpy and not kernel_ready(A)


# ------------------------------------------------------ the compiled kernels


def _kernel(name):
    kernel = getattr(NUMPY, name)
    if kernel is None:
        pytest.skip("skbp was built without its compiled kernels")
    return kernel


def _numpy_activation(code, v):
    """The NumPy passes of ``Activation.add_bias_and_activate`` on ``v = z + b``."""
    if code == ActivationCode.IDENTITY:
        return v
    if code == ActivationCode.RELU:
        return np.maximum(v, 0.0, out=v)
    return np.maximum(v, np.multiply(v, LEAKY_RELU_SLOPE), out=v)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("code", sorted(BIAS_ACTIVATION_CODES))
def test_bias_activation_kernel_is_bitwise_numpy(code, dtype):
    kernel = _kernel("fused_bias_activation")
    a, b, _, _ = _arrays(dtype)
    expected = _numpy_activation(code, a + b[0])
    z = a.copy()
    kernel(z, b[0].copy(), code)
    assert_array_equal(z, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("code", sorted(DERIVATIVE_CODES))
def test_derivative_kernel_is_bitwise_numpy(code, dtype):
    kernel = _kernel("fused_derivative")
    a, b, _, _ = _arrays(dtype)
    activation = _numpy_activation(code, a.copy())
    expected = b.copy()
    if code == ActivationCode.RELU:
        np.multiply(expected, activation > 0, out=expected)
    else:
        # The slope rounded to the arrays' precision first (ops.select's like=).
        expected *= np.where(activation > 0, 1.0, LEAKY_RELU_SLOPE).astype(dtype)
    delta = b.copy()
    kernel(delta, activation, code)
    assert_array_equal(delta, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_kernel_agrees_with_numpy_to_a_few_ulps(dtype):
    kernel = _kernel("fused_softmax")
    a, _, _, _ = _arrays(dtype)
    raw = a * 10
    expected = np.exp(raw - raw.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    out = np.empty_like(raw)
    kernel(raw, out)
    np.testing.assert_array_max_ulp(out, expected, maxulp=4)
    # With bounds, the probabilities are clipped as inside_unit_interval does.
    eps = np.finfo(dtype).eps
    kernel(raw, out, eps, 1 - eps)
    np.testing.assert_array_max_ulp(
        out, np.clip(expected, eps, 1 - eps).astype(dtype), maxulp=4
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_output_kernel_delta_is_bitwise_numpy(dtype):
    # Softmax with log-loss: the delta is (prediction - y) * w / sum(w).
    kernel = _kernel("fused_output")
    from skbp._losses import get_output_layer

    output = get_output_layer("log_loss", "softmax")
    a, _, positive, _ = _arrays(dtype)
    prediction = output.link(a.copy(), np.empty_like(a))
    y = np.eye(4, dtype=bool)[[0, 1, 2, 3, 0, 1, 2]]
    weights = positive[:, 0].copy()
    weight_sum = weights.sum()
    expected = prediction - y
    expected *= (weights / weight_sum)[:, None]
    delta = np.empty_like(a)
    loss = kernel(
        prediction, a, y.view(np.uint8), weights, weight_sum, delta, output.kernel_code
    )
    assert_array_equal(delta, expected)
    expected_loss = output.loss(y, a, prediction, weights)
    assert_allclose(loss, expected_loss, rtol=1e-5 if dtype == np.float32 else 1e-13)


def _penalised(grad, theta, n_penalised, scale):
    grad = grad.copy()
    grad[:n_penalised] += theta[:n_penalised] * scale
    return grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_step_kernel_is_bitwise_numpy(nesterov, dtype):
    kernel = _kernel("fused_sgd_step")
    rng = np.random.default_rng(1)
    theta, grad, velocity = (rng.normal(size=30).astype(dtype) for _ in range(3))
    rate, momentum, n_penalised, scale = 0.01, 0.9, 20, 1e-3
    # The NumPy expressions of add_penalty_gradient, SGD.update and theta += step.
    scaled = _penalised(grad, theta, n_penalised, scale) * rate
    new_velocity = velocity * momentum - scaled
    step = momentum * new_velocity - scaled if nesterov else new_velocity
    expected = theta + step
    velocity_out = np.empty_like(velocity)
    kernel(theta, grad, velocity, velocity_out, rate, momentum, nesterov, 20, scale)
    assert_array_equal(theta, expected)
    assert_array_equal(velocity_out, new_velocity)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_step_kernel_is_bitwise_numpy(dtype):
    kernel = _kernel("fused_adam_step")
    rng = np.random.default_rng(2)
    theta, grad, m = (rng.normal(size=30).astype(dtype) for _ in range(3))
    v = rng.uniform(0, 1, size=30).astype(dtype)
    beta_1, beta_2, epsilon, n_penalised, scale = 0.9, 0.999, 1e-8, 20, 1e-3
    corrected = 0.001 * np.sqrt(1 - beta_2**3) / (1 - beta_1**3)  # a NumPy float64
    # The NumPy expressions of add_penalty_gradient, Adam.update and the sum.
    g = _penalised(grad, theta, n_penalised, scale)
    new_m = m * beta_1
    new_m += g * (1 - beta_1)
    squared = g * g
    squared *= 1 - beta_2
    new_v = v * beta_2
    new_v += squared
    step = np.sqrt(new_v)
    step += epsilon
    step = np.divide(new_m, step, out=step)
    step *= -corrected
    expected = theta + step
    m_out, v_out = np.empty_like(m), np.empty_like(v)
    args = (beta_1, beta_2, epsilon, corrected, n_penalised, scale)
    kernel(theta, grad, m, v, m_out, v_out, *args)
    assert_array_equal(theta, expected)
    assert_array_equal(m_out, new_m)
    assert_array_equal(v_out, new_v)
