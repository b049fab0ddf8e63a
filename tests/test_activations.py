"""Tests for :mod:`skbp._activations`.

Every registered activation is checked two ways: its forward values against
a closed form computed independently here, and its derivative, which
``multiply_derivative`` computes from the stored *output* ``a = f(z)``
(design principle 4), against central finite differences of ``forward``
in float64.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from scipy.stats import norm

from skbp._activations import ACTIVATIONS

# Independent closed forms, written without reference to the package.
CLOSED_FORMS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(0.0, z),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "gelu": lambda z: z * norm.cdf(z),
    "silu": lambda z: z * expit(z),
    "softplus": lambda z: np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0),
}

# Central-difference step: near the float64 optimum eps ** (1/3) ~ 6e-6, so
# that truncation (O(h^2)) and round-off (O(eps / h)) errors are both ~1e-10.
STEP = 1e-6


def _points_away_from_kink(rng, shape):
    """Pre-activations in [-4, -0.1] U [0.1, 4]: no relu kink within STEP."""
    magnitude = rng.uniform(0.1, 4.0, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    return sign * magnitude


def _forward(activation, z):
    # forward may work in place: hand it a copy so the caller's z survives.
    return activation.forward(np.array(z, copy=True))


def _multiply_derivative(activation, z, delta):
    """``multiply_derivative`` at ``z``, given what it needs (a, and z for some)."""
    a = _forward(activation, z)
    if activation.derivative_needs_input:
        return activation.multiply_derivative(a, delta, z=np.array(z, copy=True))
    return activation.multiply_derivative(a, delta)


def test_registry_covers_the_documented_activations():
    assert set(ACTIVATIONS) == set(CLOSED_FORMS)
    for name, activation in ACTIVATIONS.items():
        assert activation.name == name


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_matches_closed_form(name):
    rng = np.random.default_rng(0)
    z = rng.normal(scale=3.0, size=(7, 5))
    # Same mathematical function, only round-off may differ (erf and scipy's
    # normal distribution function differ by a few ulps).
    assert_allclose(_forward(ACTIVATIONS[name], z), CLOSED_FORMS[name](z), rtol=1e-14)


# Those that overwrite z with f(z): the hot path's buffers are reused.
IN_PLACE = {"identity", "logistic", "tanh", "relu", "leaky_relu"}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_keeps_dtype_and_the_input_it_needs(name):
    rng = np.random.default_rng(1)
    activation = ACTIVATIONS[name]
    for dtype in (np.float64, np.float32):
        z = rng.normal(size=(4, 3)).astype(dtype)
        z_before = z.copy()
        expected = CLOSED_FORMS[name](z.astype(np.float64))
        result = activation.forward(z)
        if name in IN_PLACE:
            assert np.shares_memory(result, z)
        if activation.derivative_needs_input:
            # backward reads z from the buffer forward was given
            assert_array_equal(z, z_before)
        assert result.dtype == dtype
        # float32 round-off: a few ulps (eps32 ~ 1.2e-7) of values of order 1.
        assert_allclose(result, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_multiply_derivative_matches_finite_differences(name):
    rng = np.random.default_rng(2)
    activation = ACTIVATIONS[name]
    z = _points_away_from_kink(rng, (6, 4))
    delta = rng.normal(size=z.shape)
    numeric = (_forward(activation, z + STEP) - _forward(activation, z - STEP)) / (
        2 * STEP
    )
    analytic = _multiply_derivative(activation, z, delta.copy())
    # Error of the central difference is ~1e-10; 1e-8 leaves a wide margin
    # while any wrong derivative is off by O(1).
    assert_allclose(analytic, numeric * delta, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_multiply_derivative_writes_delta_in_place_and_keeps_output(name):
    rng = np.random.default_rng(3)
    activation = ACTIVATIONS[name]
    z = _points_away_from_kink(rng, (5, 3))
    a = _forward(activation, z)
    a_before = a.copy()
    delta = rng.normal(size=a.shape)
    if activation.derivative_needs_input:
        result = activation.multiply_derivative(a, delta, z=z)
    else:
        result = activation.multiply_derivative(a, delta)
    assert np.shares_memory(result, delta)
    # The stored output is read, never written: later layers still need it.
    assert_array_equal(a, a_before)


@pytest.mark.parametrize(
    ("name", "derivative_from_output"),
    [
        ("identity", lambda a: np.ones_like(a)),
        # sigma'(z) = a (1 - a): Liskowski's a_j (1 - a_j) in eqs. (3), (4), (7).
        ("logistic", lambda a: a * (1 - a)),
        ("tanh", lambda a: 1 - a**2),
        ("relu", lambda a: (a > 0).astype(a.dtype)),
        ("leaky_relu", lambda a: np.where(a > 0, 1.0, 0.01)),
        ("elu", lambda a: np.where(a > 0, 1.0, a + 1.0)),
        # sigma(z) = 1 - exp(-a) for a = log(1 + exp(z))
        ("softplus", lambda a: 1.0 - np.exp(-a)),
    ],
)
def test_multiply_derivative_matches_closed_form_in_the_output(
    name, derivative_from_output
):
    rng = np.random.default_rng(4)
    activation = ACTIVATIONS[name]
    a = _forward(activation, rng.normal(scale=2.0, size=(6, 3)))
    delta = rng.normal(size=a.shape)
    expected = derivative_from_output(a) * delta
    # Same arithmetic up to operation order: a few ulps.
    result = activation.multiply_derivative(a, delta.copy())
    assert_allclose(result, expected, rtol=1e-14)


def test_relu_derivative_is_zero_where_the_unit_is_off():
    # At a = 0 (z <= 0, including the kink) no gradient flows back.
    a = np.array([[0.0, 2.0, 0.0, 1e-300]])
    delta = np.array([[5.0, 5.0, -3.0, 7.0]])
    result = ACTIVATIONS["relu"].multiply_derivative(a, delta)
    assert_array_equal(result, [[0.0, 5.0, 0.0, 7.0]])


@pytest.mark.parametrize(
    ("name", "derivative"),
    [
        ("gelu", lambda z: norm.cdf(z) + z * norm.pdf(z)),
        ("silu", lambda z: expit(z) * (1.0 + z * (1.0 - expit(z)))),
    ],
)
def test_derivative_from_the_input_matches_closed_form(name, derivative):
    rng = np.random.default_rng(5)
    z = rng.normal(scale=2.0, size=(6, 3))
    delta = rng.normal(size=z.shape)
    result = _multiply_derivative(ACTIVATIONS[name], z, delta.copy())
    assert_allclose(result, derivative(z) * delta, rtol=1e-13, atol=1e-15)


def test_saturated_units_stay_finite():
    # Large |z| must not give inf or NaN (exp overflow), in value or slope.
    z = np.array([[-800.0, -50.0, 50.0, 800.0]])
    for name, activation in ACTIVATIONS.items():
        value = _forward(activation, z)
        slope = _multiply_derivative(activation, z, np.ones_like(z))
        assert np.isfinite(value).all() or name == "identity", name
        assert np.isfinite(slope).all(), name
