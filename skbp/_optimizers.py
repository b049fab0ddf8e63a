"""Stochastic optimizers as small state machines on one flat vector.

``init(theta) -> state`` and ``update(grad, state, learning_rate) -> step``;
the caller adds the step to ``theta``.  No printing, no stopping logic, no
learning-rate schedule (DESIGN.md, principle 8).  The arithmetic follows
scikit-learn's ``_stochastic_optimizers`` step for step, so that the same
gradients give the same updates.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ._primitives import NUMPY, primitives_for


def _zeros_like(theta):
    """Zeros of ``theta``'s shape, dtype, namespace and device."""
    return primitives_for(theta).zeros(theta.shape, theta.dtype)


@dataclass
class SGDState:
    """Velocity of SGD with momentum.

    Parameters
    ----------
    velocity : ndarray of shape (n_params,)
        The last update.
    """

    velocity: np.ndarray


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with (Nesterov) momentum.

    The update, with momentum :math:`\\mu` and learning rate :math:`\\eta`, is

    .. math::

        v \\leftarrow \\mu v - \\eta g, \\qquad
        \\Delta\\theta = v \\text{ (classical) or }
        \\mu v - \\eta g \\text{ (Nesterov)},

    which for :math:`\\mu = 0` is the plain gradient step
    :math:`\\Delta w = -\\eta\\, \\partial L / \\partial w` of the seeds
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

    def apply(self, theta, grad, state, learning_rate, out=None, ops=NUMPY):
        """Take one step: ``theta += update(...)``, state updated too.

        Where the primitives have a compiled ``fused_sgd_step``, the velocity
        and ``theta`` are updated in one pass, bit for bit as :meth:`update`
        and the addition would (``tests/test_kernels.py``).

        Returns
        -------
        theta : ndarray of shape (n_params,)
            Updated in place.
        """
        kernel = ops.fused_sgd_step
        if kernel is None or not _fusable(theta, grad, (learning_rate, self.momentum)):
            return _apply_step(self, theta, grad, state, learning_rate, out, ops)
        kernel(theta, grad, state.velocity, learning_rate, self.momentum, self.nesterov)
        return theta


def _apply_step(optimizer, theta, grad, state, learning_rate, out, ops):
    """``theta += optimizer.update(...)``: the plain form of ``apply``."""
    theta += optimizer.update(grad, state, learning_rate, out, ops)
    return theta


@dataclass
class AdamState:
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


@dataclass(frozen=True)
class Adam:
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

    def apply(self, theta, grad, state, learning_rate, out=None, ops=NUMPY):
        """Take one step: ``theta += update(...)``, state updated too.

        Where the primitives have a compiled ``fused_adam_step``, the moments
        and ``theta`` are updated in one pass, bit for bit as :meth:`update`
        and the addition would (``tests/test_kernels.py``).

        Returns
        -------
        theta : ndarray of shape (n_params,)
            Updated in place.
        """
        kernel = ops.fused_adam_step
        constants = (self.beta_1, self.beta_2, self.epsilon)
        if kernel is None or not _fusable(theta, grad, constants):
            return _apply_step(self, theta, grad, state, learning_rate, out, ops)
        state.n_steps += 1
        corrected = self._corrected_rate(learning_rate, state.n_steps)
        kernel(
            theta,
            grad,
            state.first_moment,
            state.second_moment,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            corrected,
        )
        return theta


def _fusable(theta, grad, constants):
    """Whether the compiled kernel computes what the NumPy update would.

    One float dtype, contiguous vectors; and in float32, constants that are
    Python numbers: NumPy rounds those to float32 first, as the kernel does,
    but multiplies by a NumPy float64 (a ``beta_1=np.float64(0.9)``) in
    float64, which the kernel does not.
    """
    return (
        theta.dtype == grad.dtype
        and theta.dtype.kind == "f"
        and theta.flags.c_contiguous
        and grad.flags.c_contiguous
        and (
            theta.dtype == np.float64 or all(type(c) in (float, int) for c in constants)
        )
    )
