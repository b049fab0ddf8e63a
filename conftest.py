"""pytest set-up shared by the test modules and the doctests.

scikit-learn's array-API dispatch (``tests/test_array_api.py`` and the
array-API checks of ``check_estimator`` in ``tests/test_common.py``) needs
scipy's array-API mode, which scipy reads once, when it is first imported:
it is switched on here, before any test module imports scipy.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

# skbp.dask imports Dask at once (and says how to install it when missing):
# without Dask its doctests cannot be collected.
try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError:
    collect_ignore = ["skbp/dask.py"]
