"""Tests for :mod:`skbp._losses`.

Each (loss, link) pair of ``OUTPUT_LAYER_NAMES`` is checked three ways:

* its gradient with respect to the *raw* (pre-link) output, which starts the
  backward pass (design principle 3), against central finite differences
  of its per-sample loss;
* its loss values against formulas from scikit-learn's metrics or written out
  here, unweighted and with sample weights;
* its link against the closed form of the output activation.

``log_logistic`` and ``log_softmax`` are checked against the naive formulas
on moderate inputs and for finiteness, without warnings, at ``+-1e4``.

The losses with a kink (absolute error, Huber, the pinball loss of
'quantile') are checked with residuals kept away from their kinks (0 and
``+-huber_delta``), against scikit-learn's ``mean_absolute_error`` and
``mean_pinball_loss`` and torch's ``HuberLoss``, at their default parameters
and at others; their subgradient at a zero residual is checked on its own.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, softmax, xlogy
from sklearn.metrics import (
    log_loss,
    mean_absolute_error,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_squared_error,
)

from skbp._losses import (
    LOSS_PARAMETERS,
    OUTPUT_LAYER_NAMES,
    get_output_layer,
    log_logistic,
    log_softmax,
)

from _targets import valid_targets

N_SAMPLES = 9

# Central-difference step, near the float64 optimum eps ** (1/3).
STEP = 1e-6

CLOSED_FORM_LINKS = {
    "identity": lambda raw: raw,
    "logistic": expit,
    "softmax": lambda raw: softmax(raw, axis=1),
    "exp": np.exp,
}


# The losses with kinks in their (first or second) derivative: at a zero
# residual, and for Huber at +-huber_delta.
KINKED = ("absolute_error", "huber", "quantile")


def _problem(pair, seed, n_outputs=3, huber_delta=1.0):
    rng = np.random.default_rng(seed)
    shape = (N_SAMPLES, n_outputs)
    y = valid_targets(pair[1], rng, shape)
    if pair[0] in KINKED:
        return y, y + _residuals_off_the_kinks(rng, shape, huber_delta), rng
    # Moderate raw outputs: probabilities stay well inside (0, 1).
    raw = rng.uniform(-2.5, 2.5, size=shape)
    return y, raw, rng


def _residuals_off_the_kinks(rng, shape, huber_delta):
    """Residuals of both signs, none within 0.1 huber_delta of 0 or +-huber_delta.

    Half inside the quadratic zone of Huber, half outside: a finite
    difference never straddles a kink (steps are ~1e-6).
    """
    size = np.where(
        rng.random(shape) < 0.5,
        rng.uniform(0.1, 0.9, shape),
        rng.uniform(1.1, 3.0, shape),
    )
    return huber_delta * size * rng.choice([-1.0, 1.0], size=shape)


def _link(output_layer, raw):
    return output_layer.link(raw.copy(), np.empty_like(raw))


def _per_sample_loss(output_layer, y, raw):
    return output_layer.per_sample_loss(y, raw, _link(output_layer, raw))


def _compiled_softmax(raw):
    """Return the compiled row-wise softmax of ``raw`` (skbp/_kernels.pyx).

    Imported here, not at the top, so that the other tests of this file run
    where the kernels were not built; where they were not, the tests that
    call this fail (as tests/test_kernels.py does).
    """
    from skbp._kernels import softmax_rows

    out = np.empty_like(raw)
    softmax_rows(raw, out)
    return out


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_get_output_layer_names(pair):
    output_layer = get_output_layer(*pair)
    assert (output_layer.loss_name, output_layer.link_name) == pair


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_link_matches_closed_form(pair):
    output_layer = get_output_layer(*pair)
    _, raw, _ = _problem(pair, seed=0)
    out = np.empty_like(raw)
    raw_before = raw.copy()
    prediction = output_layer.link(raw, out)
    assert prediction is out
    # The link writes into ``out`` and leaves ``raw`` to the backward pass.
    assert_allclose(raw, raw_before, rtol=0)
    # rtol 1e-14: the same function up to round-off.
    assert_allclose(prediction, CLOSED_FORM_LINKS[pair[1]](raw), rtol=1e-14)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_gradient_matches_finite_differences(pair):
    output_layer = get_output_layer(*pair)
    y, raw, _ = _problem(pair, seed=1)
    out = np.empty_like(raw)
    analytic = output_layer.gradient(y, raw, _link(output_layer, raw), out)
    assert analytic is out
    # Sample i's loss depends on row i of ``raw`` only, so perturbing one
    # column of every row at once gives a column of the Jacobian's diagonal
    # blocks per pair of loss evaluations.
    numeric = np.empty_like(raw)
    for k in range(raw.shape[1]):
        shift = np.zeros_like(raw)
        shift[:, k] = STEP
        numeric[:, k] = (
            _per_sample_loss(output_layer, y, raw + shift)
            - _per_sample_loss(output_layer, y, raw - shift)
        ) / (2 * STEP)
    # Central differences are accurate to ~1e-9 here (losses of order 10);
    # a wrong gradient (e.g. a missing a(1 - a) factor) is off by O(0.1).
    assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def _reference_per_output_loss(pair, y, raw, **parameters):
    """Per-sample, per-output loss written out independently of skbp."""
    loss, link = pair
    parameters = {**LOSS_PARAMETERS.get(loss, {}), **parameters}
    prediction = CLOSED_FORM_LINKS[link](raw)
    if loss == "squared_error":
        return 0.5 * (prediction - y) ** 2
    if loss == "absolute_error":
        return np.abs(y - prediction)
    if loss == "quantile":
        q, under = parameters["quantile"], y - prediction
        return q * np.maximum(under, 0) + (1 - q) * np.maximum(-under, 0)
    if loss == "huber":
        delta, size = parameters["huber_delta"], np.abs(y - prediction)
        return np.where(size <= delta, 0.5 * size**2, delta * (size - delta / 2))
    if loss == "poisson":
        return xlogy(y, y / prediction) - y + prediction
    if link == "softmax":
        return -y * np.log(prediction)
    return -xlogy(y, prediction) - xlogy(1 - y, 1 - prediction)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_matches_formula(pair, weighted):
    output_layer = get_output_layer(*pair)
    y, raw, rng = _problem(pair, seed=2)
    sample_weight = rng.uniform(0.1, 3.0, size=N_SAMPLES) if weighted else None
    per_sample = _reference_per_output_loss(pair, y, raw).sum(axis=1)
    expected = np.average(per_sample, weights=sample_weight)
    loss = output_layer.loss(y, raw, _link(output_layer, raw), sample_weight)
    assert isinstance(loss, float)
    # Same quantity through different (stable vs naive) formulas.
    assert_allclose(loss, expected, rtol=1e-12)


def _torch_huber_loss(y, prediction, sample_weight, huber_delta):
    """torch's ``HuberLoss(delta=...)``, summed over outputs, weighted mean."""
    torch = pytest.importorskip("torch")
    huber = torch.nn.HuberLoss(reduction="none", delta=huber_delta)
    per_output = huber(torch.from_numpy(prediction), torch.from_numpy(y)).numpy()
    return np.average(per_output.sum(axis=1), weights=sample_weight)


def _sklearn_metric_loss(pair, y, prediction, sample_weight, **parameters):
    """The loss through scikit-learn's metrics: sum over outputs of the mean.

    Huber, which scikit-learn has no metric for, through torch's loss.
    """
    loss, link = pair
    parameters = {**LOSS_PARAMETERS.get(loss, {}), **parameters}
    columns, sw = range(y.shape[1]), sample_weight
    if loss == "absolute_error":
        return mean_absolute_error(
            y, prediction, sample_weight=sw, multioutput="raw_values"
        ).sum()
    if loss == "quantile":
        return mean_pinball_loss(
            y,
            prediction,
            sample_weight=sw,
            alpha=parameters["quantile"],
            multioutput="raw_values",
        ).sum()
    if loss == "huber":
        return _torch_huber_loss(y, prediction, sw, parameters["huber_delta"])
    if loss == "squared_error":
        return (
            0.5
            * mean_squared_error(
                y, prediction, sample_weight=sample_weight, multioutput="raw_values"
            ).sum()
        )
    if loss == "poisson":
        deviances = [
            mean_poisson_deviance(y[:, k], prediction[:, k], sample_weight=sw)
            for k in columns
        ]
        return 0.5 * sum(deviances)
    if link == "softmax":
        return log_loss(y.argmax(axis=1), prediction, sample_weight=sample_weight)
    return sum(
        log_loss(y[:, k], prediction[:, k], sample_weight=sample_weight, labels=[0, 1])
        for k in columns
    )


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_matches_sklearn_metrics(pair, weighted):
    output_layer = get_output_layer(*pair)
    y, raw, rng = _problem(pair, seed=3)
    if pair == ("log_loss", "logistic"):
        # sklearn's log_loss takes labels: use 0/1 targets for this pair.
        y = (y > 0.5).astype(np.float64)
    sample_weight = rng.uniform(0.1, 3.0, size=N_SAMPLES) if weighted else None
    prediction = _link(output_layer, raw)
    expected = _sklearn_metric_loss(pair, y, prediction, sample_weight)
    loss = output_layer.loss(y, raw, prediction, sample_weight)
    # Half MSE, half Poisson deviance and log-loss are these losses exactly;
    # probabilities are far from sklearn's clipping at eps.
    assert_allclose(loss, expected, rtol=1e-12)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_integer_sample_weight_equals_repeating_samples(pair):
    output_layer = get_output_layer(*pair)
    y, raw, rng = _problem(pair, seed=4)
    counts = rng.integers(1, 4, size=N_SAMPLES)
    y_rep, raw_rep = np.repeat(y, counts, axis=0), np.repeat(raw, counts, axis=0)
    weighted = output_layer.loss(
        y, raw, _link(output_layer, raw), counts.astype(np.float64)
    )
    repeated = output_layer.loss(y_rep, raw_rep, _link(output_layer, raw_rep))
    # Only the summation order differs.
    assert_allclose(weighted, repeated, rtol=1e-13)


@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_unit_sample_weight_equals_none(pair):
    output_layer = get_output_layer(*pair)
    y, raw, _ = _problem(pair, seed=5)
    prediction = _link(output_layer, raw)
    assert_allclose(
        output_layer.loss(y, raw, prediction, np.ones(N_SAMPLES)),
        output_layer.loss(y, raw, prediction),
        rtol=1e-14,
    )


def test_logistic_squared_error_is_liskowski_eq_3():
    # The seeds' sigmoid + squared-error pair is not canonical: its output
    # delta keeps the a(1 - a) factor, delta_k = -(t_k - a_k) a_k (1 - a_k),
    # Liskowski eq. (3) (from eqs. (7) and (8)), not the shortcut a_k - t_k.
    output_layer = get_output_layer("squared_error", "logistic")
    t = np.array([[1.0, 0.0, 0.25]])
    raw = np.array([[0.3, -1.2, 2.0]])
    a = expit(raw)
    delta = output_layer.gradient(t, raw, _link(output_layer, raw), np.empty_like(raw))
    assert_allclose(delta, -(t - a) * a * (1 - a), rtol=1e-14)


def test_binary_log_loss_gradient_is_liskowski_eq_1():
    # Logistic unit with log-loss: dL/dz = a - y, Liskowski eqs. (1)-(2).
    output_layer = get_output_layer("log_loss", "logistic")
    y = np.array([[1.0, 0.0, 0.4]])
    raw = np.array([[0.3, -1.2, 2.0]])
    delta = output_layer.gradient(y, raw, _link(output_layer, raw), np.empty_like(raw))
    assert_allclose(delta, expit(raw) - y, rtol=1e-14)


# ----------------------------------------------------------- log space


def test_log_logistic_matches_naive_formula_on_moderate_inputs():
    raw = np.linspace(-30, 30, 121)
    # Near 0 the naive log(expit(z)) = log(1 - tiny) is only accurate to an
    # absolute eps, hence atol 1e-15 against it ...
    assert_allclose(log_logistic(raw), np.log(expit(raw)), rtol=1e-13, atol=1e-15)
    # ... and a few ulps relative against the accurate -log1p(exp(-z)).
    assert_allclose(log_logistic(raw), -np.log1p(np.exp(-raw)), rtol=1e-14)


def test_log_softmax_matches_naive_formula_on_moderate_inputs():
    raw = np.random.default_rng(6).uniform(-20, 20, size=(8, 4))
    # Both formulas subtract numbers as large as |raw| <= 20: absolute
    # round-off up to ~20 eps ~ 4e-15, relative 1e-12 elsewhere.
    assert_allclose(
        log_softmax(raw), np.log(softmax(raw, axis=1)), rtol=1e-12, atol=1e-14
    )
    # Rows of exp(log_softmax) are probability vectors.
    assert_allclose(np.exp(log_softmax(raw)).sum(axis=1), 1.0, rtol=1e-14)


def test_log_logistic_is_finite_and_exact_at_extremes():
    raw = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = log_logistic(raw)
    assert np.isfinite(result).all()
    # log(expit(z)) = -log(1 + exp(-z)): -|z| for z << 0, -exp(-z) -> 0 for z >> 0.
    assert_allclose(result, [-1e4, -800.0, -np.log(2.0), 0.0, 0.0], rtol=1e-15)


def test_log_softmax_is_finite_and_exact_at_extremes():
    raw = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = log_softmax(raw)
    assert np.isfinite(result).all()
    expected = [
        [0.0, -2e4, -1e4],
        [-np.log(3.0)] * 3,
        [-np.log(2.0), -np.log(2.0), -2e4 - np.log(2.0)],
    ]
    # raw - logsumexp(raw) cancels numbers of size 1e4: absolute round-off
    # up to ~1e4 eps ~ 2e-12.
    assert_allclose(result, expected, rtol=1e-15, atol=1e-11)


@pytest.mark.parametrize(
    "pair",
    [("log_loss", "logistic"), ("log_loss", "softmax")],
    ids="-".join,
)
def test_log_losses_are_finite_at_extreme_raw_outputs(pair):
    # A saturated, confidently wrong unit must give a large finite loss and a
    # finite gradient, not inf/nan: the losses are written through raw.
    output_layer = get_output_layer(*pair)
    raw = np.array([[1e4, -1e4], [-1e4, 1e4]])
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prediction = _link(output_layer, raw)
        per_sample = output_layer.per_sample_loss(y, raw, prediction)
        delta = output_layer.gradient(y, raw, prediction, np.empty_like(raw))
    assert np.isfinite(per_sample).all()
    assert np.isfinite(delta).all()
    # Sample 0 is wrong by 1e4 on each of two logistic units, or by a 2e4
    # margin of the softmax: loss 2e4 either way.  Sample 1 is right, with
    # loss ~exp(-1e4), which is 0 in floating point.
    assert_allclose(per_sample, [2e4, 0.0], rtol=1e-15, atol=1e-300)


# Targets the classifiers encode as booleans (class indicators), with their
# output layers.
_CLASSIFICATION_PAIRS = [
    ("log_loss", "logistic"),
    ("log_loss", "softmax"),
    ("squared_error", "logistic"),
]


@pytest.mark.parametrize("pair", _CLASSIFICATION_PAIRS, ids="-".join)
def test_boolean_targets_keep_a_float32_loss_in_float32(pair):
    # The classifiers pass class indicators as booleans; summing those
    # without a dtype gives integers, which promote float32 to float64.
    output_layer = get_output_layer(*pair)
    rng = np.random.default_rng(2)
    y_float = valid_targets(pair[1], rng, (N_SAMPLES, 3)).round()
    y_bool = y_float.astype(bool)
    raw = rng.uniform(-2.5, 2.5, size=(N_SAMPLES, 3)).astype(np.float32)
    prediction = _link(output_layer, raw)
    per_sample = output_layer.per_sample_loss(y_bool, raw, prediction)
    assert per_sample.dtype == np.float32
    # The same loss as float targets give: float32 round-off, ~1e-7 relative.
    expected = output_layer.per_sample_loss(y_float.astype(np.float32), raw, prediction)
    assert_allclose(per_sample, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_link_is_the_compiled_pass_where_it_takes_the_arrays(dtype):
    # C-contiguous float arrays of one dtype: the link is the compiled
    # softmax, bit for bit.  It agrees with the NumPy expressions only to a
    # few ulps (a C library exp, the row sum in double and in order), so the
    # NumPy fallback in its place is told apart (checked below in float32).
    output_layer = get_output_layer("log_loss", "softmax")
    rng = np.random.default_rng(3)
    raw = rng.uniform(-8.0, 8.0, size=(500, 7)).astype(dtype)
    out = np.empty_like(raw)
    prediction = output_layer.link(raw, out)
    assert prediction is out
    compiled = _compiled_softmax(raw)
    assert_array_equal(prediction, compiled)
    # 4 ulps of the probabilities near 1 (and ~1e-15 absolute in float64).
    tolerance = 4 * np.finfo(dtype).eps
    assert_allclose(prediction, softmax(raw, axis=1), rtol=tolerance, atol=tolerance)
    if dtype == np.float32:
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        numpy_expressions = shifted / shifted.sum(axis=1, keepdims=True)
        assert not np.array_equal(compiled, numpy_expressions)


def _strided(array):
    """Return a non-contiguous view holding ``array``'s values (every other column)."""
    wide = np.full((array.shape[0], 2 * array.shape[1]), np.nan, array.dtype)
    wide[:, ::2] = array
    return wide[:, ::2]


# Arrays the compiled kernels do not take: the links' NumPy expressions run,
# and must still write into the caller's buffer.
_LAYOUTS = {
    "strided-out": lambda raw: (raw, _strided(np.empty_like(raw))),
    "strided-raw": lambda raw: (_strided(raw), np.empty_like(raw)),
    "float32-raw-float64-out": lambda raw: (raw.astype(np.float32), np.empty_like(raw)),
}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("pair", OUTPUT_LAYER_NAMES, ids="-".join)
def test_link_writes_into_the_given_buffer_of_any_layout(pair, layout):
    output_layer = get_output_layer(*pair)
    _, raw, _ = _problem(pair, seed=4)
    raw, out = _LAYOUTS[layout](raw)
    prediction = output_layer.link(raw, out)
    assert prediction is out
    # rtol 1e-6: float32 raw outputs read in float64; 1e-14 otherwise.
    rtol = 1e-6 if raw.dtype == np.float32 else 1e-14
    expected = CLOSED_FORM_LINKS[pair[1]](raw.astype(np.float64))
    assert_allclose(out, expected, rtol=rtol)


# ------------------------------------------------- losses with parameters

# Parameters other than the defaults: an asymmetric pinball loss (at the
# default 0.5 it is half the absolute error) and thresholds on both sides of
# the typical residual.
_PARAMETERISED = [
    ("quantile", {"quantile": 0.1}),
    ("quantile", {"quantile": 0.9}),
    ("huber", {"huber_delta": 0.3}),
    ("huber", {"huber_delta": 2.5}),
]


def _parameterised_problem(loss, parameters, seed):
    pair = (loss, "identity")
    delta = parameters.get("huber_delta", 1.0)
    y, raw, rng = _problem(pair, seed, huber_delta=delta)
    return pair, get_output_layer(*pair, **parameters), y, raw, rng


@pytest.mark.parametrize(("loss", "parameters"), _PARAMETERISED)
@pytest.mark.parametrize("weighted", [False, True])
def test_parameterised_loss_matches_sklearn_and_torch(loss, parameters, weighted):
    pair, output_layer, y, raw, rng = _parameterised_problem(loss, parameters, 7)
    sample_weight = rng.uniform(0.1, 3.0, size=N_SAMPLES) if weighted else None
    prediction = _link(output_layer, raw)
    loss_value = output_layer.loss(y, raw, prediction, sample_weight)
    expected = _sklearn_metric_loss(pair, y, prediction, sample_weight, **parameters)
    # The same sums in another order (a float32-free torch computation).
    assert_allclose(loss_value, expected, rtol=1e-12)
    written_out = _reference_per_output_loss(pair, y, raw, **parameters).sum(axis=1)
    assert_allclose(
        loss_value, np.average(written_out, weights=sample_weight), rtol=1e-12
    )


@pytest.mark.parametrize(("loss", "parameters"), _PARAMETERISED)
def test_parameterised_gradient_matches_finite_differences(loss, parameters):
    _, output_layer, y, raw, _ = _parameterised_problem(loss, parameters, 8)
    analytic = output_layer.gradient(
        y, raw, _link(output_layer, raw), np.empty_like(raw)
    )
    numeric = np.empty_like(raw)
    for k in range(raw.shape[1]):
        shift = np.zeros_like(raw)
        shift[:, k] = STEP
        numeric[:, k] = (
            _per_sample_loss(output_layer, y, raw + shift)
            - _per_sample_loss(output_layer, y, raw - shift)
        ) / (2 * STEP)
    # Piecewise linear or quadratic away from the kinks: central differences
    # are exact but for round-off (~1e-10 here).
    assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("loss", "parameters"), _PARAMETERISED)
def test_delta_and_loss_is_the_weighted_gradient_of_the_mean_loss(
    loss, parameters, weighted
):
    # No compiled kernel computes these pairs: delta_and_loss takes the NumPy
    # path, whose delta must be the gradient of ``loss`` (weights included).
    _, output_layer, y, raw, rng = _parameterised_problem(loss, parameters, 9)
    assert output_layer.kernel_code is None
    sample_weight = rng.uniform(0.1, 3.0, size=N_SAMPLES) if weighted else None
    weight_sum = N_SAMPLES if sample_weight is None else sample_weight.sum()
    delta = np.empty_like(raw)
    mean_loss = output_layer.delta_and_loss(
        y, raw, raw.copy(), sample_weight, weight_sum, delta, block=False
    )
    assert mean_loss == output_layer.loss(y, raw, raw.copy(), sample_weight)
    numeric = np.empty_like(raw)
    for index in np.ndindex(raw.shape):
        shifted = [raw.copy(), raw.copy()]
        shifted[0][index] += STEP
        shifted[1][index] -= STEP
        plus, minus = (output_layer.loss(y, r, r, sample_weight) for r in shifted)
        numeric[index] = (plus - minus) / (2 * STEP)
    assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("loss", "parameters", "slope_above", "slope_below"),
    [
        ("absolute_error", {}, 1.0, -1.0),
        ("quantile", {"quantile": 0.3}, 0.7, -0.3),
        ("quantile", {"quantile": 0.9}, 1 - 0.9, -0.9),
        ("huber", {"huber_delta": 0.5}, 0.5, -0.5),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_at_and_off_the_kink(
    loss, parameters, slope_above, slope_below, dtype
):
    # At f == y the subgradient of least norm, 0 (it lies in [-q, 1 - q] and
    # [-1, 1]); off it the exact slopes, here where Huber is linear too.
    output_layer = get_output_layer(loss, "identity", **parameters)
    y = np.array([[1.5, -2.0, 0.25, 4.0]], dtype=dtype)
    raw = y + np.array([[0.0, 0.0, 3.0, -3.0]], dtype=dtype)
    gradient = output_layer.gradient(y, raw, raw.copy(), np.empty_like(raw))
    assert gradient.dtype == dtype
    expected = np.array([[0.0, 0.0, slope_above, slope_below]], dtype=dtype)
    assert_array_equal(gradient, expected)
    # The loss of the exact targets is 0.
    assert_array_equal(output_layer.per_sample_loss(y, y, y.copy()), [0.0])


@pytest.mark.parametrize("pair", [(loss, "identity") for loss in KINKED], ids="-".join)
def test_kinked_losses_keep_float32(pair):
    output_layer = get_output_layer(*pair)
    y, raw, rng = _problem(pair, seed=10)
    y, raw = y.astype(np.float32), raw.astype(np.float32)
    prediction = _link(output_layer, raw)
    per_sample = output_layer.per_sample_loss(y, raw, prediction)
    assert per_sample.dtype == np.float32
    assert output_layer.gradient(y, raw, prediction, np.empty_like(raw)).dtype == (
        np.float32
    )
    weights = rng.uniform(0.1, 3.0, size=N_SAMPLES).astype(np.float32)
    expected = _reference_per_output_loss(
        pair, y.astype(np.float64), raw.astype(np.float64)
    ).sum(axis=1)
    # float32 round-off of values of order 1 to 10.
    assert_allclose(per_sample, expected, rtol=1e-5)
    assert isinstance(output_layer.loss(y, raw, prediction, weights), float)


def test_loss_parameters_make_the_output_layer():
    # Equal parameters give equal (and equally hashed) layers, as the reuse of
    # a fitted network and the pickled record compare them; others differ.
    quantile = get_output_layer("quantile", "identity", quantile=0.25)
    assert quantile == get_output_layer("quantile", "identity", quantile=0.25)
    assert hash(quantile) == hash(
        get_output_layer("quantile", "identity", quantile=np.float64(0.25))
    )
    assert quantile != get_output_layer("quantile", "identity", quantile=0.75)
    assert quantile.parameters == (("quantile", 0.25),)
    # Defaults are filled in: the layer is the same as one given them.
    assert get_output_layer("huber", "identity") == get_output_layer(
        "huber", "identity", huber_delta=1.0
    )
    assert get_output_layer("absolute_error", "identity").parameters == ()
    with pytest.raises(TypeError, match="huber_delta"):
        get_output_layer("quantile", "identity", huber_delta=1.0)
    with pytest.raises(TypeError, match="quantile"):
        get_output_layer("squared_error", "identity", quantile=0.5)
