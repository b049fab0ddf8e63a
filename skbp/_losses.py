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

import numpy as np
from scipy.special import expit, xlogy


def _identity(raw, out):
    out[...] = raw
    return out


def _logistic(raw, out):
    return expit(raw, out=out)


def _exp(raw, out):
    return np.exp(raw, out=out)


def _softmax(raw, out):
    np.subtract(raw, raw.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def log_logistic(raw):
    """Return ``log(expit(raw))`` computed without leaving log space.

    Parameters
    ----------
    raw : ndarray
        Raw (pre-link) outputs.

    Returns
    -------
    log_prob : ndarray
        Finite for every finite input: ``-log(1 + exp(-raw))``.
    """
    return -np.logaddexp(0, -raw)


def logsumexp_rows(raw):
    """Return ``log(sum(exp(raw), axis=1))``, shifted by the row maximum.

    A plain NumPy version: scipy's ``logsumexp`` costs more in dispatch than
    in arithmetic at minibatch sizes.

    Parameters
    ----------
    raw : ndarray of shape (n_samples, n_outputs)
        Raw (pre-link) outputs.

    Returns
    -------
    lse : ndarray of shape (n_samples, 1)
    """
    shift = raw.max(axis=1, keepdims=True)
    return shift + np.log(np.exp(raw - shift).sum(axis=1, keepdims=True))


def log_softmax(raw):
    """Return the logarithm of the row-wise softmax of ``raw``.

    Parameters
    ----------
    raw : ndarray of shape (n_samples, n_outputs)
        Raw (pre-link) outputs.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_outputs)
        ``raw - logsumexp(raw, axis=1)``, finite for every finite input.
    """
    return raw - logsumexp_rows(raw)


def _half_squared_error(y, raw, prediction):
    residual = prediction - y
    return 0.5 * np.einsum("ij,ij->i", residual, residual)


def _binary_log_loss(y, raw, prediction):
    # -y log(expit(z)) - (1 - y) log(1 - expit(z)) == log(1 + exp(z)) - y z
    return (np.logaddexp(0, raw) - y * raw).sum(axis=1)


def _multinomial_log_loss(y, raw, prediction):
    # The log-normaliser of the softmax read off its own output: at the
    # largest unit log(p) = raw - lse, and there p >= 1 / n_outputs, so the
    # logarithm is accurate.  Two reductions instead of recomputing exp.
    lse = raw.max(axis=1) - np.log(prediction.max(axis=1))
    # dtype: boolean class indicators must not promote float32 losses.
    return lse * y.sum(axis=1, dtype=raw.dtype) - np.einsum("ij,ij->i", y, raw)


def _half_poisson_deviance(y, raw, prediction):
    # y log(y / mu) - y + mu with mu = exp(z), written through z to stay finite
    return (xlogy(y, y) - y * raw - y + prediction).sum(axis=1)


def _residual_gradient(y, raw, prediction, out):
    return np.subtract(prediction, y, out=out)


def _logistic_squared_error_gradient(y, raw, prediction, out):
    np.subtract(prediction, y, out=out)
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
        ``link(raw, out)`` writes the prediction for the raw output into ``out``.
    per_sample_loss : callable
        ``per_sample_loss(y, raw, prediction)`` returns the loss of each sample,
        summed over outputs, of shape (n_samples,).
    raw_gradient : callable
        ``raw_gradient(y, raw, prediction, out)`` writes the gradient of the
        per-sample loss with respect to the raw output into ``out``.
    """

    loss_name: str
    link_name: str
    link: Callable
    per_sample_loss: Callable
    raw_gradient: Callable

    def loss(self, y, raw, prediction, sample_weight=None):
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

        Returns
        -------
        loss : float
        """
        per_sample = self.per_sample_loss(y, raw, prediction)
        if sample_weight is None:
            return float(per_sample.sum()) / per_sample.shape[0]
        return float(per_sample @ sample_weight / sample_weight.sum())

    def gradient(self, y, raw, prediction, out):
        """Write ``d per_sample_loss / d raw`` into ``out`` and return it.

        Parameters
        ----------
        y, raw, prediction : ndarray of shape (n_samples, n_outputs)
            As for :meth:`loss`.
        out : ndarray of shape (n_samples, n_outputs)
            Buffer for the output delta.

        Returns
        -------
        delta : ndarray of shape (n_samples, n_outputs)
        """
        return self.raw_gradient(y, raw, prediction, out)


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
        loss_name, link_name, LINKS[link_name], per_sample_loss, raw_gradient
    )
