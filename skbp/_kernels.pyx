# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled kernels behind the NumPy primitives (DESIGN.md, principle 7).

Each kernel fuses passes that the NumPy path makes one ufunc at a time, in
the same arithmetic, operation for operation and in the same precision, so
that its result is bit for bit the NumPy expression's (built without
fast-math and without contracting products into fused multiply-adds; see
setup.py).  ``tests/test_kernels.py`` compares them.
"""

from libc.math cimport sqrt, sqrtf

ctypedef fused floating:
    float
    double


def adam_step(
    floating[::1] theta,
    const floating[::1] grad,
    floating[::1] first_moment,
    floating[::1] second_moment,
    double beta_1,
    double beta_2,
    double epsilon,
    double corrected,
):
    """One Adam update of ``theta`` and its moments, in place, in one pass.

    The same operations as :meth:`skbp._optimizers.Adam.update` followed by
    ``theta += step``: the Python-float factors are rounded to the arrays'
    precision first (NumPy's rule for Python scalars), and the bias-corrected
    rate, a NumPy float64, multiplies in float64.

    Parameters
    ----------
    theta, grad, first_moment, second_moment : ndarray of shape (n_params,)
        C-contiguous, all of one floating dtype; ``theta`` and the moments
        are updated in place.
    beta_1, beta_2, epsilon : float
        Adam's constants.
    corrected : float
        ``learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``.
    """
    cdef Py_ssize_t i, n = theta.shape[0]
    cdef floating b1 = <floating>beta_1
    cdef floating b2 = <floating>beta_2
    cdef floating one_minus_b1 = <floating>(1.0 - beta_1)
    cdef floating one_minus_b2 = <floating>(1.0 - beta_2)
    cdef floating eps = <floating>epsilon
    cdef floating g, m, v, scaled, root, ratio
    with nogil:
        for i in range(n):
            g = grad[i]
            scaled = g * one_minus_b1
            m = first_moment[i] * b1
            m = m + scaled
            first_moment[i] = m
            scaled = g * g
            scaled = scaled * one_minus_b2
            v = second_moment[i] * b2
            v = v + scaled
            second_moment[i] = v
            if floating is float:
                root = sqrtf(v)
            else:
                root = sqrt(v)
            root = root + eps
            ratio = m / root
            ratio = <floating>(<double>ratio * -corrected)
            theta[i] = theta[i] + ratio


def sgd_step(
    floating[::1] theta,
    const floating[::1] grad,
    floating[::1] velocity,
    double learning_rate,
    double momentum,
    bint nesterov,
):
    """One SGD (momentum, Nesterov) update of ``theta`` and its velocity, in place.

    The same operations as :meth:`skbp._optimizers.SGD.update` followed by
    ``theta += step``, the Python-float constants rounded to the arrays'
    precision first.

    Parameters
    ----------
    theta, grad, velocity : ndarray of shape (n_params,)
        C-contiguous, all of one floating dtype; ``theta`` and ``velocity``
        are updated in place.
    learning_rate, momentum : float
        The step size and the momentum.
    nesterov : bool
        Whether to take Nesterov's step.
    """
    cdef Py_ssize_t i, n = theta.shape[0]
    cdef floating rate = <floating>learning_rate
    cdef floating mu = <floating>momentum
    cdef floating scaled, v, step
    with nogil:
        for i in range(n):
            scaled = grad[i] * rate
            v = velocity[i] * mu
            v = v - scaled
            velocity[i] = v
            if nesterov:
                step = mu * v
                step = step - scaled
            else:
                step = v
            theta[i] = theta[i] + step
