"""In-place array kernels: the NumPy-only tricks of the hot path, kept here.

The core writes matrix products and scaled sums into preallocated buffers
rather than allocating a temporary per batch (DESIGN.md, principles 5 and
6): an array library without ``out=`` needs only these helpers replaced.
"""

import numpy as np
import scipy.sparse as sp


def matmul_into(a, b, out):
    """Write ``a @ b`` into ``out`` and return it; ``a`` may be sparse.

    Parameters
    ----------
    a : {ndarray, sparse matrix} of shape (n, k)
    b : ndarray of shape (k, m)
    out : ndarray of shape (n, m)

    Returns
    -------
    out : ndarray of shape (n, m)
    """
    if sp.issparse(a):
        out[...] = a @ b
        return out
    return np.matmul(a, b, out=out)


def add_scaled(y, x, scale, scratch):
    """Add ``scale * x`` to ``y`` in place through ``scratch``; return ``y``.

    NumPy's own ufuncs rather than scipy's BLAS ``axpy``: scipy links a second
    OpenBLAS whose idle threads spin against NumPy's during the next matrix
    product, which made a fit several times slower on two cores.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Updated in place.
    x : ndarray of shape (n,)
    scale : float
    scratch : ndarray of shape (n,)
        Overwritten.

    Returns
    -------
    y : ndarray of shape (n,)
    """
    y += np.multiply(x, scale, out=scratch)
    return y
