"""Where the estimators' arrays live: input namespaces, host and device.

Under ``sklearn.config_context(array_api_dispatch=True)`` an estimator fitted
on torch tensors, CuPy arrays or another array-API namespace keeps ``X``, its
parameters and its predictions in that namespace and on that device; the
rest stays on the host, in NumPy:

- ``y`` is validated and encoded on the host (labels may be strings; the
  ``LabelBinarizer`` is NumPy's), then its encoding is moved to the device
  once per call, in the model's float dtype;
- sample weights are validated on the device and copied to the host, where
  class weights are folded in and batches of zero weight are found;
- initial weights, shuffles and the early-stopping split are drawn on the
  host from the estimator's ``RandomState``, so every namespace starts from
  the weights (and visits the rows in the order) the NumPy fit does.

Without dispatch, inputs go through ``np.asarray`` as in the rest of
scikit-learn.
"""

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.externals import array_api_compat
from sklearn.utils._array_api import move_to, supported_float_dtypes
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from ._primitives import NUMPY, copy_array, primitives_for
from ._training import TrainingData
from ._validation import checked_sample_weight, detached

# The dtypes a first fit may choose from: those of NumPy's path, by name.
FIRST_FIT_DTYPES = (np.float64, np.float32)


def input_primitives(X):
    """The primitives of the namespace ``X`` is computed in.

    NumPy for NumPy arrays, sparse matrices, array-likes (lists, DataFrames)
    and for everything when array-API dispatch is off; the array's own
    namespace and device otherwise.
    """
    if (
        type(X) is np.ndarray
        or sp.issparse(X)
        or not array_api_compat.is_array_api_obj(X)
        or not get_config()["array_api_dispatch"]
    ):
        return NUMPY
    return primitives_for(X)


def to_host(array):
    """``array`` as NumPy if it is an array of another namespace; else as is."""
    if array is None or type(array) is np.ndarray:
        return array
    array = detached(array)
    if not array_api_compat.is_array_api_obj(array):
        return array
    if array_api_compat.is_numpy_array(array):
        return array
    return move_to(array, xp=np, device="cpu")


def _device_float_dtypes(ops):
    """float64 and float32 of the namespace, those the device supports."""
    supported = supported_float_dtypes(ops.xp, ops.device)
    wanted = (ops.xp.float64, ops.xp.float32)
    return tuple(dtype for dtype in supported if dtype in wanted)


def _has_numeric_dtype(array):
    if isinstance(array, np.ndarray):
        return array.dtype.kind in "biuf"
    return True  # array-API namespaces hold numbers only


def _namespace_name(ops):
    return ops.name if ops.device is None else f"{ops.name} on {ops.device}"


class ArrayAPIMixin:
    """Keep the estimators' arrays in their input's namespace and device."""

    def _check_fitted_namespace(self, ops, method, caller=None):
        """Refuse input of another namespace or device than the fitted model's.

        Worded as scikit-learn's ``check_same_namespace``, whose estimator
        check looks for this message; ``caller`` names the estimator whose
        method was called (a meta-estimator around this one), if not this.
        """
        theta = self.__dict__.get("_theta")
        fitted = NUMPY if theta is None else primitives_for(theta)
        if fitted is ops:
            return
        hint = (
            " Call it inside sklearn.config_context(array_api_dispatch=True)."
            if not get_config()["array_api_dispatch"]
            else ""
        )
        caller = caller or type(self).__name__
        raise ValueError(
            f"Inputs passed to {caller}.{method}() must use the same namespace "
            "and the same device as those passed to fit(): the model "
            f"was fitted on {_namespace_name(fitted)} arrays, this input is "
            f"{_namespace_name(ops)}.{hint}"
        )

    def _checked_device_arrays(self, X, y, sample_weight, ops, *, dtype, reset):
        """Validate ``X`` on its device, ``y`` on the host; weights to the host.

        Returns
        -------
        X : array of the namespace of ``ops``
        y : ndarray
        sample_weight : ndarray or None
        """
        if dtype is FIRST_FIT_DTYPES:
            dtype = _device_float_dtypes(ops)
        X, sample_weight = detached(X), detached(sample_weight)
        X = validate_data(self, X, dtype=dtype, reset=reset)
        y = validate_data(
            self,
            X="no_validation",
            y=to_host(y),
            multi_output=True,
            **self._y_validation_options(),
        )
        check_consistent_length(X, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        sample_weight = checked_sample_weight(sample_weight, X, X.dtype)
        return X, y, to_host(sample_weight)

    def _on_device(self, data):
        """``data`` (targets and weights on the host) moved to ``X``'s device."""
        ops = primitives_for(data.X)
        if ops.is_numpy:
            return data
        self._classes_on_device(ops)
        weights = data.sample_weight
        return TrainingData(
            data.X,
            ops.from_host(data.y, data.X.dtype),
            None if weights is None else ops.from_host(weights, data.X.dtype),
            host_sample_weight=weights,
        )

    def _classes_on_device(self, ops):
        """Publish class labels in the input's namespace (classifier only)."""

    def __sklearn_array_api_convert__(self, converter):
        """A copy of this fitted estimator with its arrays converted.

        scikit-learn's ``move_estimator_to(estimator, xp, device)`` calls this
        hook, e.g. to serve on the CPU a model trained on a GPU.  The flat
        parameter vector, the optimizer state (so a ``partial_fit`` stream can
        go on there) and numeric ``classes_`` are converted; ``coefs_`` and
        ``intercepts_`` are rebuilt as views of the converted vector.

        Parameters
        ----------
        converter : callable
            Maps an array to its counterpart in the target namespace.

        Returns
        -------
        estimator : estimator
            A new estimator of the same class and parameters.
        """

        def convert(array):
            # The copy shares nothing with this estimator, even where the
            # array needs no moving.
            moved = converter(array)
            return copy_array(moved) if moved is array else moved

        state = {
            key: list(value) if type(value) is list else value
            for key, value in self.__getstate__().items()
        }
        if "_theta" in state:
            state["_theta"] = convert(state["_theta"])
        if state.get("_progress") is not None:
            state["_progress"] = state["_progress"].converted(convert)
        classes = state.get("classes_")
        if classes is not None and _has_numeric_dtype(classes):
            state["classes_"] = convert(classes)
        moved = type(self).__new__(type(self))
        moved.__setstate__(state)
        if state.get("_progress") is not None:
            moved._publish_progress(moved._progress)
        return moved

    def _model_input(self, X, method):
        """``X`` validated for prediction, in the fitted model's namespace.

        The model's dtype is kept: a float32 batch for a float64 model is
        computed in float64, as NumPy's type promotion does.
        """
        ops = input_primitives(X)
        self._check_fitted_namespace(ops, method)
        X = validate_data(self, detached(X), reset=False)
        theta = self.__dict__.get("_theta")
        if theta is not None and X.dtype != theta.dtype:
            X = ops.xp.astype(X, theta.dtype)
        return X
