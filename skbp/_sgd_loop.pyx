# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The classic per-example SGD loop (``batch_size=1``), compiled.

Algorithm 2 of the seed "Backpropagation Derivation" (Liskowski's
per-example update, Feng's eq. (30)): for each sample in turn, the forward
pass (eq. (6) there; Feng's eqs. (1)-(4)), the output delta from the loss
(Liskowski's eqs. (1) and (3)), the hidden deltas (Liskowski's eq. (4) /
(11), Feng's eq. (28)) and the SGD step with momentum on every weight and
bias (Feng's eqs. (22), (29), (34); ``skbp._optimizers.SGD``).

The NumPy path makes about 25 calls of a microsecond or two per sample;
here a sample costs its arithmetic.  Each weight's gradient, momentum and
update are taken in one pass over the weight matrix, which also computes
the delta of the layer below from the weights before the step.

Arithmetic: the element-wise operations are those of the NumPy path, in
its order and precision (no fast-math, no fused multiply-adds; setup.py).
The sums over a layer's inputs and outputs are plain loops rather than
BLAS's blocked products, and the transcendental functions are the C
library's, evaluated in double precision, so results agree with the NumPy
path to rounding (``tests/test_sgd_loop.py`` states the tolerances), not
bit for bit.

``sgd_epoch`` refuses, with a TypeError or a ValueError, arguments it cannot
compute with (None for an array that must be given, arrays of another dtype,
a layout that does not fit the arrays, a row outside ``X``, a code it does
not implement) before it takes a step.
"""

from libc.math cimport exp, expm1, isfinite, log, tanh

from ._elementwise cimport expit, floating, logaddexp0, sgd_element
from ._kernel_codes cimport (
    ELU,
    ELU_ALPHA,
    EXP_POISSON,
    IDENTITY,
    IDENTITY_SQUARED_ERROR,
    LEAKY_RELU,
    LEAKY_RELU_SLOPE,
    LOGISTIC,
    LOGISTIC_LOG_LOSS,
    LOGISTIC_SQUARED_ERROR,
    RELU,
    SOFTMAX_LOG_LOSS,
    SOFTPLUS,
    TANH,
    kernel_codes,
)

# The codes and constants this module was compiled with (the generated
# skbp/_kernel_codes.pxd), for tests/test_kernel_codes.py to compare with
# skbp._kernel_codes.declaration().
KERNEL_CODES = kernel_codes()


cdef inline floating _activate(floating z, int code) noexcept nogil:
    if code == LOGISTIC:
        return <floating>expit(z)
    if code == TANH:
        return <floating>tanh(z)
    if code == RELU:
        return 0 if z < 0 else z  # NaN passes through, as np.maximum's does
    if code == LEAKY_RELU:
        return z * <floating>LEAKY_RELU_SLOPE if z < 0 else z
    if code == ELU:
        return z if z > 0 else <floating>(ELU_ALPHA * expm1(z))
    if code == SOFTPLUS:
        return <floating>logaddexp0(z)
    return z  # IDENTITY (sgd_epoch refuses other codes)


cdef inline floating _times_derivative(
    floating delta, floating a, int code
) noexcept nogil:
    """``delta * f'(z)`` from the stored output ``a = f(z)`` (_activations.py)."""
    if code == LOGISTIC:
        delta = delta * a
        return delta * (1 - a)
    if code == TANH:
        return delta * (1 - a * a)
    if code == RELU:
        return delta if a > 0 else 0
    if code == LEAKY_RELU:
        return delta if a > 0 else delta * <floating>LEAKY_RELU_SLOPE
    if code == ELU:
        # a + alpha in double precision (ELU_ALPHA is a double), as the loop
        # has always computed it; the NumPy path adds in a's precision.
        return delta if a > 0 else delta * (a + ELU_ALPHA)
    if code == SOFTPLUS:
        return delta * <floating>(-expm1(-a))
    return delta  # IDENTITY


cdef double _output_loss_and_delta(
    const floating* raw,
    const floating* y,
    floating* delta,
    Py_ssize_t n_outputs,
    int code,
) noexcept nogil:
    """The sample's loss (summed over outputs); its raw gradient into ``delta``.

    The pairs of skbp/_losses.py: softmax, logistic and exp links with their
    canonical losses (delta = prediction - target), identity with squared
    error, and the logistic link with squared error, whose delta goes
    through the link's derivative (Liskowski's eq. (3)).
    """
    cdef Py_ssize_t k
    cdef double loss = 0.0, shift, total, log_total, p
    cdef floating prediction, residual
    if code == SOFTMAX_LOG_LOSS:
        shift = raw[0]
        for k in range(1, n_outputs):
            if raw[k] > shift:
                shift = raw[k]
        total = 0.0
        for k in range(n_outputs):
            p = exp(raw[k] - shift)
            delta[k] = <floating>p
            total += p
        log_total = shift + log(total)
        for k in range(n_outputs):
            loss += y[k] * (log_total - raw[k])
            delta[k] = <floating>(delta[k] / total) - y[k]
        return loss
    for k in range(n_outputs):
        if code == LOGISTIC_LOG_LOSS:
            loss += logaddexp0(raw[k]) - y[k] * raw[k]
            delta[k] = <floating>expit(raw[k]) - y[k]
        elif code == IDENTITY_SQUARED_ERROR:
            residual = raw[k] - y[k]
            loss += 0.5 * residual * residual
            delta[k] = residual
        elif code == LOGISTIC_SQUARED_ERROR:
            prediction = <floating>expit(raw[k])
            residual = prediction - y[k]
            loss += 0.5 * residual * residual
            residual = residual * prediction
            delta[k] = residual * (1 - prediction)
        else:  # EXP_POISSON (sgd_epoch refuses other codes)
            prediction = <floating>exp(raw[k])
            if y[k] > 0:
                loss += y[k] * log(y[k])
            loss += prediction - y[k] * raw[k] - y[k]
            delta[k] = prediction - y[k]
    return loss


cdef void _layer_forward(
    const floating* inputs,
    const floating* coef,
    const floating* intercept,
    floating* z,
    Py_ssize_t fan_in,
    Py_ssize_t fan_out,
) noexcept nogil:
    """``z = inputs @ coef + intercept`` for one sample, row by row of ``coef``."""
    cdef Py_ssize_t i, j
    cdef floating a
    cdef const floating* row
    for j in range(fan_out):
        z[j] = 0
    for i in range(fan_in):
        a = inputs[i]
        row = coef + i * fan_out
        for j in range(fan_out):
            z[j] = z[j] + a * row[j]
    for j in range(fan_out):
        z[j] = z[j] + intercept[j]


cdef inline floating _dot(
    const floating* x, const floating* y, Py_ssize_t n
) noexcept nogil:
    """Four running sums, so the compiler may keep them in vector lanes."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t j = 0
    while j + 4 <= n:
        s0 = s0 + x[j] * y[j]
        s1 = s1 + x[j + 1] * y[j + 1]
        s2 = s2 + x[j + 2] * y[j + 2]
        s3 = s3 + x[j + 3] * y[j + 3]
        j += 4
    while j < n:
        s0 = s0 + x[j] * y[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


cdef inline floating _sgd_update(
    floating* parameter,
    floating* velocity,
    floating grad,
    floating rate,
    floating mu,
    bint nesterov,
) noexcept nogil:
    """One parameter's SGD step, in place; returns the new value."""
    parameter[0] = parameter[0] + sgd_element(
        grad, velocity[0], rate, mu, nesterov, velocity
    )
    return parameter[0]


cdef double _layer_backward_and_step(
    floating* coef,
    floating* intercept,
    floating* coef_velocity,
    floating* intercept_velocity,
    const floating* inputs,
    const floating* delta,
    floating* input_delta,
    Py_ssize_t fan_in,
    Py_ssize_t fan_out,
    int hidden_code,
    floating penalty_scale,
    bint penalised,
    floating rate,
    floating mu,
    bint nesterov,
) noexcept nogil:
    """Step one layer's weights; write the delta of the layer below first.

    ``input_delta`` (NULL for the first layer) gets ``(delta @ coef.T) *
    f'(inputs)`` from the weights before their step.  The gradient of a
    weight is ``inputs[i] * delta[j]`` plus the L2 term ``penalty_scale *
    coef[i, j]`` (loss_and_grad, then add_penalty).  Returns the sum of the
    squared weights after the step: the next sample's penalty.
    """
    cdef Py_ssize_t i, j
    cdef floating a, grad, value
    cdef floating* row
    cdef floating* row_velocity
    cdef double squares = 0.0
    for i in range(fan_in):
        row = coef + i * fan_out
        row_velocity = coef_velocity + i * fan_out
        a = inputs[i]
        if input_delta != NULL:
            input_delta[i] = _times_derivative(_dot(delta, row, fan_out), a, hidden_code)
        for j in range(fan_out):
            grad = a * delta[j]
            if penalised:
                grad = grad + row[j] * penalty_scale
            value = _sgd_update(&row[j], &row_velocity[j], grad, rate, mu, nesterov)
            squares += value * value
    for j in range(fan_out):
        _sgd_update(&intercept[j], &intercept_velocity[j], delta[j], rate, mu, nesterov)
    return squares


cdef inline bint _fits(
    Py_ssize_t offset, Py_ssize_t rows, Py_ssize_t columns, Py_ssize_t size
) noexcept:
    """Whether ``rows * columns`` entries from ``offset`` lie in ``[0, size)``.

    ``columns`` is at least 1; the product is never formed, so that it
    cannot overflow.
    """
    return 0 <= offset <= size and rows <= (size - offset) // columns


cdef int _check_layout(
    const Py_ssize_t[::1] layer_units,
    const Py_ssize_t[::1] coef_offsets,
    const Py_ssize_t[::1] intercept_offsets,
    const Py_ssize_t[::1] unit_offsets,
    Py_ssize_t n_params,
    Py_ssize_t n_buffer_units,
) except -1:
    """Raise ValueError unless every layer lies inside ``theta`` and the buffer."""
    cdef Py_ssize_t n_layers = layer_units.shape[0], layer
    if n_layers < 2 or not (
        coef_offsets.shape[0]
        == intercept_offsets.shape[0]
        == unit_offsets.shape[0]
        == n_layers - 1
    ):
        raise ValueError(
            f"sgd_epoch: {n_layers} layers need {n_layers - 1} offsets of each "
            f"kind (at least two layers); got {coef_offsets.shape[0]}, "
            f"{intercept_offsets.shape[0]} and {unit_offsets.shape[0]}."
        )
    for layer in range(n_layers):
        if layer_units[layer] < 1:
            raise ValueError(f"sgd_epoch: layer {layer} has no units.")
    for layer in range(n_layers - 1):
        if not (
            _fits(
                coef_offsets[layer],
                layer_units[layer],
                layer_units[layer + 1],
                n_params,
            )
            and _fits(intercept_offsets[layer], 1, layer_units[layer + 1], n_params)
            and _fits(unit_offsets[layer], 1, layer_units[layer + 1], n_buffer_units)
        ):
            raise ValueError(
                f"sgd_epoch: the weights, biases or units of layer {layer + 1} "
                f"lie outside theta ({n_params} entries) or the buffer "
                f"({n_buffer_units} units)."
            )
    return 0


cdef inline bint _implemented_activation(int code) noexcept:
    return (
        code == IDENTITY
        or code == LOGISTIC
        or code == TANH
        or code == RELU
        or code == LEAKY_RELU
        or code == ELU
        or code == SOFTPLUS
    )


cdef inline bint _implemented_output(int code) noexcept:
    return (
        code == SOFTMAX_LOG_LOSS
        or code == LOGISTIC_LOG_LOSS
        or code == IDENTITY_SQUARED_ERROR
        or code == LOGISTIC_SQUARED_ERROR
        or code == EXP_POISSON
    )


cdef int _check_rows(
    Py_ssize_t n_samples,
    const Py_ssize_t[::1] order,
    Py_ssize_t start,
    Py_ssize_t stop,
) except -1:
    """Raise ValueError unless positions ``start:stop`` name rows of ``X``."""
    cdef Py_ssize_t position, n_positions = (
        n_samples if order is None else order.shape[0]
    )
    if not 0 <= start <= stop <= n_positions:
        raise ValueError(
            f"sgd_epoch: positions {start} to {stop} are not within the "
            f"epoch's {n_positions}."
        )
    if order is None:
        return 0
    for position in range(start, stop):
        if not 0 <= order[position] < n_samples:
            raise ValueError(
                f"sgd_epoch: order[{position}] = {order[position]} is not a row "
                f"of X ({n_samples} rows)."
            )
    return 0


def sgd_epoch(
    floating[::1] theta not None,
    floating[::1] velocity not None,
    const floating[:, ::1] X not None,
    const floating[:, ::1] Y not None,
    const double[::1] sample_weight,
    const Py_ssize_t[::1] order,
    Py_ssize_t start,
    Py_ssize_t stop,
    const Py_ssize_t[::1] layer_units not None,
    const Py_ssize_t[::1] coef_offsets not None,
    const Py_ssize_t[::1] intercept_offsets not None,
    const Py_ssize_t[::1] unit_offsets not None,
    floating[::1] buffer not None,
    const int[::1] hidden_codes not None,
    int output_code,
    double alpha,
    double learning_rate,
    double momentum,
    bint nesterov,
):
    """Take one SGD step per sample for the samples ``start`` to ``stop``.

    Parameters
    ----------
    theta, velocity : ndarray of shape (n_params,)
        Flat parameters (skbp._network's layout) and SGD's velocity, updated
        in place.
    X : ndarray of shape (n_samples, n_features)
        C-contiguous inputs, of ``theta``'s dtype.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets encoded as network outputs, of ``theta``'s dtype.
    sample_weight : ndarray of shape (n_samples,) or None
        Float64 weights; samples of zero weight are skipped.
    order : ndarray of intp or None
        The epoch's row order; samples ``order[start:stop]`` are taken.
    start, stop : int
        Positions in the epoch.
    layer_units : ndarray of intp
        ``(n_features, *hidden, n_outputs)``.
    coef_offsets, intercept_offsets : ndarray of intp
        Where each layer's weights and biases start in ``theta``.
    unit_offsets : ndarray of intp
        Where each non-input layer's units start in ``buffer``'s halves.
    buffer : ndarray
        Scratch of ``2 * sum(layer_units[1:])``: outputs, then deltas.
    hidden_codes : ndarray of intc
        The activation of each hidden layer (skbp._per_example).
    output_code : int
        The output layer (skbp._per_example).
    alpha : float
        L2 penalty.
    learning_rate, momentum : float
        SGD's step size and momentum.
    nesterov : bool
        Nesterov's momentum.

    Returns
    -------
    loss_sum : float
        The sum of the samples' regularised losses, each before its step.
    position : int
        ``stop``, or the position of the first sample whose loss was not
        finite (its step not taken).
    loss : float
        That non-finite loss (NaN when all were finite).

    Raises
    ------
    TypeError
        For None (but for ``sample_weight`` and ``order``), or arrays of
        other dtypes than these.
    ValueError
        For another code, arrays of other lengths or shapes than the layout
        says, a layout that does not fit ``theta`` or ``buffer``, positions
        outside the epoch or rows outside ``X``, or arrays that are not
        C-contiguous.  Nothing is updated then.
    """
    cdef Py_ssize_t n_layers = layer_units.shape[0]
    cdef Py_ssize_t last = n_layers - 2
    cdef Py_ssize_t n_units = buffer.shape[0] // 2
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t n_outputs, n_coefs
    cdef Py_ssize_t position, row, layer, i
    cdef bint weighted = sample_weight is not None
    cdef bint shuffled = order is not None
    cdef bint penalised = alpha != 0
    cdef floating rate = <floating>learning_rate
    cdef floating mu = <floating>momentum
    cdef floating penalty_scale
    cdef floating* outputs
    cdef floating* deltas
    cdef floating* z
    cdef const floating* inputs
    cdef double weight, loss, squares = 0.0, loss_sum = 0.0
    cdef double bad_loss = float("nan")
    cdef Py_ssize_t stopped_at = stop
    # Every argument is checked before the first step (O(layers), and
    # O(stop - start) for the rows of ``order``), so that a refusal leaves
    # theta and the velocity as they were.
    if not _implemented_output(output_code):
        raise ValueError(
            f"sgd_epoch has no output layer of code {output_code} "
            "(skbp._kernel_codes)."
        )
    if velocity.shape[0] != theta.shape[0]:
        raise ValueError(
            f"sgd_epoch: theta has {theta.shape[0]} entries, the velocity "
            f"{velocity.shape[0]}."
        )
    _check_layout(
        layer_units, coef_offsets, intercept_offsets, unit_offsets, theta.shape[0], n_units
    )
    if hidden_codes.shape[0] != n_layers - 2:
        raise ValueError(
            f"sgd_epoch: {n_layers} layers need {n_layers - 2} activation codes; "
            f"got {hidden_codes.shape[0]}."
        )
    for layer in range(n_layers - 2):
        if not _implemented_activation(hidden_codes[layer]):
            raise ValueError(
                f"sgd_epoch has no activation of code {hidden_codes[layer]} "
                "(skbp._kernel_codes)."
            )
    n_outputs = layer_units[n_layers - 1]
    if (
        X.shape[1] != layer_units[0]
        or Y.shape[0] != n_samples
        or Y.shape[1] != n_outputs
        or (weighted and sample_weight.shape[0] != n_samples)
    ):
        raise ValueError(
            f"sgd_epoch: X is {n_samples} x {X.shape[1]} and Y "
            f"{Y.shape[0]} x {Y.shape[1]}"
            + (f", with {sample_weight.shape[0]} weights" if weighted else "")
            + f", for {layer_units[0]} inputs and {n_outputs} outputs."
        )
    _check_rows(n_samples, order, start, stop)
    n_coefs = intercept_offsets[0]
    outputs = &buffer[0]
    deltas = &buffer[n_units]
    for i in range(n_coefs):
        squares += theta[i] * theta[i]
    with nogil:
        for position in range(start, stop):
            row = order[position] if shuffled else position
            weight = sample_weight[row] if weighted else 1.0
            if weight == 0:
                continue  # a sample that weighs nothing has no gradient (0 / 0)
            inputs = &X[row, 0]
            for layer in range(last + 1):
                z = outputs + unit_offsets[layer]
                _layer_forward(
                    inputs,
                    &theta[coef_offsets[layer]],
                    &theta[intercept_offsets[layer]],
                    z,
                    layer_units[layer],
                    layer_units[layer + 1],
                )
                if layer < last:
                    for i in range(layer_units[layer + 1]):
                        z[i] = _activate(z[i], hidden_codes[layer])
                inputs = z
            loss = _output_loss_and_delta(
                outputs + unit_offsets[last],
                &Y[row, 0],
                deltas + unit_offsets[last],
                n_outputs,
                output_code,
            )
            if weighted:
                loss = loss * weight / weight  # as the weighted mean of one
            if penalised:
                loss = loss + 0.5 * alpha * squares / weight
            if not isfinite(loss):
                stopped_at, bad_loss = position, loss
                break
            loss_sum += loss
            penalty_scale = <floating>(alpha / weight)
            squares = 0.0
            for layer in range(last, -1, -1):
                squares += _layer_backward_and_step(
                    &theta[coef_offsets[layer]],
                    &theta[intercept_offsets[layer]],
                    &velocity[coef_offsets[layer]],
                    &velocity[intercept_offsets[layer]],
                    &X[row, 0] if layer == 0 else outputs + unit_offsets[layer - 1],
                    deltas + unit_offsets[layer],
                    NULL if layer == 0 else deltas + unit_offsets[layer - 1],
                    layer_units[layer],
                    layer_units[layer + 1],
                    # The layer below's activation; unused for the first layer.
                    hidden_codes[layer - 1] if layer > 0 else 0,
                    penalty_scale,
                    penalised,
                    rate,
                    mu,
                    nesterov,
                )
    return loss_sum, stopped_at, bad_loss
