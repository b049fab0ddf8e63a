"""scikit-learn's own estimator compatibility suite, run in full."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbp import BackpropClassifier, BackpropRegressor, HiddenLayerEmbedding


@parametrize_with_checks(
    [
        BackpropClassifier(),
        BackpropRegressor(),
        BackpropClassifier(solver="lbfgs"),
        BackpropRegressor(solver="lbfgs"),
        BackpropClassifier(solver="sgd", loss="squared_error"),
        BackpropRegressor(loss="poisson", solver="lbfgs"),
        BackpropClassifier(hidden_layer_sizes=(), solver="lbfgs"),
        HiddenLayerEmbedding(
            BackpropClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
        ),
        HiddenLayerEmbedding(
            BackpropRegressor(
                hidden_layer_sizes=(4, 3), solver="lbfgs", random_state=0
            ),
            layer=0,
        ),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
