"""scikit-learn's own MLP test suite, run against skbp's estimators.

skbp promises that ``BackpropClassifier`` and ``BackpropRegressor`` are drop-in
supersets of ``MLPClassifier`` and ``MLPRegressor``.  The strongest check of that
promise is the test module scikit-learn itself ships for its MLP,
``sklearn/neural_network/tests/test_mlp.py``: this file loads the installed copy
(so it follows whatever scikit-learn version is installed, with no copied code)
as a private module in which the two names refer to skbp's classes, and hands its
``test_*`` functions to pytest.

The only tests expected to fail are those that call scikit-learn's private
methods; they are marked ``xfail(strict=True)`` below, each with the private
name it needs, so that one starting to pass is noticed too.  The private
attributes its tests read (``_optimizer.learning_rate``,
``_no_improvement_count``) skbp keeps under the same names, so those tests run.
"""

import importlib.util
import os
from pathlib import Path
from unittest import mock

import pytest
import sklearn.neural_network

from skbp import BackpropClassifier, BackpropRegressor

_UPSTREAM = Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"


def _load_upstream():
    spec = importlib.util.spec_from_file_location("_sklearn_test_mlp", _UPSTREAM)
    module = importlib.util.module_from_spec(spec)
    # Swapped while the module body runs, not after: ``parametrize`` lists such
    # as ``[MLPClassifier, MLPRegressor]`` are built at import time.
    with mock.patch.multiple(
        sklearn.neural_network,
        MLPClassifier=BackpropClassifier,
        MLPRegressor=BackpropRegressor,
    ):
        spec.loader.exec_module(module)
    return module


_upstream = _load_upstream()

# Upstream tests that call scikit-learn's private methods, which skbp has no
# reason to mirror (skbp.check_gradients checks its gradient in public).
_NEEDS_SKLEARN_PRIVATES = {
    "test_gradient": "calls sklearn's private method _loss_grad_lbfgs",
}


def _exported(name, test):
    reason = _NEEDS_SKLEARN_PRIVATES.get(name)
    if reason is None:
        return test
    return pytest.mark.xfail(strict=True, reason=reason)(test)


# pytest collects the ``test_*`` names of this module, wherever they were defined.
globals().update(
    (name, _exported(name, test))
    for name, test in vars(_upstream).items()
    if name.startswith("test_")
)


def _global_random_seeds():
    """Seeds for ``global_random_seed``, as in scikit-learn's conftest.py.

    42 unless ``SKLEARN_TESTS_GLOBAL_RANDOM_SEED`` is ``all``, ``N`` or ``N-M``.
    """
    spec = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if spec is None:
        return [42]
    if spec == "all":
        return list(range(100))
    start, _, stop = spec.partition("-")
    return list(range(int(start), int(stop or start) + 1))


@pytest.fixture(params=_global_random_seeds())
def global_random_seed(request):
    return request.param
