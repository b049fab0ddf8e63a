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

from ._primitives import NUMPY


def _identity(z, ops=NUMPY):
    return z


def _identity_derivative(activation, delta, ops=NUMPY):
    return delta


def _logistic(z, ops=NUMPY):
    return ops.expit(z, out=z)


def _logistic_derivative(activation, delta, ops=NUMPY):
    delta *= activation
    delta *= 1 - activation
    return delta


def _tanh(z, ops=NUMPY):
    return ops.tanh(z, out=z)


def _tanh_derivative(activation, delta, ops=NUMPY):
    delta *= 1 - activation**2
    return delta


def _relu(z, ops=NUMPY):
    return ops.maximum(z, 0.0, out=z)


def _relu_derivative(activation, delta, ops=NUMPY):
    return ops.mask_positive(delta, activation)


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative.

    Parameters
    ----------
    name : str
        The name used by the ``activation`` parameter of the estimators.
    forward : callable
        ``forward(z, ops=NUMPY)`` overwrites the pre-activation ``z`` with
        ``f(z)`` and returns it (use the result: a namespace without ``out=``
        returns a new array); ``ops`` are the array primitives of ``z``'s
        namespace (:mod:`skbp._primitives`).
    multiply_derivative : callable
        ``multiply_derivative(a, delta, ops=NUMPY)`` multiplies ``delta`` in
        place by ``f'(z)``, computed from the stored output ``a = f(z)``, and
        returns it.
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
