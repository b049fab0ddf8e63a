# cython: language_level=3
"""Element-wise arithmetic shared by the compiled kernels.

Inline functions, cimported by skbp/_kernels.pyx and skbp/_sgd_loop.pyx, so
that each operation sequence that must round as the NumPy path does is
written once.
"""

from libc.math cimport exp, log1p

ctypedef fused floating:
    float
    double


cdef inline double expit(double z) noexcept nogil:
    """1 / (1 + exp(-z)), as scipy.special.expit computes it."""
    return 1.0 / (1.0 + exp(-z))


cdef inline double logaddexp0(double z) noexcept nogil:
    """log(1 + exp(z)) without overflow."""
    if z > 0:
        return z + log1p(exp(-z))
    return log1p(exp(z))


cdef inline floating sgd_element(
    floating grad,
    floating velocity,
    floating rate,
    floating mu,
    bint nesterov,
    floating* new_velocity,
) noexcept nogil:
    """One entry of SGD.update: the new velocity, and the step it returns.

    ``scaled = grad * rate``, ``v = velocity * mu - scaled``; the step is
    ``v``, or ``mu * v - scaled`` with Nesterov's momentum: the operations
    of skbp._optimizers.SGD.update in its order.
    """
    cdef floating scaled = grad * rate
    cdef floating v = velocity * mu
    v = v - scaled
    new_velocity[0] = v
    if nesterov:
        v = mu * v
        v = v - scaled
    return v
