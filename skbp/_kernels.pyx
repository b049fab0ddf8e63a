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

Large calls split their work across threads with OpenMP (``prange``) where
the build has it (``setup.py`` probes the compiler; elsewhere the loops run
serially): the optimizer steps in chunks of ``CHUNK`` entries, the layer
passes, the derivative and the softmax by rows.  Every entry or row is
computed by the same operations whatever thread takes it, so the results do
not depend on the number of threads, which follows OpenMP's limit (set by
``threadpoolctl``).  The output delta's loss, a sum, is summed by blocks of
``LOSS_BLOCK_ROWS`` rows, each block in order and the blocks in order, so it
does not depend on the threads either.  Small calls stay on one thread:
waking the others costs more than they save.

Every kernel refuses, with a TypeError or a ValueError, what it cannot
compute: None for an array, arrays of another dtype, shape or length than
it needs, and a code it does not implement (the codes are those of
skbp/_kernel_codes.py).  The checks cost O(1) per call.
"""

from cython.parallel cimport prange
from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport INFINITY, exp, log, sqrt, sqrtf
from libc.stdlib cimport free, malloc

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

# Entries of an optimizer step per thread's chunk, and the least work (array
# entries) worth a second thread: below, one thread does it all.
cdef Py_ssize_t CHUNK = 1 << 15
cdef Py_ssize_t PARALLEL_ENTRIES = 1 << 16
# Rows per partial sum of output_delta_and_loss's loss.
cdef Py_ssize_t LOSS_BLOCK_ROWS = 256


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define SKBP_OPENMP 1
    static int skbp_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define SKBP_OPENMP 0
    static int skbp_max_threads(void) { return 1; }
    #endif
    """
    int SKBP_OPENMP
    int skbp_max_threads() nogil


def openmp_enabled():
    """Whether this module was compiled with OpenMP (large calls may use threads)."""
    return bool(SKBP_OPENMP)


def max_threads():
    """The threads a large call would use now: OpenMP's limit (1 without OpenMP).

    ``threadpoolctl.threadpool_limits(n, user_api="openmp")`` sets it.
    """
    return skbp_max_threads()


cdef inline Py_ssize_t _n_chunks(Py_ssize_t n, Py_ssize_t per_chunk) noexcept nogil:
    return (n + per_chunk - 1) // per_chunk


cdef inline Py_ssize_t _parallel_chunks(
    Py_ssize_t n, Py_ssize_t per_chunk, Py_ssize_t n_entries
) noexcept nogil:
    """Chunks of ``per_chunk`` to split ``n`` items into across threads; one
    (the call runs serially, on ``[0, n)``) below ``PARALLEL_ENTRIES``."""
    if n_entries < PARALLEL_ENTRIES:
        return 1
    return _n_chunks(n, per_chunk)


cdef inline Py_ssize_t _rows_per_chunk(Py_ssize_t n_columns) noexcept nogil:
    """Rows of about ``CHUNK`` entries (at least one)."""
    return CHUNK // n_columns if n_columns < CHUNK else 1


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
    cdef Py_ssize_t chunk, n_chunks = _parallel_chunks(n, CHUNK, n)
    with nogil:
        if n_chunks == 1:
            _adam_chunk(
                &theta[0], &grad[0], &first_moment[0], &second_moment[0],
                &first_moment_out[0], &second_moment_out[0], 0, n, n_weights,
                penalty_scale, beta_1, beta_2, epsilon, corrected,
            )
        else:
            for chunk in prange(n_chunks, schedule="static"):
                _adam_chunk(
                    &theta[0], &grad[0], &first_moment[0], &second_moment[0],
                    &first_moment_out[0], &second_moment_out[0], chunk * CHUNK,
                    min((chunk + 1) * CHUNK, n), n_weights,
                    penalty_scale, beta_1, beta_2, epsilon, corrected,
                )


cdef inline void _adam_chunk(
    floating* theta,
    const floating* grad,
    const floating* first_moment,
    const floating* second_moment,
    floating* first_moment_out,
    floating* second_moment_out,
    Py_ssize_t start,
    Py_ssize_t stop,
    Py_ssize_t n_weights,
    double penalty_scale,
    double beta_1,
    double beta_2,
    double epsilon,
    double corrected,
) noexcept nogil:
    """Adam on ``[start, stop)``: two loops, each branch-free so that it
    vectorises, the weights (below ``n_weights``) with the L2 term, then the
    biases without it."""
    cdef Py_ssize_t middle = min(max(n_weights, start), stop)
    _adam_range(
        theta, grad, first_moment, second_moment, first_moment_out,
        second_moment_out, start, middle, True, <floating>penalty_scale,
        <floating>beta_1, <floating>beta_2, <floating>(1.0 - beta_1),
        <floating>(1.0 - beta_2), <floating>epsilon, corrected,
    )
    _adam_range(
        theta, grad, first_moment, second_moment, first_moment_out,
        second_moment_out, middle, stop, False, <floating>penalty_scale,
        <floating>beta_1, <floating>beta_2, <floating>(1.0 - beta_1),
        <floating>(1.0 - beta_2), <floating>epsilon, corrected,
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
    cdef Py_ssize_t chunk, n_chunks = _parallel_chunks(n, CHUNK, n)
    with nogil:
        if n_chunks == 1:
            _sgd_chunk(&theta[0], &grad[0], &velocity[0], &velocity_out[0],
                       0, n, n_weights, scale, rate, mu, nesterov)
        else:
            for chunk in prange(n_chunks, schedule="static"):
                _sgd_chunk(&theta[0], &grad[0], &velocity[0], &velocity_out[0],
                           chunk * CHUNK, min((chunk + 1) * CHUNK, n), n_weights,
                           scale, rate, mu, nesterov)


cdef inline void _sgd_chunk(
    floating* theta,
    const floating* grad,
    const floating* velocity,
    floating* velocity_out,
    Py_ssize_t start,
    Py_ssize_t stop,
    Py_ssize_t n_weights,
    floating scale,
    floating rate,
    floating mu,
    bint nesterov,
) noexcept nogil:
    """SGD on ``[start, stop)``: branch-free loops, so that each vectorises
    (see ``_adam_chunk``)."""
    cdef Py_ssize_t middle = min(max(n_weights, start), stop)
    if nesterov:
        _sgd_range(theta, grad, velocity, velocity_out, start, middle, True,
                   scale, rate, mu, True)
        _sgd_range(theta, grad, velocity, velocity_out, middle, stop, False,
                   scale, rate, mu, True)
    else:
        _sgd_range(theta, grad, velocity, velocity_out, start, middle, True,
                   scale, rate, mu, False)
        _sgd_range(theta, grad, velocity, velocity_out, middle, stop, False,
                   scale, rate, mu, False)


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
    if n_rows == 0 or n_units == 0:
        return
    cdef Py_ssize_t chunk, per_chunk = _rows_per_chunk(n_units)
    cdef Py_ssize_t n_chunks = _parallel_chunks(n_rows, per_chunk, n_rows * n_units)
    with nogil:
        if n_chunks == 1:
            _bias_activation_rows(z, bias, code, leak, 0, n_rows)
        else:
            for chunk in prange(n_chunks, schedule="static"):
                _bias_activation_rows(
                    z, bias, code, leak, chunk * per_chunk,
                    min((chunk + 1) * per_chunk, n_rows),
                )


cdef void _bias_activation_rows(
    floating[:, ::1] z,
    const floating[::1] bias,
    int code,
    floating leak,
    Py_ssize_t start,
    Py_ssize_t stop,
) noexcept nogil:
    cdef Py_ssize_t i, n_units = z.shape[1]
    # One loop per activation, so that each inner loop vectorises.
    for i in range(start, stop):
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
    if n_rows == 0 or n_units == 0:
        return
    cdef Py_ssize_t chunk, per_chunk = _rows_per_chunk(n_units)
    cdef Py_ssize_t n_chunks = _parallel_chunks(n_rows, per_chunk, n_rows * n_units)
    with nogil:
        if n_chunks == 1:
            _derivative_rows(delta, activation, negative, 0, n_rows)
        else:
            for chunk in prange(n_chunks, schedule="static"):
                _derivative_rows(
                    delta, activation, negative, chunk * per_chunk,
                    min((chunk + 1) * per_chunk, n_rows),
                )


cdef void _derivative_rows(
    floating[:, ::1] delta,
    const floating[:, ::1] activation,
    floating negative,
    Py_ssize_t start,
    Py_ssize_t stop,
) noexcept nogil:
    cdef Py_ssize_t i, j, n_units = delta.shape[1]
    cdef floating* row
    cdef const floating* output
    for i in range(start, stop):
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
    cdef Py_ssize_t n_rows = raw.shape[0], n_outputs = raw.shape[1]
    cdef bint weighted = sample_weight is not None
    cdef floating total = <floating>weight_sum
    cdef double loss = 0.0
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
    if n_rows <= LOSS_BLOCK_ROWS:
        with nogil:
            loss = _delta_and_loss_rows(
                prediction, raw, y, sample_weight, total, delta, code, 0, n_rows
            )
        return loss / weight_sum
    # Partial sums of blocks of rows, added in order: the same sum whatever
    # the number of threads that computed the blocks.
    cdef Py_ssize_t block, n_blocks = _n_chunks(n_rows, LOSS_BLOCK_ROWS)
    cdef double* partial = <double*>malloc(n_blocks * sizeof(double))
    if partial == NULL:
        raise MemoryError()
    try:
        with nogil:
            if n_rows * n_outputs < PARALLEL_ENTRIES:
                for block in range(n_blocks):
                    partial[block] = _delta_and_loss_rows(
                        prediction, raw, y, sample_weight, total, delta, code,
                        block * LOSS_BLOCK_ROWS,
                        min((block + 1) * LOSS_BLOCK_ROWS, n_rows),
                    )
            else:
                for block in prange(n_blocks, schedule="static"):
                    partial[block] = _delta_and_loss_rows(
                        prediction, raw, y, sample_weight, total, delta, code,
                        block * LOSS_BLOCK_ROWS,
                        min((block + 1) * LOSS_BLOCK_ROWS, n_rows),
                    )
            for block in range(n_blocks):
                loss += partial[block]
    finally:
        free(partial)
    return loss / weight_sum


cdef double _delta_and_loss_rows(
    const floating[:, ::1] prediction,
    const floating[:, ::1] raw,
    const target[:, ::1] y,
    const floating[::1] sample_weight,
    floating total,
    floating[:, ::1] delta,
    int code,
    Py_ssize_t start,
    Py_ssize_t stop,
) noexcept nogil:
    """Rows ``[start, stop)`` of output_delta_and_loss: write their delta,
    return their weighted loss, summed in order."""
    cdef Py_ssize_t i, k, n_outputs = raw.shape[1]
    cdef bint weighted = sample_weight is not None
    cdef floating share, residual
    cdef double loss = 0.0, sample_loss
    for i in range(start, stop):
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
    return loss


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
    cdef Py_ssize_t n_rows = raw.shape[0], n_outputs = raw.shape[1]
    cdef floating low = <floating>lowest
    cdef floating high = <floating>highest
    if n_outputs < 1 or out.shape[0] != n_rows or out.shape[1] != n_outputs:
        _refuse_shapes(
            "softmax_rows",
            "raw and out",
            ((n_rows, n_outputs), (out.shape[0], out.shape[1])),
        )
    if n_rows == 0:
        return
    cdef Py_ssize_t chunk, per_chunk = _rows_per_chunk(n_outputs)
    cdef Py_ssize_t n_chunks = _parallel_chunks(n_rows, per_chunk, n_rows * n_outputs)
    with nogil:
        if n_chunks == 1:
            _softmax_rows(raw, out, low, high, 0, n_rows)
        else:
            for chunk in prange(n_chunks, schedule="static"):
                _softmax_rows(
                    raw, out, low, high, chunk * per_chunk,
                    min((chunk + 1) * per_chunk, n_rows),
                )


cdef void _softmax_rows(
    const floating[:, ::1] raw,
    floating[:, ::1] out,
    floating low,
    floating high,
    Py_ssize_t start,
    Py_ssize_t stop,
) noexcept nogil:
    cdef Py_ssize_t i, k, n_outputs = raw.shape[1]
    cdef floating largest = FLT_MAX if floating is float else DBL_MAX
    cdef floating shift, value
    cdef const floating* row
    cdef floating* probabilities
    cdef double total
    for i in range(start, stop):
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
