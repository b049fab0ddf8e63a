"""Inverted dropout for the stochastic solvers: masks drawn on the host.

During an sgd or adam step each hidden unit is kept with probability
``1 - p`` and its output scaled by ``1 / (1 - p)``, so that the expected
input of the next layer is unchanged and prediction needs no rescaling:

.. math::

    \\tilde a^{(l)} = a^{(l)} \\odot m^{(l)}, \\qquad
    m^{(l)}_{ij} = \\frac{[u_{ij} \\ge p_l]}{1 - p_l}, \\quad
    u_{ij} \\sim U[0, 1).

The backward pass multiplies the delta arriving at layer ``l`` by the same
mask before the activation's derivative, which is taken from the unmasked
output (:func:`skbp._network.backward`).  The uniforms come from a NumPy
``RandomState`` on the host, as every other draw does (design principle
6), so a fit is reproducible in every array library.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Dropout:
    """Dropout rates per hidden layer and the stream the masks are drawn from.

    Parameters
    ----------
    rates : tuple of float
        The fraction of units dropped in each hidden layer, in [0, 1).
    random_state : numpy.random.RandomState
        The source of the masks; advanced by every batch.
    """

    rates: tuple
    random_state: np.random.RandomState

    def masks(self, n_rows, layer_units, dtype, ops):
        """Draw this batch's masks, scaled by ``1 / (1 - p)``.

        Parameters
        ----------
        n_rows : int
            Rows of the batch.
        layer_units : tuple of int
            Units per hidden layer.
        dtype : dtype
            Floating dtype of the masks, of the namespace of ``ops``.
        ops : primitives
            The namespace and device the masks are moved to.

        Returns
        -------
        masks : list of (array of shape (n_rows, units) or None)
            One per hidden layer; None where its rate is 0.
        """
        masks = []
        for rate, units in zip(self.rates, layer_units, strict=True):
            if not rate:
                masks.append(None)
                continue
            kept = self.random_state.random_sample((n_rows, units)) >= rate
            scaled = kept * (1.0 / (1.0 - rate))
            masks.append(ops.from_host(scaled, dtype))
        return masks
