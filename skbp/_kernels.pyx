# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled kernels behind the NumPy primitives (design principle 7).

Each kernel fuses passes that the NumPy path makes one ufunc at a time, in
the same arithmetic, operation for operation and in the same precision, so
that its result is bit for bit the NumPy expression's (built without
fast-math and without contracting products into fused multiply-adds; see
setup.py).  Two results are not: the loss of ``output_delta_and_loss``
(summed in another order, with the C library's ``log``) and the
probabilities of ``softmax_rows`` (the C library's ``exp``, the row sum in
order), which agree with NumPy's to rounding, a few units in the last place.
``tests/test_kernels.py`` compares them.

Every kernel refuses, with a TypeError or a ValueError, what it cannot
compute: None for an array, arrays of another dtype, shape or length than
it needs, and a code it does not implement (the codes are those of
skbp/_kernel_codes.py).  The checks cost O(1) per call.
"""

from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport INFINITY, exp, log, sqrt, sqrtf

from ._elementwise cimport floating, logaddexp0, sgd_element
from ._kernel_codes cimport (
    IDENTITY,
    IDENTITY_SQUARED_ERROR,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    LOGISTIC_LOG_LOSS,
    RELU,
    SOFTMAX_LOG_LOSS,
    kernel_codes,
)

# The codes and constants this module was compiled with (the generated
# skbp/_kernel_codes.pxd), for tests/test_kernel_codes.py to compare with
# skbp._kernel_codes.declaration().
KERNEL_CODES = kernel_codes()


# The refusals build their message only when they raise: the checks before
# them are a few integer comparisons, on the hot path of every batch.
cdef int _refuse_lengths(str kernel, str names, Py_ssize_t n, tuple lengths) except -1:
    """Raise the ValueError for vectors that are not all ``theta``'s length."""
    raise ValueError(
        f"{kernel}: {names} must all have theta's {n} entries; got {lengths}."
    )


cdef int _refuse_code(str kernel, int code, str implemented) except -1:
    raise ValueError(
        f"{kernel} has no {implemented} of code {code} (skbp._kernel_codes)."
    )


cdef int _refuse_shapes(str kernel, str names, tuple shapes) except -1:
    """Raise the ValueError for matrices that are not all one shape, or empty."""
    raise ValueError(
        f"{kernel}: {names} must be of one shape, with at least one column; "
        f"got {', '.join([f'{rows} x {columns}' for rows, columns in shapes])}."
    )


cdef inline void _adam_range(
    floating* theta,
    const floating* grad,
    const floating* first_moment,
    const floating* second_moment,
    floating* first_moment_out,
    floating* second_moment_out,
    Py_ssize_t start,
    Py_ssize_t stop,
    bint penalised,
    floating scale,
    floating b1,
    floating b2,
    floating one_minus_b1,
    floating one_minus_b2,
    floating eps,
    double corrected,
) noexcept nogil:
    """Adam on ``[start, stop)``; ``penalised`` adds ``theta * scale`` first."""
    cdef Py_ssize_t i
    cdef floating g, m, v, scaled, root, ratio
    for i in range(start, stop):
        g = grad[i]
        if penalised:
            g = g + theta[i] * scale
        scaled = g * one_minus_b1
        m = first_moment[i] * b1
        m = m + scaled
        first_moment_out[i] = m
        scaled = g * g
        scaled = scaled * one_minus_b2
        v = second_moment[i] * b2
        v = v + scaled
        second_moment_out[i] = v
        if floating is float:
            root = sqrtf(v)
        else:
            root = sqrt(v)
        root = root + eps
        ratio = m / root
        ratio = <floating>(<double>ratio * -corrected)
        theta[i] = theta[i] + ratio


def adam_step(
    floating[::1] theta not None,
    const floating[::1] grad not None,
    const floating[::1] first_moment not None,
    const floating[::1] second_moment not None,
    floating[::1] first_moment_out not None,
    floating[::1] second_moment_out not None,
    double beta_1,
    double beta_2,
    double epsilon,
    double corrected,
    Py_ssize_t n_penalised=0,
    double penalty_scale=0.0,
):
    """One Adam update of ``theta`` and its moments, in one pass.

    The same operations as the L2 term of skbp._network.add_penalty (on the
    first ``n_penalised`` entries), then :meth:`skbp._optimizers.Adam.update`
    and ``theta += step``: the Python-float factors are rounded to the
    arrays' precision first (NumPy's rule for Python scalars), and the
    bias-corrected rate, a NumPy float64, multiplies in float64.

    Parameters
    ----------
    theta, grad : ndarray of shape (n_params,)
        C-contiguous, all arrays of one floating dtype; ``theta`` is updated
        in place.
    first_moment, second_moment : ndarray of shape (n_params,)
        The moments before the step.
    first_moment_out, second_moment_out : ndarray of shape (n_params,)
        Where the new moments go: the same arrays for an update in place, or
        others, leaving the old moments as they were (a transactional step).
    beta_1, beta_2, epsilon : float
        Adam's constants.
    corrected : float
        ``learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``.
    n_penalised : int, default=0
        How many leading entries (the weights) get the L2 term.
    penalty_scale : float, default=0.0
        ``alpha / sum(sample_weight)``.

    Raises
    ------
    TypeError
        For None, or arrays of different or other dtypes.
    ValueError
        For arrays of other lengths than ``theta``'s, or not C-contiguous.
    """
    cdef Py_ssize_t n = theta.shape[0]
    cdef Py_ssize_t n_weights = min(max(n_penalised, 0), n)
    if (
        grad.shape[0] != n
        or first_moment.shape[0] != n
        or second_moment.shape[0] != n
        or first_moment_out.shape[0] != n
        or second_moment_out.shape[0] != n
    ):
        _refuse_lengths(
            "adam_step",
            "theta, grad and the four moments",
            n,
            (
                grad.shape[0],
                first_moment.shape[0],
                second_moment.shape[0],
                first_moment_out.shape[0],
                second_moment_out.shape[0],
            ),
        )
    if n == 0:
        return
    with nogil:
        # Two loops, each branch-free so that it vectorises: the weights
        # with the L2 term, then the biases without it.
        _adam_range(
            &theta[0], &grad[0], &first_moment[0], &second_moment[0],
            &first_moment_out[0], &second_moment_out[0], 0, n_weights, True,
            <floating>penalty_scale, <floating>beta_1, <floating>beta_2,
            <floating>(1.0 - beta_1), <floating>(1.0 - beta_2),
            <floating>epsilon, corrected,
        )
        _adam_range(
            &theta[0], &grad[0], &first_moment[0], &second_moment[0],
            &first_moment_out[0], &second_moment_out[0], n_weights, n, False,
            <floating>penalty_scale, <floating>beta_1, <floating>beta_2,
            <floating>(1.0 - beta_1), <floating>(1.0 - beta_2),
            <floating>epsilon, corrected,
        )


cdef inline void _sgd_range(
    floating* theta,
    const floating* grad,
    const floating* velocity,
    floating* velocity_out,
    Py_ssize_t start,
    Py_ssize_t stop,
    bint penalised,
    floating scale,
    floating rate,
    floating mu,
    bint nesterov,
) noexcept nogil:
    """SGD on ``[start, stop)``; ``penalised`` adds ``theta * scale`` first."""
    cdef Py_ssize_t i
    cdef floating g
    for i in range(start, stop):
        g = grad[i]
        if penalised:
            g = g + theta[i] * scale
        theta[i] = theta[i] + sgd_element(
            g, velocity[i], rate, mu, nesterov, &velocity_out[i]
        )


def sgd_step(
    floating[::1] theta not None,
    const floating[::1] grad not None,
    const floating[::1] velocity not None,
    floating[::1] velocity_out not None,
    double learning_rate,
    double momentum,
    bint nesterov,
    Py_ssize_t n_penalised=0,
    double penalty_scale=0.0,
):
    """One SGD (momentum, Nesterov) update of ``theta`` and its velocity.

    The same operations as the L2 term of skbp._network.add_penalty (on the
    first ``n_penalised`` entries), then :meth:`skbp._optimizers.SGD.update`
    and ``theta += step``, the Python-float constants rounded to the arrays'
    precision first.

    Parameters
    ----------
    theta, grad : ndarray of shape (n_params,)
        C-contiguous, all arrays of one floating dtype; ``theta`` is updated
        in place.
    velocity, velocity_out : ndarray of shape (n_params,)
        The velocity before the step, and where the new one goes (the same
        array for an update in place).
    learning_rate, momentum : float
        The step size and the momentum.
    nesterov : bool
        Whether to take Nesterov's step.
    n_penalised : int, default=0
        How many leading entries (the weights) get the L2 term.
    penalty_scale : float, default=0.0
        ``alpha / sum(sample_weight)``.

    Raises
    ------
    TypeError
        For None, or arrays of different or other dtypes.
    ValueError
        For arrays of other lengths than ``theta``'s, or not C-contiguous.
    """
    cdef Py_ssize_t n = theta.shape[0]
    cdef Py_ssize_t n_weights = min(max(n_penalised, 0), n)
    cdef floating scale = <floating>penalty_scale
    cdef floating rate = <floating>learning_rate
    cdef floating mu = <floating>momentum
    if grad.shape[0] != n or velocity.shape[0] != n or velocity_out.shape[0] != n:
        _refuse_lengths(
            "sgd_step",
            "theta, grad and the velocities",
            n,
            (grad.shape[0], velocity.shape[0], velocity_out.shape[0]),
        )
    if n == 0:
        return
    with nogil:
        # Branch-free loops, so that each vectorises (see adam_step).
        if nesterov:
            _sgd_range(&theta[0], &grad[0], &velocity[0], &velocity_out[0],
                       0, n_weights, True, scale, rate, mu, True)
            _sgd_range(&theta[0], &grad[0], &velocity[0], &velocity_out[0],
                       n_weights, n, False, scale, rate, mu, True)
        else:
            _sgd_range(&theta[0], &grad[0], &velocity[0], &velocity_out[0],
                       0, n_weights, True, scale, rate, mu, False)
            _sgd_range(&theta[0], &grad[0], &velocity[0], &velocity_out[0],
                       n_weights, n, False, scale, rate, mu, False)


def bias_activation(
    floating[:, ::1] z not None,
    const floating[::1] bias not None,
    int code,
):
    """``z = f(z + bias)`` in place, in one pass: a hidden layer's output.

    The operations of ``z += bias`` then ``np.maximum(z, 0.0, out=z)``
    (ReLU) or ``np.maximum(z, z * LEAKY_RELU_SLOPE, out=z)`` (leaky ReLU),
    NaN passed through as ``np.maximum`` passes it.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_units)
        The layer's pre-activation without its bias; overwritten.
    bias : ndarray of shape (n_units,)
        The layer's bias, of ``z``'s dtype.
    code : int
        ``ActivationCode.IDENTITY``, ``RELU`` or ``LEAKY_RELU``
        (skbp._kernel_codes.BIAS_ACTIVATION_CODES).

    Raises
    ------
    TypeError
        For None, or arrays of different or other dtypes.
    ValueError
        For another code, a bias that is not one per unit, or arrays of
        another number of dimensions or not C-contiguous.
    """
    cdef Py_ssize_t i, n_rows = z.shape[0], n_units = z.shape[1]
    cdef floating leak = <floating>LEAKY_RELU_SLOPE
    if code != IDENTITY and code != RELU and code != LEAKY_RELU:
        _refuse_code("bias_activation", code, "activation")
    if bias.shape[0] != n_units:
        raise ValueError(
            f"bias_activation: the bias has {bias.shape[0]} entries for "
            f"{n_units} units."
        )
    with nogil:
        # One loop per activation, so that each inner loop vectorises.
        for i in range(n_rows):
            if code == RELU:
                _bias_relu_row(&z[i, 0], &bias[0], n_units)
            elif code == LEAKY_RELU:
                _bias_leaky_row(&z[i, 0], &bias[0], n_units, leak)
            else:  # IDENTITY
                _bias_row(&z[i, 0], &bias[0], n_units)


cdef inline void _bias_row(
    floating* z, const floating* bias, Py_ssize_t n
) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        z[j] = z[j] + bias[j]


cdef inline void _bias_relu_row(
    floating* z, const floating* bias, Py_ssize_t n
) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating value
    for j in range(n):
        value = z[j] + bias[j]
        z[j] = 0 if value < 0 else value


cdef inline void _bias_leaky_row(
    floating* z, const floating* bias, Py_ssize_t n, floating leak
) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating value
    for j in range(n):
        value = z[j] + bias[j]
        z[j] = value * leak if value < 0 else value


def multiply_derivative(
    floating[:, ::1] delta not None,
    const floating[:, ::1] activation not None,
    int code,
):
    """``delta *= f'(z)`` in place, ``f'`` read from the output ``activation``.

    The operations of ``np.multiply(delta, activation > 0, out=delta)``
    (ReLU: a product by 1 or 0, so NaN and the sign of zero come out as
    NumPy's) or ``delta *= np.where(activation > 0, 1.0,
    LEAKY_RELU_SLOPE).astype(delta.dtype)`` (leaky: the slope rounded to
    ``delta``'s precision first, as the NumPy path's ``select`` rounds it).

    Parameters
    ----------
    delta : ndarray of shape (n_samples, n_units)
        The delta arriving at the layer's output; overwritten.
    activation : ndarray of shape (n_samples, n_units)
        The layer's output.
    code : int
        ``ActivationCode.RELU`` or ``LEAKY_RELU``
        (skbp._kernel_codes.DERIVATIVE_CODES).  The identity is refused:
        its derivative is one, and the product by it is no pass at all.

    Raises
    ------
    TypeError
        For None, or arrays of different or other dtypes.
    ValueError
        For another code, arrays of different shapes, or of another number
        of dimensions or not C-contiguous.
    """
    cdef Py_ssize_t i, j, n_rows = delta.shape[0], n_units = delta.shape[1]
    cdef floating negative = <floating>(
        LEAKY_RELU_SLOPE if code == LEAKY_RELU else 0.0
    )
    if code != RELU and code != LEAKY_RELU:
        _refuse_code("multiply_derivative", code, "activation derivative")
    if activation.shape[0] != n_rows or activation.shape[1] != n_units:
        raise ValueError(
            f"multiply_derivative: delta is {n_rows} x {n_units}, the "
            f"activation {activation.shape[0]} x {activation.shape[1]}."
        )
    cdef floating* row
    cdef const floating* output
    with nogil:
        for i in range(n_rows):
            row = &delta[i, 0]
            output = &activation[i, 0]
            for j in range(n_units):
                row[j] = row[j] * (1 if output[j] > 0 else negative)


ctypedef fused target:
    unsigned char  # boolean class indicators, viewed as bytes
    float
    double


cdef double _sample_loss(
    const floating* prediction,
    const floating* raw,
    const target* y,
    Py_ssize_t n_outputs,
    int code,
) noexcept nogil:
    """One sample's loss, summed over outputs, as skbp._losses computes it."""
    cdef Py_ssize_t k
    cdef double loss = 0.0, largest_raw, largest_p, n_true = 0.0, dot = 0.0
    if code == SOFTMAX_LOG_LOSS:
        # log-normaliser from the largest unit: max(raw) - log(max(p))
        largest_raw = raw[0]
        largest_p = prediction[0]
        for k in range(n_outputs):
            if raw[k] > largest_raw:
                largest_raw = raw[k]
            if prediction[k] > largest_p:
                largest_p = prediction[k]
            n_true += y[k]
            dot += y[k] * raw[k]
        return (largest_raw - log(largest_p)) * n_true - dot
    for k in range(n_outputs):
        if code == LOGISTIC_LOG_LOSS:
            loss += logaddexp0(raw[k]) - y[k] * raw[k]
        else:  # IDENTITY_SQUARED_ERROR
            loss += (prediction[k] - y[k]) * (prediction[k] - y[k])
    return loss if code == LOGISTIC_LOG_LOSS else 0.5 * loss


def output_delta_and_loss(
    const floating[:, ::1] prediction not None,
    const floating[:, ::1] raw not None,
    const target[:, ::1] y not None,
    const floating[::1] sample_weight,
    double weight_sum,
    floating[:, ::1] delta not None,
    int code,
):
    """The output delta, weighted, and the batch's loss, in one pass.

    For the canonical pairs (softmax or logistic link with log-loss,
    identity with squared error) the delta is ``prediction - y``, scaled as
    skbp._network.loss_and_grad scales it: divided by ``weight_sum``, or
    multiplied by ``sample_weight / weight_sum``.  These are the NumPy
    path's operations, so the delta, and the gradient, are bit for bit
    NumPy's.  The loss is the weighted mean of skbp._losses' per-sample
    losses, summed in another order and with the C library's logarithm:
    it agrees with NumPy's to rounding (1e-15 relative in float64).

    Parameters
    ----------
    prediction, raw : ndarray of shape (n_samples, n_outputs)
        The link's output and its input.
    y : ndarray of shape (n_samples, n_outputs)
        Targets (booleans viewed as uint8, or floats).
    sample_weight : ndarray of shape (n_samples,) or None
        Sample weights, of the predictions' dtype.
    weight_sum : float
        ``n_samples``, or the sum of ``sample_weight``.
    delta : ndarray of shape (n_samples, n_outputs)
        Written with the scaled output delta.
    code : int
        ``OutputCode.SOFTMAX_LOG_LOSS``, ``LOGISTIC_LOG_LOSS`` or
        ``IDENTITY_SQUARED_ERROR`` (skbp._kernel_codes.OUTPUT_DELTA_CODES).

    Returns
    -------
    loss : float

    Raises
    ------
    TypeError
        For None (but for ``sample_weight``), or arrays of different or
        other dtypes.
    ValueError
        For another code, arrays of different shapes, no outputs, weights
        that are not one per sample, or arrays of another number of
        dimensions or not C-contiguous.
    """
    cdef Py_ssize_t i, k, n_rows = raw.shape[0], n_outputs = raw.shape[1]
    cdef bint weighted = sample_weight is not None
    cdef floating total = <floating>weight_sum
    cdef floating share, residual
    cdef double loss = 0.0, sample_loss
    if (
        code != SOFTMAX_LOG_LOSS
        and code != LOGISTIC_LOG_LOSS
        and code != IDENTITY_SQUARED_ERROR
    ):
        _refuse_code("output_delta_and_loss", code, "output layer")
    if (
        n_outputs < 1
        or prediction.shape[0] != n_rows or prediction.shape[1] != n_outputs
        or y.shape[0] != n_rows or y.shape[1] != n_outputs
        or delta.shape[0] != n_rows or delta.shape[1] != n_outputs
    ):
        _refuse_shapes(
            "output_delta_and_loss",
            "prediction, raw, y and delta",
            (
                (prediction.shape[0], prediction.shape[1]),
                (raw.shape[0], raw.shape[1]),
                (y.shape[0], y.shape[1]),
                (delta.shape[0], delta.shape[1]),
            ),
        )
    if weighted and sample_weight.shape[0] != n_rows:
        raise ValueError(
            f"output_delta_and_loss: {sample_weight.shape[0]} sample weights "
            f"for {n_rows} samples."
        )
    with nogil:
        for i in range(n_rows):
            if weighted:
                share = sample_weight[i] / total
            for k in range(n_outputs):
                residual = prediction[i, k] - <floating>y[i, k]
                if weighted:
                    delta[i, k] = residual * share
                else:
                    delta[i, k] = residual / total
            sample_loss = _sample_loss(
                &prediction[i, 0], &raw[i, 0], &y[i, 0], n_outputs, code
            )
            loss += sample_loss * sample_weight[i] if weighted else sample_loss
    return loss / weight_sum


def softmax_rows(
    const floating[:, ::1] raw not None,
    floating[:, ::1] out not None,
    double lowest=-INFINITY,
    double highest=INFINITY,
):
    """Row-wise softmax of ``raw`` into ``out``, clipped to [lowest, highest].

    The operations of skbp._guards.finite_raw (infinite raw outputs read as
    the largest float of their sign), skbp._losses' softmax link (``exp(raw
    - max)`` over its row sum) and, with bounds,
    skbp._guards.inside_unit_interval, in one pass per row; ``out`` may be
    ``raw`` itself.  The row sum is taken in
    order and ``exp`` is the C library's, so values agree with NumPy's to a
    few units in the last place (``tests/test_kernels.py``), not bit for bit.

    Parameters
    ----------
    raw : ndarray of shape (n_samples, n_outputs)
        Raw outputs.
    out : ndarray of shape (n_samples, n_outputs)
        Written with the probabilities.
    lowest, highest : float, default=-inf, inf
        Bounds to clip the probabilities to (none by default).

    Raises
    ------
    TypeError
        For None, or arrays of different or other dtypes.
    ValueError
        For arrays of different shapes, no outputs, or arrays of another
        number of dimensions or not C-contiguous.
    """
    cdef Py_ssize_t i, k, n_rows = raw.shape[0], n_outputs = raw.shape[1]
    cdef floating low = <floating>lowest
    cdef floating high = <floating>highest
    cdef floating largest = FLT_MAX if floating is float else DBL_MAX
    cdef floating shift, value
    cdef const floating* row
    cdef floating* probabilities
    cdef double total
    if n_outputs < 1 or out.shape[0] != n_rows or out.shape[1] != n_outputs:
        _refuse_shapes(
            "softmax_rows",
            "raw and out",
            ((n_rows, n_outputs), (out.shape[0], out.shape[1])),
        )
    with nogil:
        for i in range(n_rows):
            row = &raw[i, 0]
            probabilities = &out[i, 0]
            for k in range(n_outputs):  # finite_raw; NaN stays NaN
                value = row[k]
                probabilities[k] = (
                    largest if value > largest
                    else (-largest if value < -largest else value)
                )
            shift = probabilities[0]
            for k in range(1, n_outputs):
                if probabilities[k] > shift:
                    shift = probabilities[k]
            total = 0.0
            for k in range(n_outputs):
                probabilities[k] = <floating>exp(probabilities[k] - shift)
                total += probabilities[k]
            for k in range(n_outputs):
                value = <floating>(probabilities[k] / total)
                probabilities[k] = (
                    low if value < low else (high if value > high else value)
                )
