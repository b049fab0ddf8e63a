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
    # the weights are float32 (NumPy then multiplies in float32 too).
    for scale in (1e-4 / 32, dtype(0.3) / dtype(7.0), 2.5):
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
    from skbp._kernels import bias_activation

    activation = ACTIVATIONS[name]
    rng = np.random.default_rng(7)
    z = _awkward_values(rng, (37, 19), dtype)
    bias = rng.normal(size=19).astype(dtype)
    bias[3:5] = 0.0  # keeps the -0.0 and 0.0 of row 0 as they are
    reference = z.copy()
    reference += bias
    reference = activation.forward(reference)
    fused = z.copy()
    bias_activation(fused, bias, activation.kernel_code, activation.slope)
    assert_array_equal(fused, reference)
    assert_array_equal(np.signbit(fused), np.signbit(reference))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_multiply_derivative_is_bitwise_the_numpy_pass(name, dtype):
    from skbp._activations import ACTIVATIONS
    from skbp._kernels import multiply_derivative

    activation = ACTIVATIONS[name]
    rng = np.random.default_rng(8)
    output = activation.forward(_awkward_values(rng, (23, 31), dtype))
    delta = _awkward_values(rng, (23, 31), dtype)[::-1].copy()
    reference = activation.multiply_derivative(output, delta.copy())
    fused = delta.copy()
    multiply_derivative(fused, output, activation.kernel_code, activation.slope)
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
    from skbp._kernels import output_delta_and_loss
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
