"""Closed-form tests for :mod:`skbp._optimizers`.

Each optimizer is an ``init`` / ``update`` pair on one flat vector (design
principle 8).  The expected steps below are written out by hand from the
update rules, for one and for two steps, with plain Python floats per
coordinate where the rule is elementwise.
"""

import copy
import math
import pickle
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbp._optimizers import SGD, Adam, AdamState, SGDState

LR = 0.1
G1 = np.array([0.5, -2.0, 0.0, 3.0e-3])
G2 = np.array([-1.5, 0.25, 4.0, 3.0e-3])


def _two_steps(optimizer, lr=LR):
    """Return the two steps (copied: a step may alias the state) and the state."""
    state = optimizer.init(np.zeros_like(G1))
    step1 = optimizer.update(G1, state, lr).copy()
    step2 = optimizer.update(G2, state, lr).copy()
    return step1, step2, state


# ------------------------------------------------------------------- SGD


def test_sgd_init_is_zero_velocity_of_the_parameters_shape_and_dtype():
    theta = np.ones(5, dtype=np.float32)
    state = SGD().init(theta)
    assert isinstance(state, SGDState)
    assert state.velocity.dtype == np.float32
    assert_array_equal(state.velocity, np.zeros(5))
    # A fresh buffer: updating the velocity must never write into theta.
    assert not np.shares_memory(state.velocity, theta)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_without_momentum_is_the_plain_gradient_step(nesterov):
    # Delta w = -lr dL/dw: Liskowski eq. (6), every step, whatever the history.
    step1, step2, _ = _two_steps(SGD(momentum=0.0, nesterov=nesterov))
    # Exact: -lr * g computed once, possibly as 0 * v - lr * g.
    assert_allclose(step1, -LR * G1, rtol=1e-15)
    assert_allclose(step2, -LR * G2, rtol=1e-15)


def test_sgd_classical_momentum_two_steps():
    mu = 0.9
    step1, step2, state = _two_steps(SGD(momentum=mu, nesterov=False))
    # v1 = -lr g1;  v2 = mu v1 - lr g2 = -mu lr g1 - lr g2; the step is v.
    v1 = -LR * G1
    v2 = mu * v1 - LR * G2
    assert_allclose(step1, v1, rtol=1e-15)
    assert_allclose(step2, v2, rtol=1e-15)
    assert_allclose(state.velocity, v2, rtol=1e-15)


def test_sgd_nesterov_momentum_two_steps():
    mu = 0.9
    step1, step2, state = _two_steps(SGD(momentum=mu, nesterov=True))
    # v_t = mu v_{t-1} - lr g_t (as classical); the step looks ahead:
    # mu v_t - lr g_t.  Written out per coordinate:
    # step1 = -(1 + mu) lr g1,  step2 = -mu^2 lr g1 - (1 + mu) lr g2.
    for j in range(G1.size):
        g1, g2 = float(G1[j]), float(G2[j])
        assert math.isclose(step1[j], -(1 + mu) * LR * g1, rel_tol=1e-14)
        assert math.isclose(
            step2[j], -(mu**2) * LR * g1 - (1 + mu) * LR * g2, rel_tol=1e-14
        )
        assert math.isclose(state.velocity[j], -mu * LR * g1 - LR * g2, rel_tol=1e-14)


def test_sgd_uses_the_learning_rate_of_each_call():
    # Schedules change the rate between epochs; the optimizer takes it per call.
    optimizer = SGD(momentum=0.5, nesterov=False)
    state = optimizer.init(np.zeros_like(G1))
    step1 = optimizer.update(G1, state, 0.2).copy()
    step2 = optimizer.update(G2, state, 0.05).copy()
    assert_allclose(step1, -0.2 * G1, rtol=1e-15)
    assert_allclose(step2, 0.5 * (-0.2 * G1) - 0.05 * G2, rtol=1e-15)


def test_sgd_applied_in_place_descends_a_quadratic():
    # theta += step on J = 1/2 |theta|^2 (g = theta): plain SGD contracts
    # theta by (1 - lr) per step, exactly.
    theta = np.array([1.0, -2.0, 0.5])
    optimizer = SGD(momentum=0.0, nesterov=False)
    state = optimizer.init(theta)
    for _ in range(3):
        theta += optimizer.update(theta.copy(), state, LR)
    assert_allclose(theta, (1 - LR) ** 3 * np.array([1.0, -2.0, 0.5]), rtol=1e-15)


# ------------------------------------------------------------------ Adam


def _adam_reference(grads, lr, beta_1, beta_2, epsilon):
    """Adam as documented, one coordinate at a time in Python floats.

    m_t = b1 m + (1 - b1) g,  v_t = b2 v + (1 - b2) g^2,
    step_t = -lr sqrt(1 - b2^t) / (1 - b1^t) * m_t / (sqrt(v_t) + eps).
    """
    steps = []
    m = [0.0] * len(grads[0])
    v = [0.0] * len(grads[0])
    for t, g in enumerate(grads, start=1):
        m = [beta_1 * mj + (1 - beta_1) * gj for mj, gj in zip(m, g, strict=True)]
        v = [beta_2 * vj + (1 - beta_2) * gj**2 for vj, gj in zip(v, g, strict=True)]
        corrected = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        steps.append(
            [
                -corrected * mj / (math.sqrt(vj) + epsilon)
                for mj, vj in zip(m, v, strict=True)
            ]
        )
    return steps, m, v


def test_adam_init_state():
    theta = np.ones(4, dtype=np.float32)
    state = Adam().init(theta)
    assert isinstance(state, AdamState)
    assert state.n_steps == 0
    for moment in (state.first_moment, state.second_moment):
        assert moment.dtype == np.float32
        assert_array_equal(moment, 0.0)
        assert not np.shares_memory(moment, theta)


def test_adam_first_step_is_lr_times_sign_of_gradient():
    # With bias correction, m1_hat / sqrt(v1_hat) = g / |g|: the first step is
    # -lr sign(g) up to epsilon, whatever the gradient's scale.
    optimizer = Adam(beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    state = optimizer.init(np.zeros_like(G1))
    step = optimizer.update(G1, state, LR)
    # m1 = (1 - b1) g and sqrt(v1) = sqrt(1 - b2) |g|, so the corrected step
    # is -lr g / (|g| + eps / sqrt(1 - b2)): epsilon acts on the uncorrected
    # sqrt(v), as in scikit-learn's formulation.
    expected = -LR * G1 / (np.abs(G1) + 1e-8 / math.sqrt(1 - 0.999))
    assert_allclose(step, expected, rtol=1e-12, atol=1e-300)
    assert_allclose(step[[0, 1]], -LR * np.sign(G1[[0, 1]]), rtol=1e-6)
    assert step[2] == 0.0
    assert state.n_steps == 1


@pytest.mark.parametrize(
    ("beta_1", "beta_2", "epsilon"),
    [(0.9, 0.999, 1e-8), (0.5, 0.75, 1e-3), (0.0, 0.0, 1e-8)],
)
def test_adam_two_steps_match_the_formula(beta_1, beta_2, epsilon):
    optimizer = Adam(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    step1, step2, state = _two_steps(optimizer)
    expected_steps, m, v = _adam_reference(
        [G1.tolist(), G2.tolist()], LR, beta_1, beta_2, epsilon
    )
    # Same formula in a different operation order: a few ulps.
    assert_allclose(step1, expected_steps[0], rtol=1e-13, atol=1e-300)
    assert_allclose(step2, expected_steps[1], rtol=1e-13, atol=1e-300)
    assert_allclose(state.first_moment, m, rtol=1e-14)
    assert_allclose(state.second_moment, v, rtol=1e-14)
    assert state.n_steps == 2


def test_adam_without_averaging_is_sign_descent():
    # beta_1 = beta_2 = 0: m = g, v = g^2, no bias correction:
    # step = -lr g / (|g| + eps).
    optimizer = Adam(beta_1=0.0, beta_2=0.0, epsilon=1e-8)
    _, step2, _ = _two_steps(optimizer)
    assert_allclose(step2, -LR * G2 / (np.abs(G2) + 1e-8), rtol=1e-15)


def test_adam_keeps_float32():
    optimizer = Adam()
    theta = np.zeros(4, dtype=np.float32)
    state = optimizer.init(theta)
    step = optimizer.update(G1.astype(np.float32), state, LR)
    assert step.dtype == np.float32
    # float32 arithmetic: ~1e-7 relative.
    expected, _, _ = _adam_reference([G1.tolist()], LR, 0.9, 0.999, 1e-8)
    assert_allclose(step, expected[0], rtol=1e-6, atol=1e-12)


# --------------------------------------------- no allocation on the hot path
#
# The step writes into the buffers it is given (``out``, the state's arrays,
# ``theta``): a step allocates no array of the parameters' size.  NumPy
# reports its array buffers to tracemalloc, so a parameter-sized allocation
# shows as a peak of a vector's bytes; the Python objects of a call weigh a
# few hundred bytes.

N_PARAMS = 100_000  # 800 kB in float64
VECTOR_BYTES = N_PARAMS * np.dtype(np.float64).itemsize
# Nesterov's step takes one temporary (momentum * velocity); the others none.
TEMPORARY_VECTORS = {"sgd-nesterov": 1, "sgd-classical": 0, "adam": 0}
OPTIMIZERS = {
    "sgd-nesterov": SGD(momentum=0.9, nesterov=True),
    "sgd-classical": SGD(momentum=0.9, nesterov=False),
    "adam": Adam(),
}


def _peak_bytes_allocated(call):
    """Return what ``call()`` returns, and the peak of the memory it allocated.

    Parameters
    ----------
    call : callable
        Called once, without arguments.

    Returns
    -------
    result : object
        ``call()``.
    peak : int
        The largest amount of memory (Python's and NumPy's array buffers)
        held at once during the call beyond what was held before it, in bytes.
    """
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started_here:
            tracemalloc.stop()
    return result, peak - before


def _vectors(seed, n_params=N_PARAMS):
    """Parameters, a gradient and a second gradient, of ``n_params`` entries."""
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=n_params) for _ in range(3))


def _warmed_up(optimizer, theta, grad):
    """A state one step in, so that momentum and moments are not zero."""
    state = optimizer.init(theta)
    optimizer.update(grad, state, LR, np.empty_like(theta))
    return state


def _assert_at_most_vectors(peak, n_vectors):
    # Half a vector of slack: one allocated vector more exceeds it.
    assert peak < (n_vectors + 0.5) * VECTOR_BYTES, (
        f"{peak} bytes allocated: more than {n_vectors} parameter-sized vectors"
    )


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_update_returns_the_step_in_the_buffer_given(name):
    optimizer = OPTIMIZERS[name]
    theta, grad, next_grad = _vectors(0, n_params=50)
    state = _warmed_up(optimizer, theta, grad)
    reference_state = copy.deepcopy(state)
    out = np.empty_like(theta)
    step = optimizer.update(next_grad, state, LR, out)
    # Classical momentum's step is the new velocity itself (documented);
    # the others are written into ``out``.
    expected_buffer = state.velocity if name == "sgd-classical" else out
    assert step is expected_buffer
    # The same step as the update that allocates its own, bit for bit.
    assert_array_equal(step, optimizer.update(next_grad, reference_state, LR))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_update_allocates_no_parameter_sized_array(name):
    optimizer = OPTIMIZERS[name]
    theta, grad, next_grad = _vectors(1)
    state = _warmed_up(optimizer, theta, grad)
    out = np.empty_like(theta)
    _, peak = _peak_bytes_allocated(lambda: optimizer.update(next_grad, state, LR, out))
    _assert_at_most_vectors(peak, TEMPORARY_VECTORS[name])


def _every_other(vector):
    """A non-contiguous view holding ``vector``'s values."""
    spread = np.zeros(2 * vector.size)
    spread[::2] = vector
    return spread[::2]


# The gradient as it comes (the compiled step), and strided, which the
# compiled steps do not take: the NumPy expressions run, into the scratch.
GRADIENT_LAYOUTS = {"contiguous": np.ascontiguousarray, "strided": _every_other}


@pytest.mark.parametrize("penalized", [False, True])
@pytest.mark.parametrize("layout", sorted(GRADIENT_LAYOUTS))
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_apply_updates_theta_in_place_without_allocating(name, layout, penalized):
    optimizer = OPTIMIZERS[name]
    theta, grad, next_grad = _vectors(2)
    # An L2 term on the first three quarters (the weights, not the biases).
    penalty = (3 * N_PARAMS // 4, 1e-3) if penalized else None
    state = _warmed_up(optimizer, theta, grad)
    reference_theta = theta.copy()
    reference_state = _warmed_up(optimizer, reference_theta, grad)
    gradient = GRADIENT_LAYOUTS[layout](next_grad)
    scratch = np.empty_like(theta)
    result, peak = _peak_bytes_allocated(
        lambda: optimizer.apply(theta, gradient, state, LR, scratch, penalty=penalty)
    )
    assert result is theta
    _assert_at_most_vectors(peak, TEMPORARY_VECTORS[name])
    # The reference: the L2 term added by hand, then ``theta += update``.
    expected_grad = next_grad.copy()
    if penalized:
        n_coefs, scale = penalty
        expected_grad[:n_coefs] += reference_theta[:n_coefs] * scale
    reference_theta += optimizer.update(expected_grad, reference_state, LR)
    # The compiled steps are the NumPy update bit for bit (tests/test_kernels.py).
    assert_array_equal(theta, reference_theta)


@pytest.mark.parametrize("optimizer", [SGD(0.9, True), Adam(0.9, 0.999, 1e-8)])
def test_a_pickled_state_leaves_its_bookkeeping_behind(optimizer):
    # The spare arrays and the guard flag are bookkeeping of one call, not
    # state: a pickle (and skops) holds the state's own arrays only, and the
    # loaded state writes in place until it is guarded again.
    theta = np.arange(6.0)
    state = optimizer.init(theta)
    state.guard()
    state.write_targets()  # allocates the spare arrays
    assert state._guarded and state._spare is not None
    pickled = state.__getstate__()
    assert "_spare" not in pickled and "_guarded" not in pickled
    loaded = pickle.loads(pickle.dumps(state))
    assert loaded._spare is None and not loaded._guarded
    assert loaded.write_targets() == loaded.arrays()


@pytest.mark.parametrize("optimizer", [SGD(0.9, True), Adam(0.9, 0.999, 1e-8)])
def test_guarded_steps_alternate_between_two_sets_of_arrays(optimizer):
    # A guarded step writes aside and the arrays it replaced become the next
    # guarded step's targets: two buffers per array, whatever the number of
    # steps, and nothing allocated after the first.
    state = optimizer.init(np.arange(6.0))
    first = state.arrays()
    replaced = None  # the arrays the previous guarded step replaced
    for _ in range(4):
        state.guard()
        targets = state.write_targets()
        if replaced is not None:
            assert all(t is r for t, r in zip(targets, replaced, strict=True))
        replaced = state.arrays()
        state.commit(targets)
        assert all(a is t for a, t in zip(state.arrays(), targets, strict=True))
    assert all(a is f for a, f in zip(state.arrays(), first, strict=True))
