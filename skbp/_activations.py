"""Hidden-layer activations: each value beside its derivative.

Each activation keeps its forward function and its derivative side by side
(design principle 4).  Where it can, the derivative is expressed through
the stored *output* ``a = f(z)``, so the forward pass only has to keep the
activations that the backward pass needs anyway:

.. math::

    \\sigma'(z) = a (1 - a), \\qquad \\tanh'(z) = 1 - a^2, \\qquad
    \\mathrm{relu}'(z) = [a > 0], \\qquad \\mathrm{id}'(z) = 1,

    \\mathrm{leaky}'(z) = [a > 0] + s [a \\le 0], \\qquad
    \\mathrm{elu}'(z) = [a > 0] + (a + \\alpha) [a \\le 0], \\qquad
    \\mathrm{softplus}'(z) = 1 - e^{-a},

with the leaky ReLU's slope :math:`s = 0.01` and the ELU's :math:`\\alpha = 1`
(``LEAKY_RELU_SLOPE`` and ``ELU_ALPHA`` of :mod:`skbp._kernel_codes`, which
the compiled kernels and the ONNX converter read too).

The logistic form is equation (5) of the seed "Backpropagation Derivation"
(and the :math:`a(1 - a)` factor of eqs. (3)-(4) in Liskowski's derivation).

Each :class:`Activation` carries its code in the compiled kernels and hands
a layer's pass to them where they take it: its
:meth:`~Activation.add_bias_and_activate` and
:meth:`~Activation.apply_derivative` are the one place that decides.

GELU and SiLU are not monotonic, so their output does not determine their
input: their derivative is computed from the pre-activation ``z``, which
their ``forward`` leaves in place (``derivative_needs_input``):

.. math::

    \\mathrm{gelu}(z) = z\\,\\Phi(z) = \\tfrac{z}{2}\\left(1 +
    \\mathrm{erf}(z / \\sqrt 2)\\right), \\qquad
    \\mathrm{gelu}'(z) = \\Phi(z) + z\\,\\varphi(z),

    \\mathrm{silu}(z) = z\\,\\sigma(z), \\qquad
    \\mathrm{silu}'(z) = \\sigma(z)\\left(1 + z (1 - \\sigma(z))\\right).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from ._kernel_codes import (
    BIAS_ACTIVATION_CODES,
    DERIVATIVE_CODES,
    ELU_ALPHA,
    LEAKY_RELU_SLOPE,
    ActivationCode,
)
from ._primitives import NUMPY, kernel_ready


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


def _leaky_relu(z, ops=NUMPY):
    return ops.maximum(z, ops.multiply(z, LEAKY_RELU_SLOPE), out=z)


def _leaky_relu_derivative(activation, delta, ops=NUMPY):
    delta *= ops.select(activation > 0, 1.0, LEAKY_RELU_SLOPE, like=delta)
    return delta


def _elu(z, ops=NUMPY):
    # expm1 of the negative part only: no overflow for large positive z.
    negative_part = ops.xp.expm1(ops.clip(z, -math.inf, 0.0))
    if ELU_ALPHA != 1.0:
        # A product by one changes nothing, and its pass would cost a tenth
        # of this function on a small layer.
        negative_part *= ELU_ALPHA
    return ops.select(z > 0, z, negative_part, like=z)


def _elu_derivative(activation, delta, ops=NUMPY):
    delta *= ops.select(activation > 0, 1.0, activation + ELU_ALPHA, like=delta)
    return delta


def _softplus(z, ops=NUMPY):
    return ops.logaddexp0(z)


def _softplus_derivative(activation, delta, ops=NUMPY):
    # sigma(z) = 1 - exp(-a); -expm1(-a) keeps it accurate where a is tiny.
    delta *= -ops.xp.expm1(-activation)
    return delta


def _normal_cdf(z, ops):
    # erfc(-x) rather than 1 + erf(x): no cancellation where Phi(z) is tiny.
    return 0.5 * ops.erfc(-z * _SQRT_HALF)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu(z, ops=NUMPY):
    return z * _normal_cdf(z, ops)


def _gelu_derivative(activation, delta, ops=NUMPY, z=None):
    density = ops.exp(-0.5 * z * z) * _INV_SQRT_2PI
    delta *= _normal_cdf(z, ops) + z * density
    return delta


def _silu(z, ops=NUMPY):
    return z * ops.expit(z)


def _silu_derivative(activation, delta, ops=NUMPY, z=None):
    sigmoid = ops.expit(z)
    delta *= sigmoid * (1.0 + z * (1.0 - sigmoid))
    return delta


@dataclass(frozen=True)
class Activation:
    """An activation function with its derivative.

    Parameters
    ----------
    name : str
        The name used by the ``activation`` parameter of the estimators.
    forward : callable
        ``forward(z, ops=NUMPY)`` returns ``f(z)``; it may overwrite the
        pre-activation ``z`` with it (use the result), except where
        ``derivative_needs_input``, where ``z`` is left as it was; ``ops``
        are the array primitives of ``z``'s namespace
        (:mod:`skbp._primitives`).
    multiply_derivative : callable
        ``multiply_derivative(a, delta, ops=NUMPY)`` multiplies ``delta`` in
        place by ``f'(z)``, computed from the stored output ``a = f(z)``, and
        returns it; with ``derivative_needs_input`` it takes ``z=`` too.
    derivative_needs_input : bool, default=False
        Whether the derivative needs the pre-activation ``z``.
    kernel_code : ActivationCode, default=None
        Its code in the compiled kernels (:mod:`skbp._kernel_codes`), which
        compute what ``forward`` and ``multiply_derivative`` do; None where
        no kernel computes it.  An activation whose ``forward`` or
        ``multiply_derivative`` is replaced needs None: the kernels would
        compute the original.
    """

    name: str
    forward: Callable
    multiply_derivative: Callable
    derivative_needs_input: bool = False
    kernel_code: ActivationCode = None

    def add_bias_and_activate(self, z, bias, ops=NUMPY):
        """Return ``forward(z + bias)``, ``z`` overwritten.

        The compiled ``bias_activation`` takes both in one pass where it
        computes this activation (``BIAS_ACTIVATION_CODES``) and takes the
        arrays (:func:`~skbp._primitives.kernel_ready`), bit for bit the two
        passes it replaces (``tests/test_kernels.py``).

        Parameters
        ----------
        z : array of shape (n_samples, n_units)
            The layer's product ``a @ W``; overwritten.
        bias : array of shape (n_units,)
            The layer's bias.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.

        Returns
        -------
        output : array of shape (n_samples, n_units)
        """
        # The code first: the cheapest test, and it rules out most activations.
        if (
            self.kernel_code in BIAS_ACTIVATION_CODES
            and (kernel := ops.fused_bias_activation) is not None
            and z.ndim == 2
            and kernel_ready(z, bias)
        ):
            kernel(z, bias, self.kernel_code)
            return z
        z += bias
        return self.forward(z, ops)

    def apply_derivative(self, output, delta, ops=NUMPY, z=None):
        """Multiply ``delta`` in place by ``f'(z)`` and return it.

        The compiled ``multiply_derivative`` takes the pass where it computes
        this activation's derivative (``DERIVATIVE_CODES``) and takes the
        arrays, bit for bit :attr:`multiply_derivative`, which runs
        everywhere else.

        Parameters
        ----------
        output : array of shape (n_samples, n_units)
            The layer's output ``a = f(z)``.
        delta : array of shape (n_samples, n_units)
            The delta arriving at the layer's output; overwritten.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.
        z : array of shape (n_samples, n_units), default=None
            The pre-activation, for an activation whose derivative needs it.

        Returns
        -------
        delta : array of shape (n_samples, n_units)
        """
        if self.derivative_needs_input:
            return self.multiply_derivative(output, delta, ops, z=z)
        if (
            self.kernel_code in DERIVATIVE_CODES
            and (kernel := ops.fused_derivative) is not None
            and kernel_ready(delta, output)
        ):
            kernel(delta, output, self.kernel_code)
            return delta
        return self.multiply_derivative(output, delta, ops)


ACTIVATIONS = {
    "identity": Activation(
        "identity", _identity, _identity_derivative, kernel_code=ActivationCode.IDENTITY
    ),
    "logistic": Activation(
        "logistic", _logistic, _logistic_derivative, kernel_code=ActivationCode.LOGISTIC
    ),
    "tanh": Activation(
        "tanh", _tanh, _tanh_derivative, kernel_code=ActivationCode.TANH
    ),
    "relu": Activation(
        "relu", _relu, _relu_derivative, kernel_code=ActivationCode.RELU
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        _leaky_relu,
        _leaky_relu_derivative,
        kernel_code=ActivationCode.LEAKY_RELU,
    ),
    "elu": Activation("elu", _elu, _elu_derivative, kernel_code=ActivationCode.ELU),
    # No kernel computes GELU or SiLU.
    "gelu": Activation("gelu", _gelu, _gelu_derivative, derivative_needs_input=True),
    "silu": Activation("silu", _silu, _silu_derivative, derivative_needs_input=True),
    "softplus": Activation(
        "softplus", _softplus, _softplus_derivative, kernel_code=ActivationCode.SOFTPLUS
    ),
}
