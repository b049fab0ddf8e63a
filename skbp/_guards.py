"""Failure guards: a failing call changes nothing; no float warning escapes.

The estimators wrap each public call in these: :func:`unchanged_on_error`
puts the estimator back as it was when a call raises, :func:`quiet_floats`
silences floating-point warnings whose cases are handled explicitly, and the
clipping helpers keep predictions finite.
"""

import functools
import math
from contextlib import contextmanager

import numpy as np
from sklearn.utils import gen_batches

from ._losses import softmax_kernel
from ._network import predict_raw_from_views
from ._primitives import NUMPY, copy_array, primitives_for
from ._validation import all_finite


@contextmanager
def unchanged_on_error(estimator):
    """Restore ``estimator`` exactly as it was if the block raises.

    Attributes are restored by reference; the flat parameter vector and the
    training bookkeeping, which training updates in place, are restored by
    value so that ``coefs_`` and ``intercepts_`` stay live views.  A
    ``RandomState`` instance passed as ``random_state`` is rewound too: the
    call that failed drew from it, and a later fit must draw what it would
    have drawn without that call.  A Ctrl-C that lands while the estimator
    is being restored does not cut the restoring short.
    """
    restore = _restorer(estimator)
    try:
        yield
    except BaseException:
        while True:
            try:
                restore()  # idempotent, so it can start over
                break
            except KeyboardInterrupt:
                continue
        raise


def _restorer(estimator):
    """Return a function that puts ``estimator`` back as it is now."""
    saved_attributes = dict(estimator.__dict__)
    theta = saved_attributes.get("_theta")
    saved_theta = None if theta is None else copy_array(theta)
    progress = saved_attributes.get("_progress")
    restore_progress = None if progress is None else progress.checkpoint()
    # The RandomStates it holds (a random_state passed as one, the dropout
    # stream) are rewound: the failed call drew from them.
    random_states = [
        (value, value.get_state())
        for value in saved_attributes.values()
        if isinstance(value, np.random.RandomState)
    ]

    def restore():
        estimator.__dict__.clear()
        estimator.__dict__.update(saved_attributes)
        if theta is not None:
            theta[...] = saved_theta
        if restore_progress is not None:
            restore_progress()
        for random_state, saved in random_states:
            random_state.set_state(saved)

    return restore


_UNIT_INTERVAL_INSIDE = {
    np.dtype(dtype): (np.finfo(dtype).tiny, np.nextafter(dtype(1), dtype(0)))
    for dtype in (np.float32, np.float64)
}


def quiet_floats(method):
    """Run ``method`` with NumPy's floating-point warnings off.

    Overflow and underflow in intermediate results are expected at the
    extremes (huge inputs, saturated units) and are handled where they matter:
    training checks its loss and weights and reports divergence as a
    ValueError, prediction clips infinite raw outputs.  No RuntimeWarning from
    deep inside the arithmetic reaches the user.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return method(*args, **kwargs)

    return wrapper


def finite_raw(raw, ops=NUMPY):
    """Clip infinite raw outputs to the largest finite float, in place.

    Overflowing products give +-inf; as the largest float they still rank and
    saturate the output units, where inf would turn the softmax into NaN.
    """
    largest = _LARGEST_FINITE[ops.host_dtype(raw.dtype)]
    return ops.clip(raw, -largest, largest, out=raw)


_LARGEST_FINITE = {
    np.dtype(dtype): float(np.finfo(dtype).max) for dtype in (np.float32, np.float64)
}


def fused_softmax_proba(raw, ops=NUMPY):
    """Softmax probabilities inside (0, 1), in place, by the compiled kernel.

    ``inside_unit_interval(softmax(finite_raw(raw)))`` in one pass per row,
    for a C-contiguous float NumPy array (the NumPy predict path); None where
    the kernel does not serve (:func:`skbp._losses.softmax_kernel` decides).
    """
    kernel = softmax_kernel(raw, raw, ops)
    if kernel is None:
        return None
    lowest, highest = _UNIT_INTERVAL_INSIDE[raw.dtype]
    kernel(raw, raw, float(lowest), float(highest))
    return raw


def inside_unit_interval(proba, ops=NUMPY):
    """Clip probabilities in place to the floats strictly between 0 and 1."""
    lowest, highest = _UNIT_INTERVAL_INSIDE[ops.host_dtype(proba.dtype)]
    return ops.clip(proba, float(lowest), float(highest), out=proba)


DIVERGED_MESSAGE = (
    # scikit-learn's sentence first, word for word, then what to change.
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed. Training diverged: the loss, the "
    "weights or the outputs on the training data became non-finite. Try a smaller "
    "learning_rate_init, a larger alpha, or scale the input data (for example "
    "with StandardScaler)."
)


def raw_output_may_overflow(network, theta, X, largest_parameter=None):
    """Whether some input of ``X``'s range could drive a raw output to inf.

    Bounds each layer's pre-activation by ``fan_in * max|a| * max|w| +
    max|b|`` from the largest parameter and input, layer by layer (tanh and
    logistic units reset the bound to 1).  Two reductions over the
    parameters and one over ``X``: cheap next to training.
    ``largest_parameter``, ``max(|theta|)``, is computed if not given.
    """
    if largest_parameter is None:
        largest_parameter = _largest_magnitude(theta)
    bound = _largest_magnitude(X)
    for layer, fan_in in enumerate(network.layer_units[:-1]):
        if layer > 0 and network.hidden[layer - 1].name in ("tanh", "logistic"):
            bound = 1.0
        bound = (fan_in * bound + 1.0) * largest_parameter
    # Margin: the bound must stay well inside the range to rule overflow out.
    largest = float(np.finfo(primitives_for(theta).host_dtype(theta.dtype)).max)
    return not bound < 1e-3 * largest


def _largest_magnitude(array):
    """``max(|array|)`` as a Python float, for any namespace (or sparse)."""
    if isinstance(array, np.ndarray) or not hasattr(array, "__array_namespace__"):
        return max(float(array.max()), -float(array.min()))
    xp = primitives_for(array).xp
    return max(float(xp.max(array)), -float(xp.min(array)))


_DIVERGENCE_CHECK_ROWS = 4096


def check_not_diverged(network, theta, X, loss, outputs_finite=None):
    """Raise if training left non-finite weights, loss or outputs.

    Weights can stay finite yet grow so large that the next forward pass over
    the training data overflows (inf - inf is NaN).  Where a bound from the
    largest weight and input allows that, the outputs on every row of ``X``
    are checked, so that a fit that returns predicts finite values on its
    training data.

    Parameters
    ----------
    network : Network
        The architecture.
    theta : ndarray of shape (n_params,)
        The trained parameters.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The training rows; with ``outputs_finite`` given, any rows whose
        largest magnitude is that of the training rows (the overflow bound
        reads only that).
    loss : float or None
        The final loss; None where it need not be finite (the best weights
        were restored after a diverging epoch).
    outputs_finite : callable or None, default=None
        ``outputs_finite(network, theta) -> bool``: whether the outputs on
        every training row are finite, for rows that are not in ``X`` (the
        Dask estimators pass one that runs on the workers). None runs
        :func:`_outputs_finite_in_chunks` over ``X``.

    Raises
    ------
    ValueError
        With :data:`DIVERGED_MESSAGE`.
    """
    loss_is_finite = loss is None or math.isfinite(loss)
    # max(|theta|) is NaN or inf unless every parameter is finite.
    largest_parameter = _largest_magnitude(theta)
    if not (loss_is_finite and math.isfinite(largest_parameter)):
        raise ValueError(DIVERGED_MESSAGE)
    if not raw_output_may_overflow(network, theta, X, largest_parameter):
        return
    if outputs_finite is None:
        outputs_finite = functools.partial(_outputs_finite_in_chunks, X=X)
    if not outputs_finite(network, theta):
        raise ValueError(DIVERGED_MESSAGE)


def _outputs_finite_in_chunks(network, theta, X):
    """Whether the raw outputs on every row of ``X`` are finite.

    In chunks, so the check needs no more memory than a predict call.
    """
    coefs, intercepts = network.views(theta)
    for rows in gen_batches(X.shape[0], _DIVERGENCE_CHECK_ROWS):
        raw = predict_raw_from_views(network.hidden, coefs, intercepts, X[rows, :])
        if not all_finite(raw):
            return False
    return True
