"""scikit-learn's own estimator compatibility suite, run in full."""

from functools import partial

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbp import BackpropClassifier, BackpropRegressor, HiddenLayerEmbedding

# Dropout draws one mask row per sample: repeating a sample gives it masks of
# its own, which a weight of 2 does not, so the two fits differ by design.
_REASON = "dropout draws a mask per row: repeated rows get masks of their own"
_DROPOUT_XFAILS = {
    "check_sample_weight_equivalence_on_dense_data": _REASON,
    "check_sample_weight_equivalence_on_sparse_data": _REASON,
}


@parametrize_with_checks(
    [
        BackpropClassifier(),
        BackpropRegressor(),
        BackpropClassifier(solver="lbfgs"),
        BackpropRegressor(solver="lbfgs"),
        BackpropClassifier(solver="sgd", loss="squared_error"),
        BackpropRegressor(loss="poisson", solver="lbfgs"),
        BackpropClassifier(hidden_layer_sizes=(), solver="lbfgs"),
        # issue 12's parameters: a new activation each, with dropout
        BackpropClassifier(activation="gelu", dropout=0.2, max_iter=50),
        BackpropRegressor(activation="elu", dropout=(0.1,), max_iter=50),
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
def test_sklearn_compatible_estimator(estimator, check, request):
    if _check_name(check).startswith("check_array_api"):
        # These run under array-API dispatch, which needs a recent scipy.
        request.getfixturevalue("array_api_dispatch")
    check(estimator)


def _check_name(check):
    """The name of the function a check (a partial, maybe wrapped) calls."""
    while True:
        if hasattr(check, "__wrapped__"):
            check = check.__wrapped__
        elif isinstance(check, partial):
            check = check.func
        else:
            return check.__name__
