"""skbp.dask's estimators refuse dropout, which they do not train with.

dask is a test dependency, imported here so that a test install without it
fails; the core tests do without it (tools/min_versions.sh leaves this file
out, with tests/test_dask.py).
"""

import dask.array as da
import numpy as np
import pytest

import skbp.dask


def test_the_cluster_estimators_refuse_dropout():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.6, 0.6])
    model = skbp.dask.BackpropClassifier(solver="lbfgs", dropout=0.2)
    with pytest.raises(ValueError, match="needs a stochastic solver"):
        model.fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50))
