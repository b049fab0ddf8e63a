"""pytest set-up shared by the test modules and the doctests.

scikit-learn's array-API dispatch (``tests/test_array_api.py`` and the
array-API checks of ``check_estimator`` in ``tests/test_common.py``) needs
scipy's array-API mode, which scipy reads once, when it is first imported:
it is switched on here, before any test module imports scipy.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

# skbp.dask and skbp.onnx import their optional dependencies at once (and say
# how to install them when missing): without those, their doctests cannot be
# collected.
collect_ignore = []
try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError:
    collect_ignore.append("skbp/dask.py")
try:
    import onnxruntime  # noqa: F401
    import skl2onnx  # noqa: F401
except ImportError:
    collect_ignore.append("skbp/onnx.py")
