"""skbp inside scikit-learn's meta-estimators: metadata routing and parallel search."""

import numpy as np
import sklearn
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor


def _iris_with_weights():
    X, y = load_iris(return_X_y=True)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    return StandardScaler().fit_transform(X), y, weights


def test_routed_sample_weight_reaches_fit():
    # With metadata routing on, cross_validate must hand each fold's weights
    # to BackpropClassifier.fit: the fitted models equal direct weighted fits.
    X, y, weights = _iris_with_weights()
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = (
            BackpropClassifier(**params)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=False)
        )
        result = cross_validate(
            estimator,
            X,
            y,
            params={"sample_weight": weights},
            cv=cv,
            return_estimator=True,
            error_score="raise",
        )
    for (train, _), routed in zip(cv.split(X), result["estimator"], strict=True):
        direct = BackpropClassifier(**params).fit(
            X[train], y[train], sample_weight=weights[train]
        )
        unweighted = BackpropClassifier(**params).fit(X[train], y[train])
        assert_array_equal(routed.coefs_[0], direct.coefs_[0])
        assert not np.array_equal(routed.coefs_[0], unweighted.coefs_[0])


def test_partial_fit_requests_are_available():
    with sklearn.config_context(enable_metadata_routing=True):
        classifier = BackpropClassifier(solver="sgd").set_partial_fit_request(
            sample_weight=True, classes=True
        )
        regressor = BackpropRegressor(solver="adam").set_partial_fit_request(
            sample_weight=True
        )
    # The stream's held-out set is metadata too, unrequested by default.
    unrequested = {"X_val": None, "y_val": None, "sample_weight_val": None}
    assert classifier.get_metadata_routing().partial_fit.requests == {
        "sample_weight": True,
        "classes": True,
        **unrequested,
    }
    assert regressor.get_metadata_routing().partial_fit.requests == {
        "sample_weight": True,
        **unrequested,
    }


def test_grid_search_in_two_processes_matches_one():
    # The estimators pickle to worker processes and back; the search over
    # network size and alpha must give the same scores either way.
    X, y, _ = _iris_with_weights()
    grid = {
        "backpropclassifier__hidden_layer_sizes": [(4,), (8,)],
        "backpropclassifier__alpha": [1e-4, 1e-1],
    }
    pipeline = make_pipeline(
        StandardScaler(),
        BackpropClassifier(solver="lbfgs", max_iter=300, random_state=0),
    )
    serial = GridSearchCV(pipeline, grid, cv=3, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(pipeline, grid, cv=3, n_jobs=2).fit(X, y)
    assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    assert serial.best_params_ == parallel.best_params_
    best = parallel.best_estimator_[-1]
    assert np.shares_memory(best.coefs_[0], best._theta)
