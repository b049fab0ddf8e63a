"""Output layers: a link from raw output to prediction, composed with a loss.

The backward pass starts from the gradient of the loss with respect to the
*raw* (pre-link) output, and that gradient is owned by the output layer
(DESIGN.md, principle 3).  For the matched (canonical) pairs it simplifies to
``prediction - target``; for the sigmoid + squared-error pair of the classic
derivation it does not, and the chain rule through the link is applied:

.. math::

    \\delta_k = \\frac{\\partial L}{\\partial z_k}
              = \\frac{\\partial L}{\\partial a_k} \\frac{\\partial a_k}{\\partial z_k}
              = -(t_k - a_k)\\, a_k (1 - a_k),

which is equation (3) of Liskowski's "Derivation of Backpropagation
Algorithm for Feedforward Neural Networks" (obtained there from eqs. (7) and
(8)).  The canonical simplification for the logistic link with log-loss is
that paper's eq. (1): :math:`\\partial L / \\partial z = a - y`.

Every loss here is summed over the outputs of one sample and averaged over
samples (with sample weights), so that the gradient written by
:meth:`OutputLayer.gradient` is exactly the gradient of
:meth:`OutputLayer.loss`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from ._primitives import NUMPY, kernel_ready


def _identity(raw, out, ops=NUMPY):
    out[...] = raw
    return out


def _logistic(raw, out, ops=NUMPY):
    return ops.expit(raw, out=out)


def _exp(raw, out, ops=NUMPY):
    return ops.exp(raw, out=out)


def _softmax(raw, out, ops=NUMPY):
    kernel = ops.fused_softmax
    if kernel is not None and kernel_ready(raw, out):
        # One compiled pass per row (skbp/_kernels.pyx) instead of the five
        # NumPy calls below, to a few ulps of them.
        kernel(raw, out)
        return out
    out = ops.subtract(raw, ops.max(raw, axis=1, keepdims=True), out=out)
    out = ops.exp(out, out=out)
    out /= ops.sum(out, axis=1, keepdims=True)
    return out


def log_logistic(raw, ops=NUMPY):
    """Return ``log(expit(raw))`` computed without leaving log space.

    Parameters
    ----------
    raw : array
        Raw (pre-link) outputs.
    ops : primitives, default=NUMPY
        The array primitives of ``raw``'s namespace.

    Returns
    -------
    log_prob : array
        Finite for every finite input: ``-log(1 + exp(-raw))``.
    """
    return -ops.logaddexp0(-raw)


def logsumexp_rows(raw, ops=NUMPY):
    """Return ``log(sum(exp(raw), axis=1))``, shifted by the row maximum.

    A plain array version: scipy's ``logsumexp`` costs more in dispatch than
    in arithmetic at minibatch sizes.

    Parameters
    ----------
    raw : array of shape (n_samples, n_outputs)
        Raw (pre-link) outputs.
    ops : primitives, default=NUMPY
        The array primitives of ``raw``'s namespace.

    Returns
    -------
    lse : array of shape (n_samples, 1)
    """
    shift = ops.max(raw, axis=1, keepdims=True)
    return shift + ops.xp.log(ops.sum(ops.exp(raw - shift), axis=1, keepdims=True))


def log_softmax(raw, ops=NUMPY):
    """Return the logarithm of the row-wise softmax of ``raw``.

    Parameters
    ----------
    raw : array of shape (n_samples, n_outputs)
        Raw (pre-link) outputs.
    ops : primitives, default=NUMPY
        The array primitives of ``raw``'s namespace.

    Returns
    -------
    log_prob : array of shape (n_samples, n_outputs)
        ``raw - logsumexp(raw, axis=1)``, finite for every finite input.
    """
    return raw - logsumexp_rows(raw, ops)


def _half_squared_error(y, raw, prediction, ops=NUMPY):
    residual = prediction - y
    return 0.5 * ops.rowwise_dot(residual, residual)


def _binary_log_loss(y, raw, prediction, ops=NUMPY):
    # -y log(expit(z)) - (1 - y) log(1 - expit(z)) == log(1 + exp(z)) - y z
    return ops.sum(ops.logaddexp0(raw) - y * raw, axis=1)


def _multinomial_log_loss(y, raw, prediction, ops=NUMPY):
    # The log-normaliser of the softmax read off its own output: at the
    # largest unit log(p) = raw - lse, and there p >= 1 / n_outputs, so the
    # logarithm is accurate.  Two reductions instead of recomputing exp.
    lse = ops.max(raw, axis=1) - ops.xp.log(ops.max(prediction, axis=1))
    # dtype: boolean class indicators must not promote float32 losses.
    return lse * ops.sum(y, axis=1, dtype=raw.dtype) - ops.rowwise_dot(y, raw)


def _half_poisson_deviance(y, raw, prediction, ops=NUMPY):
    # y log(y / mu) - y + mu with mu = exp(z), written through z to stay finite
    return ops.sum(ops.xlogy(y, y) - y * raw - y + prediction, axis=1)


def _residual_gradient(y, raw, prediction, out, ops=NUMPY):
    return ops.subtract(prediction, y, out=out)


def _logistic_squared_error_gradient(y, raw, prediction, out, ops=NUMPY):
    out = ops.subtract(prediction, y, out=out)
    out *= prediction
    out *= 1 - prediction
    return out


@dataclass(frozen=True)
class OutputLayer:
    """The output units of a network: a link composed with a loss.

    Parameters
    ----------
    loss_name : str
        The name of the loss, as given to the estimators' ``loss`` parameter.
    link_name : str
        The name of the output activation (the estimators' ``out_activation_``).
    link : callable
        ``link(raw, out, ops=NUMPY)`` writes the prediction for the raw output
        into ``out`` and returns it; ``ops`` are the array primitives of the
        arrays' namespace (:mod:`skbp._primitives`).
    per_sample_loss : callable
        ``per_sample_loss(y, raw, prediction, ops=NUMPY)`` returns the loss of
        each sample, summed over outputs, of shape (n_samples,).
    raw_gradient : callable
        ``raw_gradient(y, raw, prediction, out, ops=NUMPY)`` writes the
        gradient of the per-sample loss with respect to the raw output into
        ``out`` and returns it.
    kernel_code : int, default=None
        Its code in the compiled ``output_delta_and_loss`` kernel
        (skbp/_kernels.pyx), for the pairs whose delta is ``prediction -
        y``; None where there is none.
    """

    loss_name: str
    link_name: str
    link: Callable
    per_sample_loss: Callable
    raw_gradient: Callable
    kernel_code: int = None

    def loss(self, y, raw, prediction, sample_weight=None, ops=NUMPY):
        """Return the (weighted) mean over samples of the per-sample loss.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Targets, encoded as the network's outputs.
        raw : ndarray of shape (n_samples, n_outputs)
            Raw (pre-link) outputs.
        prediction : ndarray of shape (n_samples, n_outputs)
            ``link(raw)``.
        sample_weight : ndarray of shape (n_samples,), default=None
            Sample weights; ``None`` weighs every sample by one.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.

        Returns
        -------
        loss : float or 0-d array
            A Python float for NumPy; a 0-d array left on the device for
            other namespaces, so that training syncs once per epoch.
        """
        per_sample = self.per_sample_loss(y, raw, prediction, ops)
        if sample_weight is None:
            return ops.scalar(ops.sum(per_sample)) / per_sample.shape[0]
        return ops.scalar(per_sample @ sample_weight / ops.sum(sample_weight))

    def gradient(self, y, raw, prediction, out, ops=NUMPY):
        """Write ``d per_sample_loss / d raw`` into ``out`` and return it.

        Parameters
        ----------
        y, raw, prediction : ndarray of shape (n_samples, n_outputs)
            As for :meth:`loss`.
        out : ndarray of shape (n_samples, n_outputs)
            Buffer for the output delta.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.

        Returns
        -------
        delta : ndarray of shape (n_samples, n_outputs)
        """
        return self.raw_gradient(y, raw, prediction, out, ops)


LINKS = {
    "identity": _identity,
    "logistic": _logistic,
    "softmax": _softmax,
    "exp": _exp,
}

_PAIRS = {
    ("squared_error", "identity"): (_half_squared_error, _residual_gradient),
    ("squared_error", "logistic"): (
        _half_squared_error,
        _logistic_squared_error_gradient,
    ),
    ("log_loss", "logistic"): (_binary_log_loss, _residual_gradient),
    ("log_loss", "softmax"): (_multinomial_log_loss, _residual_gradient),
    ("poisson", "exp"): (_half_poisson_deviance, _residual_gradient),
}

OUTPUT_LAYER_NAMES = tuple(_PAIRS)

_KERNEL_CODES = {
    ("log_loss", "softmax"): 0,
    ("log_loss", "logistic"): 1,
    ("squared_error", "identity"): 2,
}


def get_output_layer(loss_name, link_name):
    """Return the :class:`OutputLayer` for a loss and an output activation.

    Parameters
    ----------
    loss_name : {'squared_error', 'log_loss', 'poisson'}
        The loss.
    link_name : {'identity', 'logistic', 'softmax', 'exp'}
        The output activation.

    Returns
    -------
    output_layer : OutputLayer
    """
    per_sample_loss, raw_gradient = _PAIRS[loss_name, link_name]
    return OutputLayer(
        loss_name,
        link_name,
        LINKS[link_name],
        per_sample_loss,
        raw_gradient,
        _KERNEL_CODES.get((loss_name, link_name)),
    )
