"""Hidden-layer activations: the value in place, the derivative from the output.

Each activation keeps its forward function and its derivative side by side
(DESIGN.md, principle 4).  The derivative is expressed through the stored
*output* ``a = f(z)`` rather than the input ``z``, so the forward pass only
has to keep the activations that the backward pass needs anyway:

.. math::

    \\sigma'(z) = a (1 - a), \\qquad \\tanh'(z) = 1 - a^2, \\qquad
    \\mathrm{relu}'(z) = [a > 0], \\qquad \\mathrm{id}'(z) = 1.

The logistic form is equation (5) of the seed "Backpropagation Derivation"
(and the :math:`a(1 - a)` factor of eqs. (3)-(4) in Liskowski's derivation).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit


def _identity(z):
    return z


def _identity_derivative(activation, delta):
    return delta


def _logistic(z):
    return expit(z, out=z)


def _logistic_derivative(activation, delta):
    delta *= activation
    delta *= 1 - activation
    return delta


def _tanh(z):
    return np.tanh(z, out=z)


def _tanh_derivative(activation, delta):
    delta *= 1 - activation**2
    return delta


def _relu(z):
    return np.maximum(z, 0, out=z)


def _relu_derivative(activation, delta):
    # Multiplying by the boolean mask is several times faster than assigning
    # through it (delta[activation <= 0] = 0).
    return np.multiply(delta, activation > 0, out=delta)


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative.

    Parameters
    ----------
    name : str
        The name used by the ``activation`` parameter of the estimators.
    forward : callable
        ``forward(z)`` overwrites the pre-activation ``z`` with ``f(z)`` and
        returns it.
    multiply_derivative : callable
        ``multiply_derivative(a, delta)`` multiplies ``delta`` in place by
        ``f'(z)``, computed from the stored output ``a = f(z)``, and returns it.
    """

    name: str
    forward: Callable
    multiply_derivative: Callable


ACTIVATIONS = {
    "identity": Activation("identity", _identity, _identity_derivative),
    "logistic": Activation("logistic", _logistic, _logistic_derivative),
    "tanh": Activation("tanh", _tanh, _tanh_derivative),
    "relu": Activation("relu", _relu, _relu_derivative),
}
