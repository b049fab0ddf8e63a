"""Test data shared by the loss and network tests."""

import numpy as np


def valid_targets(link, rng, shape):
    """Targets in the domain of the loss paired with ``link``, as network outputs.

    One-hot rows for softmax, values in [0, 1] for logistic units, counts for
    exponential units, any real number for identity units (the losses
    'squared_error', 'absolute_error', 'huber' and 'quantile').
    """
    if link == "softmax":
        return np.eye(shape[1])[rng.integers(shape[1], size=shape[0])]
    if link == "logistic":
        return rng.uniform(0.0, 1.0, size=shape)
    if link == "exp":
        return rng.poisson(2.0, size=shape).astype(np.float64)
    return rng.normal(scale=2.0, size=shape)
