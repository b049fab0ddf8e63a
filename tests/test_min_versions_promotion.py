"""The fused optimizer steps under NumPy 1's and NumPy 2's scalar promotion.

NumPy 2 (NEP 50) multiplies a float32 array by a NumPy float64 scalar in
float64; NumPy 1's value-based casting does it in float32 where the scalar's
value fits float32, and promotes a Python float that does not fit to float64.
skbp supports both (``tools/min_versions.sh`` runs this file on NumPy 1.x):
the kernels must be used, and be bit for bit the NumPy path, under either.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skbp._kernels import adam_step, sgd_step
from skbp._optimizers import _VALUE_BASED_CASTING, SGD, Adam, _fusable
from skbp._primitives import NUMPY


def test_the_probed_promotion_is_what_multiply_does():
    product = np.ones(3, np.float32) * np.float64(0.1)
    assert _VALUE_BASED_CASTING == (product.dtype == np.float32)


def _counting(kernel, calls):
    def counted(*args):
        calls.append(args)
        return kernel(*args)

    return staticmethod(counted)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_python_constants_take_the_kernel_under_either_promotion(
    name, dtype, monkeypatch
):
    # Otherwise the bitwise tests of tests/test_kernels.py would pass on the
    # NumPy path alone, comparing it with itself.
    calls = []
    attribute, kernel = (
        ("fused_adam_step", adam_step)
        if name == "adam"
        else ("fused_sgd_step", sgd_step)
    )
    monkeypatch.setattr(type(NUMPY), attribute, _counting(kernel, calls))
    optimizer = Adam() if name == "adam" else SGD(0.9, True)
    theta = np.ones(10, dtype)
    state = optimizer.init(theta)
    optimizer.apply(theta, np.ones(10, dtype), state, 0.01, penalty=(4, 1e-4 / 3))
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["adam", "sgd"])
@pytest.mark.parametrize(
    ("learning_rate", "scale"), [(0.01, 1e39), (1e40, 1e-4), (3e38, 3e38)]
)
def test_constants_beyond_float32s_range_are_bitwise_the_numpy_path(
    name, learning_rate, scale
):
    # Under value-based casting these products are float64 ones: the kernel
    # is either told so (the Adam rate) or not used (the other constants).
    rng = np.random.default_rng(0)
    optimizer = Adam() if name == "adam" else SGD(0.9, True)
    reference = rng.normal(size=50).astype(np.float32)
    fused = reference.copy()
    state_reference, state_fused = optimizer.init(reference), optimizer.init(fused)
    penalty = (20, scale)
    # Each step is compared: a few steps on, both are infinities and NaN.
    for step in range(3):
        grad = rng.normal(size=50).astype(np.float32)
        with np.errstate(all="ignore"):
            _penalised_numpy_step(
                optimizer, reference, grad, state_reference, learning_rate, penalty
            )
            optimizer.apply(
                fused,
                grad,
                state_fused,
                learning_rate,
                np.empty(50, np.float32),
                penalty=penalty,
            )
        assert_array_equal(fused, reference, err_msg=f"step {step}")
        for ours, theirs in zip(
            state_fused.arrays(), state_reference.arrays(), strict=True
        ):
            assert_array_equal(ours, theirs, err_msg=f"step {step}")


def _penalised_numpy_step(optimizer, theta, grad, state, learning_rate, penalty):
    from skbp._optimizers import add_penalty_gradient

    scratch = np.empty_like(theta)
    grad = add_penalty_gradient(grad.copy(), theta, penalty, scratch=scratch)
    theta += optimizer.update(grad, state, learning_rate, np.empty_like(theta))


def test_which_python_constants_are_fusable_in_float32():
    vector = np.zeros(3, np.float32)
    assert _fusable(vector, vector, (0.9, 0.999, 1e-8))
    assert _fusable(vector, vector, (1e39,)) == (not _VALUE_BASED_CASTING)
    assert not _fusable(vector, vector, (np.float64(0.9),))
    assert _fusable(vector, vector, (np.float32(0.9),))
