"""scikit-learn's own estimator compatibility suite, run in full."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbp import BackpropClassifier, BackpropRegressor


@parametrize_with_checks(
    [
        BackpropClassifier(),
        BackpropRegressor(),
        BackpropClassifier(solver="lbfgs"),
        BackpropRegressor(solver="lbfgs"),
        BackpropClassifier(solver="sgd", loss="squared_error"),
        BackpropRegressor(loss="poisson", solver="lbfgs"),
        BackpropClassifier(hidden_layer_sizes=(), solver="lbfgs"),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
