"""Stochastic optimizers as small state machines on one flat vector.

``init(theta) -> state`` and ``update(grad, state, learning_rate) -> step``;
the caller adds the step to ``theta``.  No printing, no stopping logic, no
learning-rate schedule (design principle 8).  The arithmetic follows
scikit-learn's ``_stochastic_optimizers`` step for step, so that the same
gradients give the same updates.

States are transactional: :meth:`OptimizerState.guard` returns a snapshot
that shares the state's arrays instead of copying them, and the next step
writes its new values aside (into spare arrays) and swaps them in, so the
snapshot's arrays are never written.  A ``partial_fit`` call that fails puts
the snapshot back; one that succeeds has paid no copy of the state.
"""

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from ._primitives import NUMPY, kernel_ready, primitives_for

# How NumPy multiplies a float32 array by a NumPy float64 scalar, asked of
# NumPy once rather than read from its version: NumPy 2 (NEP 50) promotes the
# product to float64; NumPy 1's value-based casting keeps it in float32 (the
# scalar rounded to float32 first) wherever the scalar's value fits float32,
# and promotes a Python float that does not fit to float64.  The fused
# kernels must round as NumPy does (see _fusable and _kernel_rate).
_VALUE_BASED_CASTING = (
    np.result_type(np.ones(1, np.float32), np.float64(0.1)) == np.float32
)


def _zeros_like(theta):
    """Zeros of ``theta``'s shape, dtype, namespace and device."""
    return primitives_for(theta).zeros(theta.shape, theta.dtype)


class OptimizerState:
    """What SGD's and Adam's states share: the transactional write.

    Subclasses are dataclasses whose array fields are named in
    ``array_fields``.  ``_spare`` (arrays of the same shapes, or None) and
    ``_guarded`` are bookkeeping, not state: plain attributes rather than
    fields, so that copies (``dataclasses.replace``) and pickles start
    without them.
    """

    array_fields: ClassVar[tuple] = ()
    _spare = None
    _guarded = False

    def guard(self):
        """Return a snapshot of this state; the next write goes aside.

        Returns
        -------
        snapshot : OptimizerState
            Shares this state's arrays, which no later step writes into.
        """
        snapshot = replace(self)
        self._guarded = True
        return snapshot

    def write_targets(self):
        """The arrays the next step writes its new values into.

        The state's own arrays, or, after :meth:`guard`, its spare arrays
        (allocated on first use); pass them to :meth:`commit` after the step.

        Returns
        -------
        targets : tuple of array
        """
        current = self.arrays()
        if not self._guarded:
            return current
        if self._spare is None:
            self._spare = tuple(
                primitives_for(a).empty(a.shape, a.dtype) for a in current
            )
        return self._spare

    def commit(self, targets):
        """Make ``targets`` (from :meth:`write_targets`) the state's arrays."""
        if not self._guarded:
            return  # the step wrote in place
        current = self.arrays()
        for name, array in zip(self.array_fields, targets, strict=True):
            setattr(self, name, array)
        self._spare, self._guarded = current, False

    def writable(self):
        """Make the state's arrays safe to update in place, and return self.

        After :meth:`guard`, the arrays are first copied into the spare ones
        (the NumPy expressions and the per-example loop update in place).
        """
        if self._guarded:
            targets = self.write_targets()
            for target, array in zip(targets, self.arrays(), strict=True):
                target[...] = array
            self.commit(targets)
        return self

    def arrays(self):
        """The state's arrays, in ``array_fields`` order."""
        return tuple(getattr(self, name) for name in self.array_fields)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_spare", None)
        state.pop("_guarded", None)
        return state


class TransactionalStep:
    """The ``apply`` that SGD and Adam share: one guarded, transactional step.

    A subclass supplies only its update: ``update`` (the NumPy expressions),
    ``_kernel_name`` (the primitives' compiled step, e.g. ``"fused_sgd_step"``),
    ``_kernel_constants`` (the constants :func:`_fusable` checks) and
    ``_fused_update`` (the call of that kernel).
    """

    def apply(
        self, theta, grad, state, learning_rate, out=None, *, ops=NUMPY, penalty=None
    ):
        """Take one step: ``theta += update(...)``, state updated too.

        Where the primitives have the optimizer's compiled step, the L2 term,
        the state and ``theta`` are updated in one pass, bit for bit as
        :func:`add_penalty_gradient`, :meth:`update` and the addition would
        (``tests/test_kernels.py``).  A guarded state (see
        :class:`OptimizerState`) gets its new arrays aside, so that a step
        interrupted half-way leaves the snapshot intact.

        Parameters
        ----------
        theta, grad : ndarray of shape (n_params,)
            The parameters (updated in place) and the objective's gradient.
        state : OptimizerState
            The optimizer's state.
        learning_rate : float
            Current learning rate.
        out : ndarray of shape (n_params,), default=None
            Scratch for the NumPy expressions.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.
        penalty : tuple of (int, float), default=None
            ``(n_coefs, alpha / sum(sample_weight))``: the L2 term that
            ``grad`` still lacks on its first ``n_coefs`` entries (as
            :func:`skbp._network.loss_and_grad` returns it with
            ``defer_penalty``).

        Returns
        -------
        theta : ndarray of shape (n_params,)
            Updated in place.
        """
        constants = self._kernel_constants(learning_rate, penalty)
        kernel = _fused_step(getattr(ops, self._kernel_name), theta, grad, constants)
        if kernel is None:
            grad = add_penalty_gradient(grad, theta, penalty, ops, out)
            theta += self.update(grad, state.writable(), learning_rate, out, ops)
            return theta
        targets = state.write_targets()
        self._fused_update(
            kernel, theta, grad, state, targets, rate=learning_rate, penalty=penalty
        )
        state.commit(targets)
        return theta


@dataclass
class SGDState(OptimizerState):
    """Velocity of SGD with momentum.

    Parameters
    ----------
    velocity : ndarray of shape (n_params,)
        The last update.
    """

    velocity: np.ndarray
    array_fields: ClassVar[tuple] = ("velocity",)


@dataclass(frozen=True)
class SGD(TransactionalStep):
    """Stochastic gradient descent with (Nesterov) momentum.

    The update, with momentum :math:`\\mu` and learning rate :math:`\\eta`, is

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\Delta\\theta = v \\text{ (classical) or }
        \\mu v - \\eta g \\text{ (Nesterov)},

    which for :math:`\\mu = 0` is the plain gradient step
    :math:`\\Delta w = -\\eta\\, \\partial L / \\partial w` of the derivations
    (Liskowski eq. (6), Feng eq. (30)).

    Parameters
    ----------
    momentum : float
        Momentum :math:`\\mu` in [0, 1].
    nesterov : bool
        Whether to use Nesterov's momentum.
    """

    momentum: float = 0.9
    nesterov: bool = True
    state_type: ClassVar[type] = SGDState

    def init(self, theta):
        """Return the initial state for parameters shaped as ``theta``."""
        return SGDState(_zeros_like(theta))

    def update(self, grad, state, learning_rate, out=None, ops=NUMPY):
        """Return the step to add to the parameters; updates ``state`` in place.

        Parameters
        ----------
        grad : ndarray of shape (n_params,)
            Gradient of the objective.
        state : SGDState
            Optimizer state.
        learning_rate : float
            Current learning rate.
        out : ndarray of shape (n_params,), default=None
            Buffer for the step; allocated if ``None``.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.

        Returns
        -------
        step : ndarray of shape (n_params,)
            Without Nesterov momentum this is the state's own velocity array
            (no copy on the hot path): add it to the parameters before the
            next update.
        """
        scaled_grad = ops.multiply(grad, learning_rate, out=out)
        velocity = state.velocity
        velocity *= self.momentum
        velocity -= scaled_grad
        if not self.nesterov:
            return velocity
        # momentum * velocity - learning_rate * grad, written over scaled_grad
        return ops.subtract(self.momentum * velocity, scaled_grad, out=scaled_grad)

    _kernel_name: ClassVar[str] = "fused_sgd_step"

    def _kernel_constants(self, learning_rate, penalty):
        return (learning_rate, self.momentum, *_scale_of(penalty))

    def _fused_update(self, kernel, theta, grad, state, targets, *, rate, penalty):
        """The compiled step: L2 term, velocity into ``targets`` and ``theta``."""
        (velocity,) = targets
        kernel(
            theta,
            grad,
            state.velocity,
            velocity,
            rate,
            self.momentum,
            self.nesterov,
            *_penalty_arguments(penalty),
        )


@dataclass
class AdamState(OptimizerState):
    """Moment estimates and step count of Adam.

    Parameters
    ----------
    first_moment, second_moment : ndarray of shape (n_params,)
        Running averages of the gradient and of its square.
    n_steps : int
        Number of updates taken.
    """

    first_moment: np.ndarray
    second_moment: np.ndarray
    n_steps: int = field(default=0)
    array_fields: ClassVar[tuple] = ("first_moment", "second_moment")


@dataclass(frozen=True)
class Adam(TransactionalStep):
    """Adam (Kingma and Ba, 2014), as in scikit-learn's MLP.

    .. math::

        m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad
        v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\quad
        \\Delta\\theta = -\\eta \\frac{\\sqrt{1 - \\beta_2^t}}{1 - \\beta_1^t}
                         \\frac{m}{\\sqrt{v} + \\epsilon}.

    Parameters
    ----------
    beta_1, beta_2 : float
        Decay rates of the moment estimates, in [0, 1).
    epsilon : float
        Added to the denominator for numerical stability.
    """

    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    state_type: ClassVar[type] = AdamState

    def init(self, theta):
        """Return the initial state for parameters shaped as ``theta``."""
        return AdamState(_zeros_like(theta), _zeros_like(theta))

    def update(self, grad, state, learning_rate, out=None, ops=NUMPY):
        """Return the step to add to the parameters; updates ``state`` in place.

        Parameters
        ----------
        grad : ndarray of shape (n_params,)
            Gradient of the objective.
        state : AdamState
            Optimizer state.
        learning_rate : float
            Initial learning rate; the bias correction is applied here.
        out : ndarray of shape (n_params,), default=None
            Buffer for the step (and scratch space before that); allocated if
            ``None``.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.

        Returns
        -------
        step : ndarray of shape (n_params,)
        """
        state.n_steps += 1
        m, v = state.first_moment, state.second_moment
        # The same products and sums as beta_1 * m + (1 - beta_1) * grad (and
        # likewise for v), rounded alike, with ``out`` as the only scratch.
        scratch = ops.multiply(grad, 1 - self.beta_1, out=out)
        m *= self.beta_1
        m += scratch
        scratch = ops.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.beta_2
        v *= self.beta_2
        v += scratch
        corrected = self._corrected_rate(learning_rate, state.n_steps)
        if not ops.is_numpy:
            corrected = float(corrected)  # strict namespaces refuse NumPy scalars
        step = ops.sqrt(v, out=scratch)
        step += self.epsilon
        step = ops.divide(m, step, out=step)
        step *= -corrected
        return step

    def _corrected_rate(self, learning_rate, n_steps):
        """The bias-corrected step size of step ``n_steps`` (a NumPy float64)."""
        return (
            learning_rate
            * np.sqrt(1 - self.beta_2**n_steps)
            / (1 - self.beta_1**n_steps)
        )

    _kernel_name: ClassVar[str] = "fused_adam_step"

    def _kernel_constants(self, learning_rate, penalty):
        return (self.beta_1, self.beta_2, self.epsilon, *_scale_of(penalty))

    def _fused_update(self, kernel, theta, grad, state, targets, *, rate, penalty):
        """The compiled step: L2 term, moments into ``targets`` and ``theta``."""
        state.n_steps += 1
        corrected = self._corrected_rate(rate, state.n_steps)
        kernel(
            theta,
            grad,
            state.first_moment,
            state.second_moment,
            *targets,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            _kernel_rate(theta, corrected),
            *_penalty_arguments(penalty),
        )


def add_penalty_gradient(grad, theta, penalty, ops=NUMPY, scratch=None):
    """Add the L2 term to the weights' gradient, in place, and return ``grad``.

    ``grad[:n_coefs] += theta[:n_coefs] * scale``, the gradient part of
    :func:`skbp._network.add_penalty` (which calls this).

    Parameters
    ----------
    grad, theta : array of shape (n_params,)
        The gradient (updated) and the parameters.
    penalty : tuple of (int, float) or None
        ``(n_coefs, alpha / sum(sample_weight))``; None adds nothing.
    ops : primitives, default=NUMPY
        The array primitives of the arrays' namespace.
    scratch : array of shape (n_params,), default=None
        A buffer the scaled weights may be written into.

    Returns
    -------
    grad : array of shape (n_params,)
    """
    if penalty is None:
        return grad
    n_coefs, scale = penalty
    out = None if scratch is None else scratch[:n_coefs]
    grad[:n_coefs] += ops.multiply(theta[:n_coefs], scale, out=out)
    return grad


def _scale_of(penalty):
    """The penalty's scale as a constant for :func:`_fusable`, if any."""
    return () if penalty is None else (penalty[1],)


def _penalty_arguments(penalty):
    return () if penalty is None else penalty


def _fused_step(kernel, theta, grad, constants):
    """The optimizer's compiled step where it computes this update, else None.

    The one decision behind :meth:`SGD.apply` and :meth:`Adam.apply`.
    ``kernel`` is the primitives' ``fused_sgd_step`` or ``fused_adam_step``
    (None off NumPy, or where it was not built); it serves where
    :func:`_fusable` says that it rounds as the NumPy update would.
    """
    if kernel is None or not _fusable(theta, grad, constants):
        return None
    return kernel


def _fusable(theta, grad, constants):
    """Whether the compiled kernel computes what the NumPy update would.

    Vectors the kernels take (:func:`kernel_ready`); and in float32,
    constants that are Python numbers (or float32 scalars): NumPy rounds
    those to float32 first, as the kernel does, but multiplies by a NumPy
    float64 (a ``beta_1=np.float64(0.9)``) in float64, which the kernel does
    not.
    """
    return kernel_ready(theta, grad) and (
        theta.dtype == np.float64 or all(_in_float32(theta, c) for c in constants)
    )


def _in_float32(theta, constant):
    """Whether NumPy multiplies float32 ``theta`` by ``constant`` in float32.

    A float32 scalar, or a Python number; under NumPy 1's value-based casting
    only one that fits float32's range.  A NumPy float64 is refused even
    where NumPy 1 would keep an in-range one in float32: the NumPy path then
    runs, which is right under either promotion.
    """
    if type(constant) is theta.dtype.type:
        return True
    if type(constant) not in (float, int):
        return False
    return not _VALUE_BASED_CASTING or np.result_type(theta, constant) == theta.dtype


def _kernel_rate(theta, corrected):
    """The bias-corrected rate (a NumPy float64) as NumPy multiplies by it.

    The Adam kernel multiplies by it in double precision and rounds the
    product to ``theta``'s precision: NumPy 2's float64 product.  Where NumPy
    computes the product in float32 instead (value-based casting, NumPy 1),
    the rate is rounded to float32 first, as NumPy rounds it; the double
    product of two float32 values is then exact (24-bit significands), so its
    one rounding to float32 gives NumPy's float32 product bit for bit.
    """
    if _VALUE_BASED_CASTING and np.result_type(theta, corrected) != np.float64:
        return float(theta.dtype.type(corrected))
    return corrected
