"""skbp.dask on a real LocalCluster, checked against the single-machine fit.

Two worker processes with one thread each; the reference for every fit is
skbp's plain estimator on the same rows in memory (itself checked against
scikit-learn's MLP elsewhere).
"""

import gc
import logging
import pickle
import time
import tracemalloc
import warnings

import dask.array as da
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import skbp
from skbp import dask as skbp_dask

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Round-off between a sum over one array and a sum of the blocks' shares,
# amplified over L-BFGS's iterations; measured at 1e-12 to 1e-13.
TOLERANCE = 1e-8


def _local_cluster(n_workers):
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )


@pytest.fixture(scope="module")
def client():
    with _local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


def _data(n_samples=240, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    return rng, X, rng.uniform(0.0, 2.0, n_samples)


def _labels(rng, X, kind):
    signal = X[:, 0] + X[:, 1]
    if kind == "binary":
        return (signal > 0).astype(int)
    if kind == "multiclass":
        return np.digitize(signal, [-0.7, 0.7])
    if kind == "strings":
        return np.array(["cat", "dog", "emu"])[np.digitize(signal, [-0.7, 0.7])]
    return np.c_[signal > 0, X[:, 2] > 0, X[:, 3] > 0.5].astype(int)  # multilabel


def _chunked(array, rows):
    return da.from_array(array, chunks=(rows, *array.shape[1:]))


def _assert_same_fit(cluster_fit, local_fit, X):
    assert cluster_fit.n_iter_ == local_fit.n_iter_
    assert_allclose(cluster_fit.loss_curve_, local_fit.loss_curve_, rtol=TOLERANCE)
    assert_allclose(cluster_fit._theta, local_fit._theta, rtol=TOLERANCE, atol=1e-12)
    methods = ["predict", "predict_proba"] if hasattr(local_fit, "classes_") else []
    for method in methods or ["predict"]:
        got = getattr(cluster_fit, method)(_chunked(X, 50))
        assert isinstance(got, da.Array)
        expected = getattr(local_fit, method)(X)
        if expected.dtype.kind == "f":
            assert_allclose(got.compute(), expected, rtol=TOLERANCE, atol=1e-12)
        else:
            np.testing.assert_array_equal(got.compute(), expected)


_CLASSIFIER_CASES = {
    "binary": ("binary", {}),
    "multiclass-balanced": ("multiclass", {"class_weight": "balanced"}),
    "strings-dict-weights": ("strings", {"class_weight": {"cat": 2.0, "emu": 0.5}}),
    "multilabel": ("multilabel", {}),
    "squared-error": ("multiclass", {"loss": "squared_error"}),
    "activation-per-layer": (
        "multiclass",
        {"hidden_layer_sizes": (6, 4), "activation": ("tanh", "gelu")},
    ),
}


@pytest.mark.parametrize("case", sorted(_CLASSIFIER_CASES))
def test_classifier_matches_the_single_machine_fit(client, case):
    kind, params = _CLASSIFIER_CASES[case]
    rng, X, weights = _data()
    y = _labels(rng, X, kind)
    settings = {"hidden_layer_sizes": (6,), "solver": "lbfgs", "max_iter": 25, **params}
    local = skbp.BackpropClassifier(**settings, random_state=0)
    local.fit(X, y, sample_weight=weights)
    # Unequal row blocks, X split along its columns too (rechunked), y and the
    # weights in blocks of their own.
    on_cluster = skbp_dask.BackpropClassifier(**settings, random_state=0).fit(
        da.from_array(X, chunks=((100, 7, 1, 90, 42), (3, 2))),
        da.from_array(y, chunks=(60, *y.shape[1:])),
        sample_weight=da.from_array(weights, chunks=80),
    )
    np.testing.assert_array_equal(on_cluster.classes_, local.classes_)
    _assert_same_fit(on_cluster, local, X)


# The losses' own parameters, off their defaults: bound into the network the
# workers are sent, as in the plain fit.
_LOSS_PARAMETERS = {"quantile": {"quantile": 0.8}, "huber": {"huber_delta": 0.4}}


@pytest.mark.parametrize(
    "loss", ["squared_error", "poisson", "absolute_error", "huber", "quantile"]
)
def test_regressor_matches_the_single_machine_fit(client, loss):
    rng, X, weights = _data()
    if loss == "poisson":
        y = rng.poisson(np.exp(0.5 * X[:, 0]))
    else:
        y = np.c_[X[:, 0] - X[:, 1], X[:, 2] ** 2]  # two outputs
    settings = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=25, loss=loss)
    settings.update(_LOSS_PARAMETERS.get(loss, {}))
    local = skbp.BackpropRegressor(**settings, random_state=0)
    local.fit(X, y, sample_weight=weights)
    on_cluster = skbp_dask.BackpropRegressor(**settings, random_state=0).fit(
        _chunked(X, 70), _chunked(y, 70), sample_weight=_chunked(weights, 70)
    )
    _assert_same_fit(on_cluster, local, X)


def test_a_class_missing_from_blocks_and_a_block_of_zero_weight(client):
    rng, X, weights = _data()
    order = np.argsort(X[:, 0])  # sorted: the first blocks hold one class only
    X = X[order]
    y = _labels(rng, X, "multiclass")
    weights[:40] = 0.0  # the first block weighs nothing
    settings = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=20)
    local = skbp.BackpropClassifier(**settings, random_state=0)
    local.fit(X, y, sample_weight=weights)
    on_cluster = skbp_dask.BackpropClassifier(**settings, random_state=0).fit(
        _chunked(X, 40), _chunked(y, 40), sample_weight=_chunked(weights, 40)
    )
    _assert_same_fit(on_cluster, local, X)


def test_float32_stays_float32(client):
    rng, X, _ = _data()
    X = X.astype(np.float32)
    y = _labels(rng, X, "binary")
    settings = dict(
        hidden_layer_sizes=(6,), solver="lbfgs", max_iter=15, random_state=0
    )
    local = skbp.BackpropClassifier(**settings).fit(X, y)
    on_cluster = skbp_dask.BackpropClassifier(**settings).fit(
        _chunked(X, 60), _chunked(y, 60)
    )
    assert on_cluster._theta.dtype == np.float32
    assert all(coef.dtype == np.float32 for coef in on_cluster.coefs_)
    proba = on_cluster.predict_proba(_chunked(X, 60))
    assert proba.dtype == np.float32
    assert_allclose(proba.compute(), local.predict_proba(X), atol=1e-4)


def test_dask_dataframe_input_keeps_feature_names(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "strings")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    settings = dict(
        hidden_layer_sizes=(6,), solver="lbfgs", max_iter=15, random_state=0
    )
    local = skbp.BackpropClassifier(**settings).fit(frame, y)
    on_cluster = skbp_dask.BackpropClassifier(**settings).fit(
        dd.from_pandas(frame, npartitions=3),
        dd.from_pandas(pd.Series(y), npartitions=3),
    )
    np.testing.assert_array_equal(on_cluster.feature_names_in_, frame.columns)
    labels = on_cluster.predict(dd.from_pandas(frame, npartitions=3))
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), local.predict(frame))


def test_training_data_never_comes_to_the_client(client):
    # 24 MB of rows, made on the workers; the client must hold a tiny fraction.
    X = da.random.RandomState(0).normal(size=(150_000, 20), chunks=(25_000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = skbp_dask.BackpropClassifier((8,), solver="lbfgs", max_iter=5, random_state=0)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * X.nbytes, f"client peak {peak / 2**20:.1f} MiB"
    assert clf.n_iter_ == 5


def test_futures_are_released_after_the_fit(client):
    rng, X, weights = _data()
    y = _labels(rng, X, "binary")
    skbp_dask.BackpropClassifier((6,), solver="lbfgs", max_iter=5).fit(
        _chunked(X, 50), _chunked(y, 50), sample_weight=_chunked(weights, 50)
    )
    gc.collect()
    # A collected future is released through the client's event loop (a
    # callback, not at once), and the scheduler forgets released keys
    # asynchronously too: give both a moment.
    deadline = time.monotonic() + 10
    while (client.futures or client.who_has()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not client.futures
    assert not client.who_has()


def test_reproducible_across_cluster_sizes_and_close_across_chunkings(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "multiclass")
    settings = dict(
        hidden_layer_sizes=(6,), solver="lbfgs", max_iter=20, random_state=0
    )

    def fit(rows):
        clf = skbp_dask.BackpropClassifier(**settings)
        return clf.fit(_chunked(X, rows), _chunked(y, rows))._theta

    on_two_workers = fit(30)
    np.testing.assert_array_equal(fit(30), on_two_workers)
    with (
        _local_cluster(1) as cluster,
        distributed.Client(cluster, set_as_default=False) as one,
    ):
        with one.as_current():
            on_one_worker = fit(30)
    np.testing.assert_array_equal(on_one_worker, on_two_workers)
    assert_allclose(fit(77), on_two_workers, rtol=TOLERANCE, atol=1e-12)


def test_stochastic_solvers_are_refused_with_the_alternatives(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "binary")
    clf = skbp_dask.BackpropClassifier(solver="adam")
    with pytest.raises(ValueError, match="solver='lbfgs'.*Incremental"):
        clf.fit(_chunked(X, 50), _chunked(y, 50))
    with pytest.raises(ValueError, match="Incremental"):
        clf.partial_fit(_chunked(X, 50), _chunked(y, 50), classes=[0, 1])
    assert not hasattr(clf, "coefs_")


def test_bad_block_is_refused_and_changes_nothing(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "binary")
    clf = skbp_dask.BackpropClassifier((6,), solver="lbfgs", max_iter=5, random_state=0)
    clf.fit(_chunked(X, 50), _chunked(y, 50))
    theta, state = clf._theta.copy(), pickle.dumps(clf)
    X_bad = X.copy()
    X_bad[200, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(_chunked(X_bad, 50), _chunked(y, 50))
    np.testing.assert_array_equal(clf._theta, theta)
    assert pickle.dumps(clf) == state


def test_without_a_client_says_how_to_start_one(client, monkeypatch):
    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(skbp_dask.distributed, "get_client", no_client)
    rng, X, _ = _data()
    with pytest.raises(ValueError, match="needs a running dask.distributed Client"):
        skbp_dask.BackpropClassifier(solver="lbfgs").fit(
            _chunked(X, 50), _chunked(_labels(rng, X, "binary"), 50)
        )


def test_pickles_and_serves_without_dask(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "multiclass")
    clf = skbp_dask.BackpropClassifier(
        (6,), solver="lbfgs", max_iter=10, random_state=0
    )
    clf.fit(_chunked(X, 50), _chunked(y, 50))
    local = clf.to_local()
    assert type(local) is skbp.BackpropClassifier
    assert_allclose(local.predict_proba(X), clf.predict_proba(X), rtol=1e-15)
    assert local._theta is not clf._theta
    copy = pickle.loads(pickle.dumps(clf))
    assert_allclose(
        copy.predict_proba(_chunked(X, 60)).compute(), local.predict_proba(X)
    )


def test_in_memory_input_is_the_plain_fit():
    rng, X, weights = _data()
    y = _labels(rng, X, "binary")
    settings = dict(hidden_layer_sizes=(6,), max_iter=10, random_state=0)
    plain = skbp.BackpropClassifier(**settings).fit(X, y, sample_weight=weights)
    clf = skbp_dask.BackpropClassifier(**settings).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(clf._theta, plain._theta)
    assert isinstance(clf.predict(X), np.ndarray)


@parametrize_with_checks(
    [
        skbp_dask.BackpropClassifier(solver="lbfgs", max_iter=50),
        skbp_dask.BackpropRegressor(solver="lbfgs", max_iter=50),
    ]
)
def test_sklearn_compatible_on_in_memory_input(estimator, check):
    check(estimator)


def test_a_persisted_collection_survives_the_fit(client):
    # The fit's futures for a persisted array's blocks share its keys: the fit
    # must let go of them without cancelling the user's data.
    rng, X, _ = _data()
    y = _labels(rng, X, "binary")
    X_persisted, y_persisted = client.persist([_chunked(X, 50), _chunked(y, 50)])
    clf = skbp_dask.BackpropClassifier((6,), solver="lbfgs", max_iter=5)
    clf.fit(X_persisted, y_persisted)
    clf.fit(X_persisted, y_persisted)
    assert_allclose(X_persisted.sum().compute(), X.sum())


def test_the_cluster_fits_convergence_warning_is_attributed_to_skbp(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "binary")
    model = skbp_dask.BackpropClassifier((4,), solver="lbfgs", max_iter=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="skbp")
        model.fit(_chunked(X, 60), _chunked(y, 60))
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert model.n_iter_ == 2


def test_warm_start_scalar_weights_and_warnings_as_in_memory(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "binary")
    settings = dict(
        hidden_layer_sizes=(6,), solver="lbfgs", max_iter=4, warm_start=True
    )
    local = skbp.BackpropClassifier(**settings, random_state=0)
    on_cluster = skbp_dask.BackpropClassifier(**settings, random_state=0)
    for _ in range(2):  # the second fit goes on from the first one's weights
        with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
            local.fit(X, y, sample_weight=0.5)
        with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
            on_cluster.fit(_chunked(X, 50), _chunked(y, 50), sample_weight=0.5)
    _assert_same_fit(on_cluster, local, X)


def test_a_cluster_fit_runs_under_fit_context_and_the_float_guard(client):
    # The plain fit's decorators: scikit-learn's _fit_context (parameters
    # validated, nested validation skipped) and quiet_floats (np.errstate).
    seen = []

    class Recording(skbp_dask.BackpropRegressor):
        def _lbfgs_objective(self, data, network, theta):
            skip = sklearn.get_config()["skip_parameter_validation"]
            seen.append((np.geterr(), skip))
            return super()._lbfgs_objective(data, network, theta)

    rng, X, _ = _data()
    Recording(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3).fit(
        _chunked(X, 60), _chunked(X[:, 0] - X[:, 1], 60)
    )
    [(errstate, skip)] = seen
    assert set(errstate.values()) == {"ignore"}
    assert skip


@pytest.mark.parametrize(
    "params",
    [{"alpha": -1.0}, {"activation": "nope"}, {"hidden_layer_sizes": 0}],
    ids=["alpha", "activation", "hidden_layer_sizes"],
)
def test_invalid_parameters_are_refused_as_by_the_plain_fit(client, params):
    rng, X, _ = _data()
    y = _labels(rng, X, "binary")
    settings = dict(solver="lbfgs", max_iter=3, **params)
    with pytest.raises(ValueError) as plain:
        skbp.BackpropClassifier(**settings).fit(X, y)
    clf = skbp_dask.BackpropClassifier(**settings)
    with pytest.raises(type(plain.value)) as on_cluster:
        clf.fit(_chunked(X, 60), _chunked(y, 60))
    assert str(on_cluster.value) == str(plain.value)
    assert not hasattr(clf, "coefs_")


def _refusal_cases():
    rng, X, _ = _data()
    y = _labels(rng, X, "strings")
    signal = X[:, 0] - X[:, 1]
    classifier = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3)
    return {
        "poisson-negative": ("BackpropRegressor", {"loss": "poisson"}, X, signal),
        "log-loss-range": ("BackpropRegressor", {"loss": "log_loss"}, X, signal),
        "class-weight-unknown": (
            "BackpropClassifier",
            {**classifier, "class_weight": {"cat": 1.0, "owl": 2.0}},
            X,
            y,
        ),
        "class-weight-negative": (
            "BackpropClassifier",
            {**classifier, "class_weight": {"dog": -1.0}},
            X,
            y,
        ),
        "class-weight-multilabel": (
            "BackpropClassifier",
            {**classifier, "class_weight": "balanced"},
            X,
            _labels(rng, X, "multilabel"),
        ),
        "continuous-labels": ("BackpropClassifier", classifier, X, signal),
    }


@pytest.mark.parametrize("case", sorted(_refusal_cases()))
def test_target_and_class_weight_checks_are_the_plain_fits(client, case):
    # Called, not copied: the same checks, so the same words (the poisson and
    # log-loss messages name the range of all of y, not of one block).
    name, params, X, y = _refusal_cases()[case]
    params = {"solver": "lbfgs", "max_iter": 3, **params}
    with pytest.raises(ValueError) as plain:
        getattr(skbp, name)(**params).fit(X, y)
    with pytest.raises(ValueError) as on_cluster:
        getattr(skbp_dask, name)(**params).fit(_chunked(X, 70), _chunked(y, 70))
    assert str(on_cluster.value) == str(plain.value)


def test_warm_start_with_other_classes_is_refused_as_in_memory(client):
    rng, X, _ = _data()
    y = _labels(rng, X, "multiclass")
    settings = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3)
    plain = skbp.BackpropClassifier(**settings, warm_start=True).fit(X, y)
    on_cluster = skbp_dask.BackpropClassifier(**settings, warm_start=True)
    on_cluster.fit(_chunked(X, 60), _chunked(y, 60))
    other = np.where(y == 2, 5, y)
    with pytest.raises(ValueError, match="warm_start") as in_memory:
        plain.fit(X, other)
    state = pickle.dumps(on_cluster)
    with pytest.raises(ValueError, match="warm_start") as refused:
        on_cluster.fit(_chunked(X, 60), _chunked(other, 60))
    assert str(refused.value) == str(in_memory.value)
    assert pickle.dumps(on_cluster) == state
