"""Array primitives chosen by the input's namespace: the seam of one core.

The core (forward, backward, losses, optimizers) is written once against the
small set of operations below (design principle 6).  Each takes an
optional ``out=`` buffer and returns the result, which callers always use:

- :class:`NumPyPrimitives` maps them onto NumPy's ufuncs with ``out=``,
  scipy's ``expit`` and ``einsum``: the arithmetic of the NumPy path is the
  one that matches scikit-learn's MLP, unchanged;
- :class:`TorchPrimitives` onto torch's own ``out=`` kernels, on the tensors'
  device;
- :class:`ArrayAPIPrimitives` onto plain array-API functions for any other
  namespace (array-api-strict, CuPy through array-api-compat), writing into
  ``out`` by assignment where one is given.

Every namespace here must give views for slices and reshapes and support
in-place operators (``+=``, ``*=``, assignment into slices): the per-layer
``coefs_`` are views into one flat parameter vector (principle 2), updated
in place.  NumPy, torch, CuPy and array-api-strict do; immutable arrays
(JAX) are refused by :func:`primitives_for`.

Random draws never happen here: they come from the estimators' NumPy
``RandomState`` on the host and are moved with :meth:`from_host`.
"""

import os
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from scipy.special import erfc, expit, xlogy
from sklearn.externals import array_api_compat
from sklearn.utils._array_api import move_to


@contextmanager
def _sleeping_openmp_threads():
    """Load OpenMP with its idle threads asleep, unless the user chose otherwise.

    OpenMP's threads spin for a while after each parallel region by default,
    waiting for the next; between the kernels come BLAS's matrix products,
    whose threads they then compete with: on 2 cores an Adam fit took 13
    times as long.  OpenMP reads ``OMP_WAIT_POLICY`` once, when it is
    loaded (with skbp._kernels), so it is set to ``PASSIVE`` for that moment
    only, and the environment is left as it was.
    """
    chosen = {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"} & set(os.environ)
    if chosen:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        del os.environ["OMP_WAIT_POLICY"]


try:  # built by `pip install .` (setup.py); the NumPy expressions otherwise
    with _sleeping_openmp_threads():
        from ._kernels import adam_step as _fused_adam_step
    from ._kernels import bias_activation as _fused_bias_activation
    from ._kernels import multiply_derivative as _fused_derivative
    from ._kernels import output_delta_and_loss as _fused_output
    from ._kernels import sgd_step as _fused_sgd_step
    from ._kernels import softmax_rows as _fused_softmax
except ImportError:  # pragma: no cover - a source tree without the build
    _fused_adam_step = _fused_sgd_step = None
    _fused_bias_activation = _fused_derivative = _fused_output = None
    _fused_softmax = None
try:
    from ._sgd_loop import sgd_epoch as _per_example_sgd
except ImportError:  # pragma: no cover - a source tree without the build
    _per_example_sgd = None


def matmul_into(a, b, out=None):
    """Write ``a @ b`` into ``out`` and return it; ``a`` may be sparse.

    Parameters
    ----------
    a : {ndarray, sparse matrix} of shape (n, k)
    b : ndarray of shape (k, m)
    out : ndarray of shape (n, m) or None
        Allocated if None.

    Returns
    -------
    out : ndarray of shape (n, m)
    """
    if type(a) is not np.ndarray and sp.issparse(a):
        if out is None:
            return np.asarray(a @ b)
        out[...] = a @ b
        return out
    return np.matmul(a, b, out=out)


def _mask_positive_numpy(delta, activation):
    # Multiplying by the boolean mask is several times faster than assigning
    # through it (delta[activation <= 0] = 0).
    return np.multiply(delta, activation > 0, out=delta)


def _clip_numpy(x, lowest, highest, out=None):
    # Two ufunc calls: np.clip's Python wrapper costs more than the clipping
    # when predicting a single row.
    out = np.maximum(x, lowest, out=out)
    return np.minimum(out, highest, out=out)


def _select_numpy(condition, if_true, if_false, like):
    return np.where(condition, if_true, if_false).astype(like.dtype, copy=False)


def _concat_columns_numpy(arrays):
    return np.hstack(arrays)


def _logaddexp0_numpy(x):
    return np.logaddexp(0, x)


def _rowwise_dot_numpy(a, b):
    return np.einsum("ij,ij->i", a, b)


def _take_rows_numpy(A, index, out=None):
    if sp.issparse(A):
        return A[index]
    # mode="clip" skips the bounds check's extra copy (the rows are a
    # permutation of valid indices).
    return A.take(index, axis=0, out=out, mode="clip")


class NumPyPrimitives:
    """The primitives on NumPy arrays (and scipy.sparse inputs).

    The attributes are NumPy's own functions, so that the hot path of the
    NumPy estimators pays one attribute lookup per operation and nothing more.
    """

    name = "numpy"
    xp = np
    device = None
    is_numpy = True
    # Per-batch checks (the batch loss's finiteness, a batch of zero weight)
    # cost nothing on the host; other namespaces defer them to the epoch's end.
    syncs_each_step = True

    matmul = staticmethod(matmul_into)
    # Ufuncs and their reductions called directly: no Python frame between
    # the core and NumPy's C code (per-example SGD takes ~25 such calls).
    dense_matmul = np.matmul
    maximum = np.maximum
    sum = np.add.reduce
    max = np.maximum.reduce
    multiply = staticmethod(np.multiply)
    subtract = staticmethod(np.subtract)
    divide = staticmethod(np.divide)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.absolute)
    sign = staticmethod(np.sign)
    exp = staticmethod(np.exp)
    tanh = staticmethod(np.tanh)
    expit = staticmethod(expit)
    erfc = staticmethod(erfc)
    select = staticmethod(_select_numpy)
    clip = staticmethod(_clip_numpy)
    concat_columns = staticmethod(_concat_columns_numpy)
    mask_positive = staticmethod(_mask_positive_numpy)
    logaddexp0 = staticmethod(_logaddexp0_numpy)
    rowwise_dot = staticmethod(_rowwise_dot_numpy)
    xlogy = staticmethod(xlogy)
    take_rows = staticmethod(_take_rows_numpy)
    # Compiled kernels (skbp/_kernels.pyx): bit for bit the ufunc passes they
    # replace, but for softmax_rows and the loss of output_delta_and_loss,
    # which agree to a few units in the last place.  The objects that use
    # them decide when (Activation, OutputLayer, the optimizers' apply, and
    # skbp._losses.softmax_kernel), each with kernel_ready below.
    fused_adam_step = staticmethod(_fused_adam_step) if _fused_adam_step else None
    fused_sgd_step = staticmethod(_fused_sgd_step) if _fused_sgd_step else None
    fused_bias_activation = (
        staticmethod(_fused_bias_activation) if _fused_bias_activation else None
    )
    fused_derivative = staticmethod(_fused_derivative) if _fused_derivative else None
    fused_output = staticmethod(_fused_output) if _fused_output else None
    fused_softmax = staticmethod(_fused_softmax) if _fused_softmax else None
    # The compiled per-example SGD loop (skbp/_sgd_loop.pyx); see _per_example.
    per_example_sgd = staticmethod(_per_example_sgd) if _per_example_sgd else None

    @staticmethod
    def empty(shape, dtype):
        """An uninitialised array."""
        return np.empty(shape, dtype)

    @staticmethod
    def zeros(shape, dtype):
        """An array of zeros."""
        return np.zeros(shape, dtype)

    @staticmethod
    def ones(shape, dtype):
        """An array of ones."""
        return np.ones(shape, dtype)

    @staticmethod
    def copy(array):
        """A copy of ``array`` in this namespace."""
        return array.copy()

    @staticmethod
    def from_host(array, dtype=None):
        """``array`` (NumPy) in this namespace, on this device."""
        return np.asarray(array, dtype=dtype)

    @staticmethod
    def to_host(array):
        """``array`` as a NumPy array."""
        return array

    @staticmethod
    def scalar(value):
        """A reduction's result as a Python float (NumPy syncs for free)."""
        return float(value)

    @staticmethod
    def reshape(array, shape):
        """A view of ``array`` with another shape."""
        return array.reshape(shape)

    @staticmethod
    def float_dtype(name):
        """The namespace's floating dtype called ``name``."""
        return np.dtype(name)

    @staticmethod
    def dtype_name(dtype):
        """The name ('float32', 'float64') of a namespace dtype."""
        return np.dtype(dtype).name

    # NumPy's dtypes are their own host dtypes.
    host_dtype = staticmethod(np.dtype)


NUMPY = NumPyPrimitives()


def _write(value, out):
    """Return ``value``, assigned into ``out`` first if a buffer is given."""
    if out is None:
        return value
    out[...] = value
    return out


class ArrayAPIPrimitives:
    """The primitives in plain array-API code, for any in-place namespace.

    Parameters
    ----------
    xp : module
        The array-API namespace (as array-api-compat returns it).
    device : object
        The device every array is allocated on.
    """

    is_numpy = False
    syncs_each_step = False
    fused_adam_step = None
    fused_sgd_step = None
    fused_bias_activation = None
    fused_derivative = None
    fused_output = None
    fused_softmax = None
    per_example_sgd = None

    def __init__(self, xp, device):
        self.xp = xp
        self.device = device
        self.name = xp.__name__

    def matmul(self, a, b, out=None):
        """``a @ b``."""
        return _write(a @ b, out)

    def dense_matmul(self, a, b, out=None):
        """``a @ b`` of two dense arrays (NumPy's may take a sparse ``a``)."""
        return self.matmul(a, b, out=out)

    def maximum(self, x, other, out=None):
        """The elementwise maximum of ``x`` and ``other`` (a float or an array)."""
        return _write(self.xp.maximum(x, self._like(other, x)), out)

    def _like(self, value, array):
        """``value`` (a Python float or an array) as an array like ``array``."""
        if hasattr(value, "shape"):
            return value
        return self.xp.asarray(value, dtype=array.dtype, device=self.device)

    def select(self, condition, if_true, if_false, like):
        """``if_true`` where ``condition``, else ``if_false``, in ``like``'s dtype."""
        xp = self.xp
        return xp.where(
            condition, self._like(if_true, like), self._like(if_false, like)
        )

    def erfc(self, x):
        """The complementary error function (the namespace's own, else on the host)."""
        own = getattr(self.xp, "erfc", None)
        if own is not None:
            return own(x)
        if array_api_compat.is_cupy_namespace(self.xp):
            from cupyx.scipy.special import erfc as cupy_erfc

            return cupy_erfc(x)
        # The array API has no erfc: a NumPy round trip, for the namespaces
        # without one (array-api-strict); torch and CuPy have their own.
        return self.from_host(erfc(self.to_host(x)), x.dtype)

    def sum(self, x, axis=None, dtype=None, keepdims=False):
        """Sum over ``axis``, as NumPy's ``add.reduce``."""
        return self.xp.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, x, axis=None, keepdims=False):
        """Maximum over ``axis``, as NumPy's ``maximum.reduce``."""
        return self.xp.max(x, axis=axis, keepdims=keepdims)

    def multiply(self, a, b, out=None):
        """``a * b``."""
        return _write(a * b, out)

    def subtract(self, a, b, out=None):
        """``a - b``."""
        return _write(a - b, out)

    def divide(self, a, b, out=None):
        """``a / b``."""
        return _write(a / b, out)

    def sqrt(self, x, out=None):
        """Square root."""
        return _write(self.xp.sqrt(x), out)

    def abs(self, x, out=None):
        """Absolute value."""
        return _write(self.xp.abs(x), out)

    def sign(self, x, out=None):
        """-1, 0 or 1 as ``x`` is negative, zero or positive."""
        return _write(self.xp.sign(x), out)

    def exp(self, x, out=None):
        """Exponential."""
        return _write(self.xp.exp(x), out)

    def tanh(self, x, out=None):
        """Hyperbolic tangent."""
        return _write(self.xp.tanh(x), out)

    def expit(self, x, out=None):
        """The logistic function ``1 / (1 + exp(-x))``."""
        return _write(1.0 / (1.0 + self.xp.exp(-x)), out)

    def clip(self, x, lowest, highest, out=None):
        """``x`` clipped to ``[lowest, highest]`` (Python floats)."""
        return _write(self.xp.clip(x, min=lowest, max=highest), out)

    def concat_columns(self, arrays):
        """2-d arrays side by side."""
        return self.xp.concat(arrays, axis=1)

    def mask_positive(self, delta, activation):
        """``delta`` times ``activation > 0``, in place."""
        delta *= self.xp.astype(activation > 0, delta.dtype)
        return delta

    def logaddexp0(self, x):
        """``log(1 + exp(x))`` without overflow."""
        return self.xp.logaddexp(self.xp.zeros_like(x), x)

    def rowwise_dot(self, a, b):
        """The dot product of each row of ``a`` with the same row of ``b``."""
        return self.xp.sum(a * b, axis=1)

    def xlogy(self, x, y):
        """``x * log(y)``, 0 where ``x`` is 0."""
        xp = self.xp
        safe_y = xp.where(x == 0, xp.ones_like(y), y)
        return x * xp.log(safe_y)

    def take_rows(self, A, index, out=None):
        """The rows of ``A`` at ``index`` (an integer array of this namespace)."""
        return _write(self.xp.take(A, index, axis=0), out)

    def empty(self, shape, dtype):
        """An uninitialised array on the device."""
        return self.xp.empty(shape, dtype=dtype, device=self.device)

    def zeros(self, shape, dtype):
        """An array of zeros on the device."""
        return self.xp.zeros(shape, dtype=dtype, device=self.device)

    def ones(self, shape, dtype):
        """An array of ones on the device."""
        return self.xp.ones(shape, dtype=dtype, device=self.device)

    def copy(self, array):
        """A copy of ``array`` on its device."""
        return self.xp.asarray(array, copy=True)

    def from_host(self, array, dtype=None):
        """A NumPy ``array`` moved to the device (as ``dtype``, a name or dtype)."""
        if isinstance(dtype, str):
            dtype = self.float_dtype(dtype)
        return self.xp.asarray(np.asarray(array), dtype=dtype, device=self.device)

    def to_host(self, array):
        """``array`` as a NumPy array."""
        return move_to(array, xp=np, device="cpu")

    @staticmethod
    def scalar(value):
        """A reduction's result, left on the device (no sync)."""
        return value

    def reshape(self, array, shape):
        """A view of ``array`` with another shape."""
        return self.xp.reshape(array, shape)

    def float_dtype(self, name):
        """The namespace's floating dtype called ``name``."""
        return getattr(self.xp, np.dtype(name).name)

    def dtype_name(self, dtype):
        """The name ('float32', 'float64') of a namespace dtype."""
        return "float32" if dtype == self.xp.float32 else "float64"

    def host_dtype(self, dtype):
        """The NumPy dtype of a namespace's floating ``dtype``."""
        return np.dtype(self.dtype_name(dtype))


class TorchPrimitives(ArrayAPIPrimitives):
    """The primitives on torch tensors: torch's own ``out=`` kernels.

    Parameters
    ----------
    xp : module
        array-api-compat's torch namespace (for the functional rest).
    device : torch.device
        The device of the tensors.
    """

    def __init__(self, xp, device):
        super().__init__(xp, device)
        import torch

        self._torch = torch
        self.name = "torch"

    def matmul(self, a, b, out=None):
        """``a @ b``, written into ``out``."""
        if a.ndim == 1:
            # torch.matmul resizes a 1-d ``out`` here (as if it were 2-d),
            # which would detach it from the vector it is a view of.
            return self._torch.mv(b.T, a, out=out)
        return self._torch.matmul(a, b, out=out)

    def multiply(self, a, b, out=None):
        """``a * b``, written into ``out``."""
        return self._torch.mul(a, b, out=out)

    def subtract(self, a, b, out=None):
        """``a - b``, written into ``out``."""
        return self._torch.sub(a, b, out=out)

    def divide(self, a, b, out=None):
        """``a / b``, written into ``out``."""
        return self._torch.div(a, b, out=out)

    def sqrt(self, x, out=None):
        """Square root, written into ``out``."""
        return self._torch.sqrt(x, out=out)

    def abs(self, x, out=None):
        """Absolute value, written into ``out``."""
        return self._torch.abs(x, out=out)

    def sign(self, x, out=None):
        """-1, 0 or 1 as ``x`` is negative, zero or positive, written into ``out``."""
        return self._torch.sign(x, out=out)

    def exp(self, x, out=None):
        """Exponential, written into ``out``."""
        return self._torch.exp(x, out=out)

    def tanh(self, x, out=None):
        """Hyperbolic tangent, written into ``out``."""
        return self._torch.tanh(x, out=out)

    def expit(self, x, out=None):
        """The logistic function, written into ``out``."""
        return self._torch.sigmoid(x, out=out)

    def maximum(self, x, other, out=None):
        """The elementwise maximum of ``x`` and ``other``, written into ``out``."""
        if hasattr(other, "shape"):
            return self._torch.maximum(x, other, out=out)
        return self._torch.clamp(x, min=other, out=out)

    def erfc(self, x):
        """The complementary error function."""
        return self._torch.special.erfc(x)

    def clip(self, x, lowest, highest, out=None):
        """``x`` clipped to ``[lowest, highest]``, written into ``out``."""
        return self._torch.clamp(x, min=lowest, max=highest, out=out)

    def mask_positive(self, delta, activation):
        """``delta`` times ``activation > 0``, in place."""
        return delta.mul_(activation > 0)

    def xlogy(self, x, y):
        """``x * log(y)``, 0 where ``x`` is 0."""
        return self._torch.xlogy(x, y)

    def take_rows(self, A, index, out=None):
        """The rows of ``A`` at ``index``, written into ``out``."""
        return self._torch.index_select(A, 0, index, out=out)

    def copy(self, array):
        """A copy of ``array`` on its device."""
        return array.clone()


_PRIMITIVES = {}


def primitives_for(array):
    """Return the primitives for the namespace and device of ``array``.

    Parameters
    ----------
    array : array or sparse matrix
        An input or parameter array.

    Returns
    -------
    primitives : NumPyPrimitives or ArrayAPIPrimitives

    Raises
    ------
    ValueError
        If the namespace's arrays cannot be updated in place (JAX).
    """
    if isinstance(array, np.ndarray) or sp.issparse(array):
        return NUMPY
    xp = array_api_compat.array_namespace(array)
    if array_api_compat.is_numpy_namespace(xp):
        return NUMPY
    device = array_api_compat.device(array)
    key = (xp.__name__, str(device))
    primitives = _PRIMITIVES.get(key)
    if primitives is None:
        primitives = _new_primitives(xp, device)
        _PRIMITIVES[key] = primitives
    return primitives


def _new_primitives(xp, device):
    if array_api_compat.is_jax_namespace(xp):
        raise ValueError(
            "skbp trains its parameters in place, which JAX arrays do not "
            "allow. Pass NumPy arrays, torch tensors, CuPy arrays or another "
            "array-API namespace with in-place updates."
        )
    if array_api_compat.is_torch_namespace(xp):
        return TorchPrimitives(xp, device)
    return ArrayAPIPrimitives(xp, device)


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def kernel_ready(*arrays):
    """Whether the compiled kernels take ``arrays`` as they are.

    NumPy arrays (not sparse, not another namespace's), C-contiguous, all of
    one floating dtype the kernels are built for (float32 or float64): the
    one test of the arrays behind every choice of a kernel.  The kernels
    refuse other arrays with an exception; this test lets the caller take
    the NumPy path instead.  A plain loop: it runs on the hot path of a
    one-row prediction.
    """
    dtype = arrays[0].dtype
    for array in arrays:
        if (
            type(array) is not np.ndarray
            or array.dtype != dtype
            or not array.flags.c_contiguous
        ):
            return False
    return dtype in _KERNEL_DTYPES


def copy_array(array):
    """A copy of ``array`` in its own namespace and on its device."""
    return primitives_for(array).copy(array)
