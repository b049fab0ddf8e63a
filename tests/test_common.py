"""scikit-learn's own estimator compatibility suite, run in full."""

from functools import partial

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbp import BackpropClassifier, BackpropRegressor, HiddenLayerEmbedding

# Dropout draws one mask row per sample: repeating a sample gives it masks of
# its own, which a weight of 2 does not, so the two fits differ by design.
_REASON = "dropout draws a mask per row: repeated rows get masks of their own"
_DROPOUT_XFAILS = {
    "check_sample_weight_equivalence_on_dense_data": _REASON,
    "check_sample_weight_equivalence_on_sparse_data": _REASON,
}


def _check_name(check):
    """The name of the function a check (a partial, maybe wrapped) calls."""
    while True:
        if hasattr(check, "__wrapped__"):
            check = check.__wrapped__
        elif isinstance(check, partial):
            check = check.func
        else:
            return check.__name__


# A check of a method the estimator does not have skips inside scikit-learn's
# check, whatever the machine: it is left out of the parametrization instead.
_METHOD_OF_CHECK = {
    "check_classifiers_multilabel_output_format_decision_function": (
        "decision_function"
    ),
}


def _without_checks_of_missing_methods(parametrize):
    """Return ``parametrize`` less the checks of methods the estimator lacks.

    Parameters
    ----------
    parametrize : pytest.MarkDecorator
        What :func:`parametrize_with_checks` returns.

    Returns
    -------
    parametrize : pytest.MarkDecorator
        The same parametrization (ids, expected failures) of the other checks.
    """
    argnames, argvalues = parametrize.args
    kept = []
    for entry in argvalues:
        estimator, check = getattr(entry, "values", entry)  # a pytest.param's
        method = _METHOD_OF_CHECK.get(_check_name(check))
        if method is None or hasattr(estimator, method):
            kept.append(entry)
    return pytest.mark.parametrize(argnames, kept, **parametrize.kwargs)


_ESTIMATOR_CHECKS = parametrize_with_checks(
    [
        BackpropClassifier(),
        BackpropRegressor(),
        BackpropClassifier(solver="lbfgs"),
        BackpropRegressor(solver="lbfgs"),
        BackpropClassifier(solver="sgd", loss="squared_error"),
        BackpropRegressor(loss="poisson", solver="lbfgs"),
        BackpropRegressor(loss="absolute_error"),
        BackpropRegressor(loss="huber"),
        BackpropRegressor(loss="quantile", quantile=0.3),
        BackpropClassifier(hidden_layer_sizes=(), solver="lbfgs"),
        # issue 12's parameters: a new activation each, with dropout
        BackpropClassifier(activation="gelu", dropout=0.2, max_iter=50),
        BackpropRegressor(activation="elu", dropout=(0.1,), max_iter=50),
        # issue 20's: an activation per layer, a scoring.  Not with
        # early_stopping=True: its splits of the checks' tiny data sets fail
        # seven checks, as scikit-learn's MLPClassifier(early_stopping=True)
        # does (tests/test_scoring.py tests the scoring itself).
        BackpropClassifier((6, 4), activation=("tanh", "gelu"), solver="lbfgs"),
        BackpropClassifier(scoring="loss", max_iter=50),
        BackpropRegressor(scoring="neg_mean_absolute_error", max_iter=50),
        HiddenLayerEmbedding(
            BackpropClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
        ),
        HiddenLayerEmbedding(
            BackpropRegressor(
                hidden_layer_sizes=(4, 3), solver="lbfgs", random_state=0
            ),
            layer=0,
        ),
    ],
    expected_failed_checks=lambda estimator: (
        _DROPOUT_XFAILS if getattr(estimator, "dropout", 0) else {}
    ),
)


@_without_checks_of_missing_methods(_ESTIMATOR_CHECKS)
def test_sklearn_compatible_estimator(estimator, check, request):
    if _check_name(check).startswith("check_array_api"):
        # These run under array-API dispatch, which needs a recent scipy.
        request.getfixturevalue("array_api_dispatch")
    check(estimator)
