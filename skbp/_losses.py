"""Output layers: a link from raw output to prediction, composed with a loss.

The backward pass starts from the gradient of the loss with respect to the
*raw* (pre-link) output, and that gradient is owned by the output layer
(design principle 3).  For the matched (canonical) pairs it simplifies to
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
:meth:`OutputLayer.loss`.  Where a loss has a kink (absolute error and the
pinball loss of 'quantile', at a zero residual), the gradient there is the
subgradient of least norm, 0.

The parameters of a loss ('quantile' its quantile, 'huber' its threshold)
are bound into its functions by :class:`WithParameters`, which compares by
value, so that two output layers of the same loss and parameters are equal.

Each :class:`OutputLayer` carries its code in the compiled kernels
(:mod:`skbp._kernel_codes`), and :meth:`OutputLayer.delta_and_loss` is the
one place that hands the output delta and the loss to a kernel; the softmax
link's kernel is chosen by :func:`softmax_kernel`, for the link and for
``predict_proba`` alike.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._kernel_codes import OUTPUT_DELTA_CODES, OutputCode
from ._primitives import NUMPY, kernel_ready


def _identity(raw, out, ops=NUMPY):
    out[...] = raw
    return out


def _logistic(raw, out, ops=NUMPY):
    return ops.expit(raw, out=out)


def _exp(raw, out, ops=NUMPY):
    return ops.exp(raw, out=out)


def softmax_kernel(raw, out, ops=NUMPY):
    """The compiled row-wise softmax where it takes ``raw`` and ``out``, else None.

    ``softmax_rows`` of skbp/_kernels.pyx: one pass per row instead of the
    five NumPy calls of the softmax link, to a few units in the last place
    of them; it also reads infinite raw outputs as the largest float
    (:func:`skbp._guards.finite_raw`) and clips to bounds it is given.

    Parameters
    ----------
    raw, out : array of shape (n_samples, n_outputs)
        The raw outputs and where the probabilities go (may be ``raw``).
    ops : primitives, default=NUMPY
        The array primitives of the arrays' namespace.

    Returns
    -------
    kernel : callable or None
        ``kernel(raw, out, lowest=-inf, highest=inf)``.
    """
    kernel = ops.fused_softmax
    if kernel is None or not kernel_ready(raw, out):
        return None
    return kernel


def _softmax(raw, out, ops=NUMPY):
    kernel = softmax_kernel(raw, out, ops)
    if kernel is not None:
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


def _absolute_error(y, raw, prediction, ops=NUMPY):
    return ops.sum(ops.abs(prediction - y), axis=1)


def _pinball_loss(y, raw, prediction, ops=NUMPY, *, quantile):
    # q max(y - f, 0) + (1 - q) max(f - y, 0) == max(f - y, 0) - q (f - y)
    residual = prediction - y
    return ops.sum(ops.maximum(residual, 0.0) - quantile * residual, axis=1)


def _huber_loss(y, raw, prediction, ops=NUMPY, *, huber_delta):
    # With m = min(|r|, delta), m (|r| - m / 2) is r^2 / 2 where |r| <= delta
    # and delta (|r| - delta / 2) beyond: one expression, no branch.
    size = ops.abs(prediction - y)
    inside = ops.clip(size, 0.0, huber_delta)
    return ops.rowwise_dot(inside, size - 0.5 * inside)


def _residual_gradient(y, raw, prediction, out, ops=NUMPY):
    return ops.subtract(prediction, y, out=out)


def _sign_gradient(y, raw, prediction, out, ops=NUMPY):
    # sign(0) == 0: the subgradient of least norm at the kink.
    out = ops.subtract(prediction, y, out=out)
    return ops.sign(out, out=out)


def _pinball_gradient(y, raw, prediction, out, ops=NUMPY, *, quantile):
    # 1 - q above the target, -q below, and 0 (sign(0)), the subgradient of
    # least norm in [-q, 1 - q], on it; multiplying by the sign keeps the
    # slopes exact.
    out = ops.subtract(prediction, y, out=out)
    slope = ops.select(out > 0, 1.0 - quantile, quantile, out)
    out = ops.sign(out, out=out)
    return ops.multiply(out, slope, out=out)


def _huber_gradient(y, raw, prediction, out, ops=NUMPY, *, huber_delta):
    out = ops.subtract(prediction, y, out=out)
    return ops.clip(out, -huber_delta, huber_delta, out=out)


def _logistic_squared_error_gradient(y, raw, prediction, out, ops=NUMPY):
    out = ops.subtract(prediction, y, out=out)
    out *= prediction
    out *= 1 - prediction
    return out


@dataclass(frozen=True)
class WithParameters:
    """A loss function (or its gradient) with the loss's parameters bound.

    A :func:`functools.partial` that compares by value (two partials of
    equal arguments are not equal), so that output layers built twice with
    the same parameters are equal, and that pickles as a reference to the
    function and its plain parameters.

    Parameters
    ----------
    function : callable
        A per-sample loss or raw gradient of :mod:`skbp._losses`, whose loss
        parameters are keyword-only.
    parameters : tuple of (str, float)
        The loss parameters, by name, sorted.
    """

    function: Callable
    parameters: tuple

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs, **dict(self.parameters))


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
    kernel_code : OutputCode, default=None
        Its code in the compiled kernels (:mod:`skbp._kernel_codes`), which
        compute what ``link``, ``per_sample_loss`` and ``raw_gradient`` do;
        None where no kernel computes it.
    parameters : tuple of (str, float), default=()
        The loss's parameters by name, sorted (``(('quantile', 0.9),)``),
        already bound into ``per_sample_loss`` and ``raw_gradient``; empty
        for a loss without parameters.
    """

    loss_name: str
    link_name: str
    link: Callable
    per_sample_loss: Callable
    raw_gradient: Callable
    kernel_code: OutputCode = None
    parameters: tuple = ()

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

    def delta_and_loss(
        self, y, raw, prediction, sample_weight, weight_sum, out, ops=NUMPY, *, block
    ):
        """Write the weighted output delta into ``out``; return the loss.

        The delta is :meth:`gradient` times ``sample_weight / weight_sum``
        (``1 / weight_sum`` without weights), the loss :meth:`loss`, or for
        a ``block`` its share ``sum(w_i L_i) / weight_sum`` of the loss of
        all the rows.  The compiled ``output_delta_and_loss`` computes both
        in one pass where it computes this output layer
        (``OUTPUT_DELTA_CODES``) and takes the arrays: the delta bit for
        bit, the loss to rounding (summed in another order).

        Parameters
        ----------
        y, raw, prediction : ndarray of shape (n_samples, n_outputs)
            As for :meth:`loss`.
        sample_weight : ndarray of shape (n_samples,) or None
            Sample weights; ``None`` weighs every sample by one.
        weight_sum : float or 0-d array
            The total weight of the objective's rows: these rows' own, or
            that of all the rows they are a block of.
        out : ndarray of shape (n_samples, n_outputs)
            Buffer for the output delta.
        ops : primitives, default=NUMPY
            The array primitives of the arrays' namespace.
        block : bool
            Whether the rows are a block of the objective's rows
            (``weight_sum`` is then more than theirs).

        Returns
        -------
        loss : float or 0-d array
            The weighted mean loss of these rows, as :meth:`loss` returns it;
            for a ``block``, its share of the loss of all the rows.
        """
        if (
            self.kernel_code in OUTPUT_DELTA_CODES
            and (kernel := ops.fused_output) is not None
            and _output_kernel_takes(y, prediction, sample_weight)
        ):
            target = y.view(np.uint8) if y.dtype == bool else y
            return kernel(
                prediction,
                raw,
                target,
                sample_weight,
                weight_sum,
                out,
                self.kernel_code,
            )
        delta = self.gradient(y, raw, prediction, out, ops)
        if sample_weight is None:
            delta /= weight_sum
        else:
            delta *= (sample_weight / weight_sum)[:, None]
        if not block:
            return self.loss(y, raw, prediction, sample_weight, ops)
        # The block's share, sum(w_i L_i) / weight_sum, as the kernel returns
        # it: summed rather than averaged over the block and scaled back, so
        # that a block whose rows all weigh nothing adds 0, not 0 / 0.
        per_sample = self.per_sample_loss(y, raw, prediction, ops)
        if sample_weight is not None:
            return ops.scalar(per_sample @ sample_weight) / weight_sum
        return ops.scalar(ops.sum(per_sample)) / weight_sum


def _output_kernel_takes(y, prediction, sample_weight):
    """Whether ``output_delta_and_loss`` takes these arrays as they are.

    The predictions (with the weights, where given) of one floating dtype,
    and the targets of that dtype too, or boolean class indicators, which it
    reads as bytes.
    """
    if not (
        kernel_ready(prediction)
        if sample_weight is None
        else kernel_ready(prediction, sample_weight)
    ):
        return False
    if type(y) is np.ndarray and y.dtype == bool and y.flags.c_contiguous:
        return True
    return kernel_ready(prediction, y)


LINKS = {
    "identity": _identity,
    "logistic": _logistic,
    "softmax": _softmax,
    "exp": _exp,
}

# (loss, link): the per-sample loss, its raw gradient, and the pair's code
# in the compiled kernels.
_PAIRS = {
    ("squared_error", "identity"): (
        _half_squared_error,
        _residual_gradient,
        OutputCode.IDENTITY_SQUARED_ERROR,
    ),
    ("squared_error", "logistic"): (
        _half_squared_error,
        _logistic_squared_error_gradient,
        OutputCode.LOGISTIC_SQUARED_ERROR,
    ),
    ("log_loss", "logistic"): (
        _binary_log_loss,
        _residual_gradient,
        OutputCode.LOGISTIC_LOG_LOSS,
    ),
    ("log_loss", "softmax"): (
        _multinomial_log_loss,
        _residual_gradient,
        OutputCode.SOFTMAX_LOG_LOSS,
    ),
    ("poisson", "exp"): (
        _half_poisson_deviance,
        _residual_gradient,
        OutputCode.EXP_POISSON,
    ),
    # No kernel code: the compiled loops do not compute these; NumPy does.
    ("absolute_error", "identity"): (_absolute_error, _sign_gradient, None),
    ("huber", "identity"): (_huber_loss, _huber_gradient, None),
    ("quantile", "identity"): (_pinball_loss, _pinball_gradient, None),
}

OUTPUT_LAYER_NAMES = tuple(_PAIRS)

# The parameters of the losses that have some, with their defaults (the
# estimators' defaults too).
LOSS_PARAMETERS = {
    "huber": {"huber_delta": 1.0},
    "quantile": {"quantile": 0.5},
}


def get_output_layer(loss_name, link_name, **parameters):
    """Return the :class:`OutputLayer` for a loss and an output activation.

    Parameters
    ----------
    loss_name : {'squared_error', 'log_loss', 'poisson', 'absolute_error', \
            'huber', 'quantile'}
        The loss.
    link_name : {'identity', 'logistic', 'softmax', 'exp'}
        The output activation.
    **parameters : float
        The loss's parameters (``LOSS_PARAMETERS``): ``quantile`` for
        'quantile', ``huber_delta`` for 'huber'; those not given take their
        defaults.  Validated by the estimators, not here.

    Returns
    -------
    output_layer : OutputLayer

    Raises
    ------
    TypeError
        If a parameter is not one of the loss's.
    """
    per_sample_loss, raw_gradient, code = _PAIRS[loss_name, link_name]
    defaults = LOSS_PARAMETERS.get(loss_name, {})
    unknown = sorted(set(parameters) - set(defaults))
    if unknown:
        raise TypeError(
            f"loss={loss_name!r} takes the parameters {sorted(defaults)}, "
            f"not {unknown}."
        )
    # Plain floats, sorted by name: equal parameters give equal layers, and
    # the pickled record of the network stays plain data.
    values = {**defaults, **parameters}
    bound = tuple(sorted((name, float(value)) for name, value in values.items()))
    if bound:
        per_sample_loss = WithParameters(per_sample_loss, bound)
        raw_gradient = WithParameters(raw_gradient, bound)
    return OutputLayer(
        loss_name,
        link_name,
        LINKS[link_name],
        per_sample_loss,
        raw_gradient,
        code,
        bound,
    )
