"""Input validation helpers and the lean paths that skip it.

A plain C-contiguous float array with finite values passes every check of
``validate_data``; the helpers here recognise such input cheaply, so that
``partial_fit`` and ``predict`` on small batches skip the full validation.
Anything else goes through scikit-learn's validation and its messages.
"""

import math
import os
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.externals import array_api_compat
from sklearn.utils.validation import _check_sample_weight

from ._primitives import primitives_for


def is_same_view(candidate, view):
    """Whether ``candidate`` is exactly ``view``: same start, shape and strides."""
    return (
        isinstance(candidate, np.ndarray)
        and candidate.dtype == view.dtype
        and candidate.shape == view.shape
        and candidate.strides == view.strides
        and candidate.__array_interface__["data"][0]
        == view.__array_interface__["data"][0]
    )


def hidden_layer_sizes_tuple(hidden_layer_sizes):
    """Return ``hidden_layer_sizes`` as a tuple of positive ints, or raise."""
    if not hasattr(hidden_layer_sizes, "__iter__"):
        hidden_layer_sizes = [hidden_layer_sizes]
    sizes = list(hidden_layer_sizes)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) for s in sizes):
        raise ValueError(
            f"hidden_layer_sizes must be a sequence of positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    if any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return tuple(int(s) for s in sizes)


FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


_PARAM_NAMES = {}


def param_names(cls):
    """``cls._get_param_names()``, which inspects ``__init__``, cached per class."""
    if cls not in _PARAM_NAMES:
        _PARAM_NAMES[cls] = tuple(cls._get_param_names())
    return _PARAM_NAMES[cls]


def all_finite(array):
    """Whether every value of ``array`` is finite.

    The sum is finite only if every term is, and it is one cheap pass without
    a boolean temporary; a sum that overflows from finite terms falls back to
    the elementwise test.
    """
    if isinstance(array, np.ndarray):
        # np.add.reduce: the ufunc itself, without ndarray.sum's Python wrapper.
        total = np.add.reduce(array, axis=None)
        return bool(np.isfinite(total)) or bool(np.isfinite(array).all())
    xp = primitives_for(array).xp
    return bool(xp.isfinite(xp.sum(array))) or bool(xp.all(xp.isfinite(array)))


def is_finite(array):
    """:func:`all_finite`, or True under ``sklearn.set_config(assume_finite=True)``."""
    # The check first: it is cheaper than reading the configuration.
    return all_finite(array) or get_config()["assume_finite"]


def plain_float_matrix(X, n_features):
    """Whether ``X`` passes every check of ``validate_data`` as it is.

    A C-contiguous float32/float64 ndarray with at least one row, the fitted
    number of features and finite values needs no conversion; anything else
    goes through ``validate_data``, which converts it or explains the problem.
    """
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in FLOAT_DTYPES
        and X.flags.c_contiguous
        and X.shape[0] > 0
        and X.shape[1] == n_features
        and is_finite(X)
    )


def check_has_features(X, estimator):
    """Refuse a table without columns, with ``check_array``'s message for arrays.

    ``check_array`` finds no dtype among the columns of an empty pandas
    DataFrame and fails in NumPy ("at least one array or dtype is
    required"); a 0-column array gets this message from it instead.
    """
    shape = getattr(X, "shape", None)
    if (
        type(X) is not np.ndarray
        and hasattr(X, "dtypes")
        and isinstance(shape, tuple)
        and len(shape) == 2
        and shape[1] == 0
    ):
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 "
            f"is required by {type(estimator).__name__}."
        )


def plain_sample_weight(sample_weight, n_samples):
    """Whether ``sample_weight`` is a finite, non-negative float vector."""
    return (
        type(sample_weight) is np.ndarray
        and sample_weight.ndim == 1
        and sample_weight.shape[0] == n_samples
        and sample_weight.dtype in FLOAT_DTYPES
        and is_finite(sample_weight)
        and sample_weight.min() >= 0
        and sample_weight.any()
    )


def detached(array):
    """``array`` without autograd history, if it is a tensor that records one.

    A torch tensor with ``requires_grad=True`` cannot be written by torch's
    ``out=`` kernels nor read by NumPy; training and prediction use its
    values, so every input is detached where it enters (never a copy).
    """
    if type(array) is np.ndarray or not array_api_compat.is_torch_array(array):
        return array
    return array.detach() if array.requires_grad else array


def score_weights(sample_weight, X):
    """Validate ``score``'s sample weights as ``fit`` validates its own.

    scikit-learn's ``score`` hands the weights to the metric unchecked, and
    the metrics accept negative weights.
    """
    return checked_sample_weight(detached(sample_weight), X, dtype=None)


def comparable_labels(y_dtype, classes_dtype):
    """Whether labels of these dtypes compare as ``LabelBinarizer`` compares them."""
    kinds = y_dtype.kind + classes_dtype.kind
    return all(kind in "biuf" for kind in kinds) or kinds in ("UU", "SS")


def checked_sample_weight(sample_weight, X, dtype, *, allow_all_zero=False):
    """Validate sample weights as ``fit`` does: finite, non-negative, not all zero.

    scikit-learn's ``_check_sample_weight`` refuses NaN and inf in an array,
    but broadcasts a scalar NaN or inf to every sample.  ``allow_all_zero``
    leaves the last check to a caller with a message of its own.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real) and not math.isfinite(sample_weight):
        raise ValueError(
            f"sample_weight must be finite, got the scalar {sample_weight!r}. Pass "
            "a non-negative number, or an array with one weight per sample."
        )
    return _check_sample_weight(
        sample_weight,
        X,
        dtype=dtype,
        ensure_non_negative=True,
        allow_all_zero_weights=allow_all_zero,
    )


def _physical_memory():
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


# The fewest parameter-sized vectors any solver keeps: the parameters, the
# gradient and the step.  The optimizers' moments and L-BFGS's history add to
# this, so the estimate is a lower bound and never refuses a fit that fits.
_MIN_PARAMETER_VECTORS = 3


def check_parameter_memory(network, hidden_layer_sizes, dtype):
    """Refuse a network whose parameters alone would not fit in memory.

    Raises before anything is allocated, naming ``hidden_layer_sizes`` and
    the memory it would need, where NumPy's allocator would otherwise fail
    deep inside (or the machine start swapping).
    """
    available = _physical_memory()
    needed = network.n_params * np.dtype(dtype).itemsize * _MIN_PARAMETER_VECTORS
    if available is not None and needed > available:
        raise ValueError(
            f"hidden_layer_sizes={hidden_layer_sizes!r} gives a network of "
            f"{network.n_params:,} parameters, which needs at least "
            f"{needed / 2**30:,.1f} GiB of memory to train, more than the "
            f"{available / 2**30:,.1f} GiB of this machine. Choose smaller "
            "hidden layers."
        )
