"""pytest set-up shared by the test modules and the doctests.

scikit-learn's array-API dispatch (``tests/test_array_api.py`` and the
array-API checks of ``check_estimator`` in ``tests/test_common.py``) needs
scipy's array-API mode, which scipy reads once, when it is first imported:
it is switched on here, before any test module imports scipy.

skbp.dask's and skbp.onnx's doctests import the test extra's dask and onnx
libraries: a test install without them fails there, rather than skipping.
tools/min_versions.sh, which runs the core tests without those libraries,
leaves those two modules out with ``--ignore``.
"""

import os

import pytest

os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture
def array_api_dispatch():
    """Skip the test where scikit-learn cannot dispatch to the array API.

    scikit-learn's own check decides, run as it runs when dispatch is switched
    on (it raises where scipy is older than its array-API support needs, 1.14
    for scikit-learn 1.9, or SCIPY_ARRAY_API is not set), rather than a
    version written out here.
    """
    import scipy
    import sklearn

    try:
        with sklearn.config_context(array_api_dispatch=True):
            pass
    except (ImportError, RuntimeError) as error:
        # scikit-learn 1.9's message prints "{scipy.__version__}" unformatted.
        why = str(error).replace("{scipy.__version__}", scipy.__version__)
        pytest.skip(
            "scikit-learn's array-API dispatch is unavailable with scipy "
            f"{scipy.__version__}: {why}"
        )


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for the test, whatever the harness installed.

    skbp's Ctrl-C guard installs its handler only over Python's default one
    (it leaves an application's own handler alone). A harness that keeps a
    handler of its own (mutmut's workers, some IDE runners) would otherwise
    turn the Ctrl-C tests into tests of that harness.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
