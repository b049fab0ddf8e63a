"""The estimators on other array libraries, checked against the NumPy fit.

Under ``sklearn.config_context(array_api_dispatch=True)`` a fit on torch
tensors (or array-api-strict arrays) must train the same network as the fit
on the same values in NumPy, keep every array in the input's namespace and
on its device, and give predictions there.  The NumPy fit is the reference:
it is itself checked against scikit-learn's MLP elsewhere.

torch runs where it is installed (CI installs its CPU build; the CUDA device
is tested where one exists); array-api-strict is a test dependency, and its
second device (``device1``) stands in for an accelerator.
"""

import pickle
import warnings

import array_api_strict
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.externals import array_api_compat

from skbp import (
    BackpropClassifier,
    BackpropRegressor,
    HiddenLayerEmbedding,
    check_gradients,
)
from skbp._activations import ACTIVATIONS
from skbp._losses import OUTPUT_LAYER_NAMES, get_output_layer
from skbp._network import Network, loss_and_grad

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # Each test runs under scikit-learn's array-API dispatch or uses its
    # array-API helpers: skipped where it cannot dispatch (see conftest.py).
    pytest.mark.usefixtures("array_api_dispatch"),
]


def _torch():
    return pytest.importorskip("torch")


def _torch_devices():
    try:
        import torch
    except ImportError:
        return ["cpu"]
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def _namespaces():
    """(name, device) pairs to test on; without torch, its tests skip at use."""
    pairs = [("torch", device) for device in _torch_devices()]
    pairs += [("array_api_strict", "CPU_DEVICE"), ("array_api_strict", "device1")]
    return pairs


def _array_module(name, device):
    """The array module and device object for a (name, device) pair."""
    if name == "torch":
        torch = _torch()
        return torch, torch.device(device)
    return array_api_strict, array_api_strict.Device(device)


def _to(module, device, array, dtype=None):
    return module.asarray(np.asarray(array, dtype=dtype), device=device)


def _to_numpy(array):
    if isinstance(array, np.ndarray):
        return array
    from sklearn.utils._array_api import move_to

    return move_to(array, xp=np, device="cpu")


def _data(n_samples=60, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    weights = rng.uniform(0.0, 2.0, n_samples)
    return rng, X, weights


def _classification(rng, X, kind):
    signal = X[:, 0] + 0.5 * X[:, 1]
    if kind == "binary":
        return (signal > 0).astype(int)
    if kind == "multiclass":
        return np.digitize(signal, [-0.5, 0.5])
    return np.c_[signal > 0, X[:, 2] > 0, X[:, 3] > 0.5].astype(int)  # multilabel


def _regression(rng, X, loss):
    if loss == "poisson":
        return rng.poisson(np.exp(0.5 * X[:, 0]))
    if loss == "log_loss":
        return 1.0 / (1.0 + np.exp(-X[:, 0]))
    return np.c_[X[:, 0] - X[:, 1], X[:, 2] ** 2]  # two outputs


def _fitted_on_torch(estimator, kind="binary"):
    """``estimator`` fitted on torch tensors; returns it with torch and the data."""
    torch = _torch()
    rng, X, _ = _data()
    y = _classification(rng, X, kind)
    with sklearn.config_context(array_api_dispatch=True):
        estimator.fit(torch.asarray(X), torch.asarray(y))
    return estimator, torch, X, y


_PREDICTIONS = ("predict", "predict_proba", "predict_log_proba")


def _fit_both(estimator, X, y, module, device, dtype="float64", **fit_params):
    """Fit ``estimator`` on NumPy and on ``module`` arrays of the same values."""
    reference = clone(estimator).fit(
        X.astype(dtype), y, **{k: np.asarray(v, dtype) for k, v in fit_params.items()}
    )
    with sklearn.config_context(array_api_dispatch=True):
        X_xp = _to(module, device, X, dtype)
        params = {k: _to(module, device, v, dtype) for k, v in fit_params.items()}
        fitted = clone(estimator).fit(X_xp, _to(module, device, y), **params)
    return reference, fitted, X_xp


def _assert_same_model(reference, fitted, X, X_xp, rtol):
    assert fitted.n_iter_ == reference.n_iter_
    assert_allclose(fitted.loss_curve_, reference.loss_curve_, rtol=rtol)
    assert_allclose(_to_numpy(fitted._theta), reference._theta, rtol=rtol, atol=rtol)
    with sklearn.config_context(array_api_dispatch=True):
        for method in _PREDICTIONS:
            if not hasattr(reference, method):
                continue
            expected = getattr(reference, method)(X)
            got = getattr(fitted, method)(X_xp)
            assert type(got) is type(X_xp), method
            if np.issubdtype(expected.dtype, np.floating):
                assert_allclose(_to_numpy(got), expected, rtol=rtol, atol=rtol)
            else:
                np.testing.assert_array_equal(_to_numpy(got), expected)


# lbfgs's line search amplifies round-off between BLAS libraries over its
# iterations; the stochastic solvers take the same steps to a few ulps.
_RTOL = {"lbfgs": 1e-7, "sgd": 1e-10, "adam": 1e-10}


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_torch_float64_matches_numpy_for_every_activation(solver, activation):
    torch = _torch()
    rng, X, weights = _data()
    y = _classification(rng, X, "multiclass")
    clf = BackpropClassifier(
        (6,), activation=activation, solver=solver, max_iter=15, random_state=0
    )
    reference, fitted, X_xp = _fit_both(clf, X, y, torch, "cpu", sample_weight=weights)
    _assert_same_model(reference, fitted, X, X_xp, _RTOL[solver])


_CLASSIFIERS = {
    "binary": ("binary", {}),
    "multiclass-class-weight": ("multiclass", {"class_weight": "balanced"}),
    "multilabel": ("multilabel", {}),
    "squared-error-binary": ("binary", {"loss": "squared_error"}),
    "squared-error-multiclass": ("multiclass", {"loss": "squared_error"}),
    "early-stopping": ("multiclass", {"early_stopping": True}),
    "early-stopping-loss": ("multiclass", {"early_stopping": True, "scoring": "loss"}),
    # A scorer on the device: multiclass, since scikit-learn's binary
    # predict_proba handling reads classes_ with NumPy (not on every device);
    # a large held-out part, so that it holds every class, which log_loss
    # needs.
    "early-stopping-scorer": (
        "multiclass",
        {"early_stopping": True, "scoring": "neg_log_loss", "validation_fraction": 0.5},
    ),
    "no-hidden-layer": ("binary", {"hidden_layer_sizes": ()}),
    "activation-per-layer": (
        "multiclass",
        {"hidden_layer_sizes": (5, 4, 3), "activation": ("gelu", "tanh", "relu")},
    ),
}


def _classifier_cases():
    """The (namespace, device, case, solver, weighted) classifier fits to compare.

    torch fits every case; on array-api-strict one pass over each output
    layer suffices (unweighted, by lbfgs and adam).  Early stopping is for
    the stochastic solvers only.
    """
    for namespace, device in _namespaces():
        for case in sorted(_CLASSIFIERS):
            for solver in ("lbfgs", "sgd", "adam"):
                if case.startswith("early-stopping") and solver == "lbfgs":
                    continue
                for weighted in (False, True):
                    if namespace != "torch" and (weighted or solver == "sgd"):
                        continue
                    weights = "weighted" if weighted else "unweighted"
                    yield pytest.param(
                        namespace,
                        device,
                        case,
                        solver,
                        weighted,
                        id=f"{namespace}-{device}-{case}-{solver}-{weights}",
                    )


@pytest.mark.parametrize(
    ("namespace", "device", "case", "solver", "weighted"), list(_classifier_cases())
)
def test_classifier_matches_numpy(namespace, device, case, solver, weighted):
    module, device = _array_module(namespace, device)
    kind, params = _CLASSIFIERS[case]
    rng, X, weights = _data()
    y = _classification(rng, X, kind)
    clf = BackpropClassifier(
        **{"hidden_layer_sizes": (5,), **params},
        solver=solver,
        max_iter=12,
        random_state=0,
    )
    fit_params = {"sample_weight": weights} if weighted else {}
    reference, fitted, X_xp = _fit_both(clf, X, y, module, device, **fit_params)
    _assert_same_model(reference, fitted, X, X_xp, _RTOL[solver])


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize(
    "loss",
    ["squared_error", "poisson", "log_loss", "absolute_error", "huber", "quantile"],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_torch_regressor_matches_numpy(loss, solver, weighted):
    torch = _torch()
    rng, X, weights = _data()
    y = _regression(rng, X, loss)
    reg = BackpropRegressor(
        hidden_layer_sizes=(5,),
        loss=loss,
        solver=solver,
        max_iter=12,
        learning_rate_init=0.01,
        random_state=0,
    )
    fit_params = {"sample_weight": weights} if weighted else {}
    reference, fitted, X_xp = _fit_both(reg, X, y, torch, "cpu", **fit_params)
    _assert_same_model(reference, fitted, X, X_xp, _RTOL[solver])
    with sklearn.config_context(array_api_dispatch=True):
        score = fitted.score(X_xp, _to(torch, "cpu", y))
    assert isinstance(score, float)
    assert score == pytest.approx(reference.score(X, y), rel=1e-6)


@pytest.mark.parametrize(("namespace", "device"), _namespaces())
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_float32_stays_float32_on_the_device(namespace, device, solver):
    module, device = _array_module(namespace, device)
    rng, X, _ = _data()
    y = _classification(rng, X, "multiclass")
    clf = BackpropClassifier((5,), solver=solver, max_iter=12, random_state=0)
    reference, fitted, X_xp = _fit_both(clf, X, y, module, device, dtype="float32")
    assert fitted._theta.dtype == module.float32
    assert fitted._theta.device == X_xp.device
    for coef in fitted.coefs_:
        assert coef.dtype == module.float32 and coef.device == X_xp.device
    with sklearn.config_context(array_api_dispatch=True):
        proba = fitted.predict_proba(X_xp)
    assert proba.dtype == module.float32 and proba.device == X_xp.device
    # Both are float32 fits of the same steps; their round-off differs.
    assert_allclose(_to_numpy(proba), reference.predict_proba(X), atol=1e-4)


def test_float32_batch_for_a_float64_model_is_computed_in_float64():
    torch = _torch()
    rng, X, _ = _data()
    y = _classification(rng, X, "binary")
    with sklearn.config_context(array_api_dispatch=True):
        clf = BackpropClassifier((5,), max_iter=5, random_state=0)
        clf.fit(torch.asarray(X), torch.asarray(y))
        proba = clf.predict_proba(torch.asarray(X, dtype=torch.float32))
    assert proba.dtype == torch.float64


def test_partial_fit_stream_matches_numpy():
    torch = _torch()
    rng, X, weights = _data(n_samples=90)
    y = _classification(rng, X, "multiclass")
    numpy_clf = BackpropClassifier((6,), random_state=0)
    torch_clf = clone(numpy_clf)
    with sklearn.config_context(array_api_dispatch=True):
        for rows in (slice(0, 30), slice(30, 70), slice(70, 90)):
            numpy_clf.partial_fit(X[rows], y[rows], weights[rows], classes=[0, 1, 2])
            torch_clf.partial_fit(
                torch.asarray(X[rows]),
                torch.asarray(y[rows]),
                torch.asarray(weights[rows]),
                classes=torch.asarray([0, 1, 2]),
            )
    assert isinstance(torch_clf.classes_, torch.Tensor)
    assert_allclose(torch_clf._theta.numpy(), numpy_clf._theta, rtol=1e-12)
    assert_allclose(torch_clf.loss_curve_, numpy_clf.loss_curve_, rtol=1e-12)


def _needing_grad(torch, array):
    """``array`` as a float64 tensor that records autograd history."""
    return torch.asarray(np.asarray(array, dtype=np.float64)).requires_grad_(True)


def _assert_no_autograd_history(output):
    assert not output.requires_grad and output.grad_fn is None


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_tensors_that_require_grad_train_on_their_values(solver):
    # A tensor from a torch pipeline may record autograd history; skbp's
    # in-place kernels cannot, and the fit must equal that on detached input.
    torch = _torch()
    rng, X, weights = _data()
    y = _regression(rng, X, "squared_error")
    reg = BackpropRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=5)
    reg.set_params(random_state=0)
    with sklearn.config_context(array_api_dispatch=True):
        reference = clone(reg).fit(
            torch.asarray(X), torch.asarray(y), torch.asarray(weights)
        )
        X_grad = _needing_grad(torch, X)
        fitted = clone(reg).fit(
            X_grad, _needing_grad(torch, y), _needing_grad(torch, weights)
        )
        predictions = [fitted.predict(X_grad), fitted.hidden_activations(X_grad)]
        with warnings.catch_warnings():
            # torch warns when a tensor that records history becomes a float.
            warnings.simplefilter("error", UserWarning)
            weights_grad = _needing_grad(torch, weights)
            score = fitted.score(X_grad, torch.asarray(y), weights_grad)
    assert torch.equal(fitted._theta, reference._theta)
    _assert_no_autograd_history(fitted._theta)
    for output in predictions:
        _assert_no_autograd_history(output)
    assert np.isfinite(float(score))


def test_classifier_stream_on_tensors_that_require_grad():
    torch = _torch()
    rng, X, weights = _data(n_samples=90)
    y = _classification(rng, X, "multiclass")
    clf = BackpropClassifier((6,), random_state=0)
    with sklearn.config_context(array_api_dispatch=True):
        reference = clone(clf).partial_fit(
            torch.asarray(X[:60]),
            torch.asarray(y[:60]),
            torch.asarray(weights[:60]),
            classes=torch.asarray([0, 1, 2]),
            X_val=torch.asarray(X[60:]),
            y_val=torch.asarray(y[60:]),
        )
        X_grad = _needing_grad(torch, X)
        clf.partial_fit(
            X_grad[:60],
            _needing_grad(torch, y[:60]),
            _needing_grad(torch, weights[:60]),
            classes=_needing_grad(torch, [0, 1, 2]),
            X_val=X_grad[60:],
            y_val=_needing_grad(torch, y[60:]),
        )
        outputs = [clf.predict_proba(X_grad), clf.predict_log_proba(X_grad)]
        outputs.append(clf.predict(X_grad))
    assert torch.equal(clf._theta, reference._theta)
    assert clf.validation_scores_ == reference.validation_scores_
    for output in outputs:
        _assert_no_autograd_history(output)


def test_coefs_are_live_views_of_the_device_parameters():
    clf, torch, X, y = _fitted_on_torch(
        BackpropClassifier((5,), max_iter=3, random_state=0, warm_start=True)
    )
    with sklearn.config_context(array_api_dispatch=True):
        first_layer = clf.coefs_[0]
        before = first_layer.clone()
        clf.fit(torch.asarray(X), torch.asarray(y))  # warm start trains on in place
    # The view held from the first fit was trained on in place.
    assert not torch.equal(before, first_layer)
    assert torch.equal(clf.coefs_[0], first_layer)
    assert first_layer.untyped_storage().data_ptr() == (
        clf._theta.untyped_storage().data_ptr()
    )


def test_torch_model_pickles_and_predicts_the_same():
    clf, torch, X, y = _fitted_on_torch(
        BackpropClassifier((5,), max_iter=5, random_state=0), "multiclass"
    )
    X_t = torch.asarray(X)
    with sklearn.config_context(array_api_dispatch=True):
        copy = pickle.loads(pickle.dumps(clf))
        assert torch.equal(copy.predict_proba(X_t), clf.predict_proba(X_t))
        copy.partial_fit(X_t, torch.asarray(y))  # trains on from the unpickled views
    assert copy.coefs_[0].untyped_storage().data_ptr() == (
        copy._theta.untyped_storage().data_ptr()
    )


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "hidden_activations"]
)
def test_input_from_another_namespace_is_refused(method):
    clf, torch, X, _ = _fitted_on_torch(BackpropClassifier((5,), max_iter=3))
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match=rf"BackpropClassifier\.{method}\(\) must"):
            getattr(clf, method)(X)
    with pytest.raises(ValueError, match="array_api_dispatch=True"):
        getattr(clf, method)(torch.asarray(X))


def test_stream_in_another_namespace_is_refused_and_changes_nothing():
    clf, torch, X, y = _fitted_on_torch(BackpropClassifier((5,), max_iter=3))
    with sklearn.config_context(array_api_dispatch=True):
        theta = clf._theta.clone()
        with pytest.raises(ValueError, match=r"partial_fit\(\) must use the same"):
            clf.partial_fit(X, y)
    assert torch.equal(clf._theta, theta)
    assert clf.n_iter_ == 3


def test_string_labels_come_back_as_numpy_labels():
    torch = _torch()
    rng, X, _ = _data()
    y = np.array(["cat", "dog", "emu"])[_classification(rng, X, "multiclass")]
    reference = BackpropClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        clf = BackpropClassifier((5,), max_iter=5, random_state=0)
        clf.fit(torch.asarray(X), y)
        labels = clf.predict(torch.asarray(X))
        proba = clf.predict_proba(torch.asarray(X))
    assert isinstance(clf.classes_, np.ndarray)
    np.testing.assert_array_equal(labels, reference.predict(X))
    assert isinstance(proba, torch.Tensor)


def test_sparse_input_under_dispatch_takes_the_numpy_path():
    rng, X, _ = _data()
    y = _classification(rng, X, "binary")
    reference = BackpropClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        clf = BackpropClassifier((5,), max_iter=5, random_state=0)
        clf.fit(sp.csr_matrix(X), y)
    assert isinstance(clf._theta, np.ndarray)
    assert_allclose(clf._theta, reference._theta, rtol=1e-12)


def test_hidden_layer_embedding_stays_on_the_device():
    torch = _torch()
    rng, X, _ = _data()
    y = _classification(rng, X, "binary")
    with sklearn.config_context(array_api_dispatch=True):
        embedding = HiddenLayerEmbedding(
            BackpropClassifier((5, 3), max_iter=5, random_state=0)
        )
        features = embedding.fit_transform(torch.asarray(X), torch.asarray(y))
    reference = HiddenLayerEmbedding(
        BackpropClassifier((5, 3), max_iter=5, random_state=0)
    ).fit_transform(X, y)
    assert isinstance(features, torch.Tensor) and features.shape == (60, 3)
    assert_allclose(features.numpy(), reference, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("namespace", "device"), _namespaces())
def test_single_class_classifier_predicts_its_class_on_the_device(namespace, device):
    # A fold or a stream may see one class: the network learns an all-zero
    # target and every prediction is that class, as scikit-learn's MLP does.
    module, device = _array_module(namespace, device)
    _, X, _ = _data()
    y = np.full(X.shape[0], 3)
    clf = BackpropClassifier((5,), max_iter=5, random_state=0)
    reference, fitted, X_xp = _fit_both(clf, X, y, module, device)
    _assert_same_model(reference, fitted, X, X_xp, _RTOL["adam"])
    with sklearn.config_context(array_api_dispatch=True):
        labels = fitted.predict(X_xp)
        proba = fitted.predict_proba(X_xp)
    assert labels.device == X_xp.device and proba.device == X_xp.device
    np.testing.assert_array_equal(_to_numpy(labels), np.full(X.shape[0], 3))
    # One column, the largest float below 1 (probabilities stay inside (0, 1)).
    np.testing.assert_array_equal(_to_numpy(proba), reference.predict_proba(X))
    assert proba.shape == (X.shape[0], 1)


def _overflowing_last_row():
    """Data whose last row overflows the raw outputs of the trained network.

    Row 299 holds the largest floats with weight zero: training never sees
    it, and only the divergence check on every training row (on the
    device's arrays) finds that it drives the outputs to infinity.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10))
    y = X[:, 0]
    X[299, :5] = np.finfo(float).max
    X[299, 5:] = -np.finfo(float).max
    sample_weight = np.ones(300)
    sample_weight[250:] = 0.0
    return X, y, sample_weight


@pytest.mark.parametrize(("namespace", "device"), _namespaces())
def test_outputs_overflowing_on_the_device_are_refused_as_in_numpy(namespace, device):
    module, device = _array_module(namespace, device)
    X, y, sample_weight = _overflowing_last_row()
    reg = BackpropRegressor(
        hidden_layer_sizes=(20, 20),
        batch_size=50,
        shuffle=False,
        max_iter=3,
        random_state=0,
    )
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="non-finite") as numpy_error:
            clone(reg).fit(X, y, sample_weight=sample_weight)
        with sklearn.config_context(array_api_dispatch=True):
            X_xp, y_xp, weights_xp = (
                _to(module, device, array) for array in (X, y, sample_weight)
            )
            with pytest.raises(ValueError, match="non-finite") as device_error:
                clone(reg).fit(X_xp, y_xp, sample_weight=weights_xp)
    assert str(device_error.value) == str(numpy_error.value)


class _SyncCounter:
    """Counts the ways a tensor's value reaches Python (each one a device sync)."""

    _METHODS = ("__float__", "__bool__", "__int__", "item", "tolist", "numpy", "cpu")

    def __init__(self, torch, monkeypatch):
        self.count = 0
        for name in self._METHODS:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._counted(original))

    def _counted(self, original):
        def method(tensor, *args, **kwargs):
            self.count += 1
            return original(tensor, *args, **kwargs)

        return method


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_stochastic_solvers_sync_once_per_epoch_not_per_batch(
    solver, weighted, monkeypatch
):
    torch = _torch()
    rng, X, weights = _data(n_samples=400)
    weights[:50] = 0.0  # whole batches of zero weight, skipped without a sync
    y = _classification(rng, X, "multiclass")
    X_t, y_t = torch.asarray(X), torch.asarray(y)
    fit_params = {"sample_weight": torch.asarray(weights)} if weighted else {}
    counts = {}
    for max_iter in (4, 8):
        clf = BackpropClassifier(
            (5,), solver=solver, batch_size=10, max_iter=max_iter, random_state=0
        )
        with sklearn.config_context(array_api_dispatch=True):
            counter = _SyncCounter(torch, monkeypatch)
            with pytest.warns(ConvergenceWarning):
                clf.fit(X_t, y_t, **fit_params)
        monkeypatch.undo()
        counts[max_iter] = counter.count
    # 40 batches an epoch: per-batch syncs would add 160 for 4 more epochs.
    assert counts[8] - counts[4] <= 4


# ------------------------------------------------------------- the core itself


def _encoded_targets(rng, loss, link, n_samples):
    if link == "softmax":
        return np.eye(3)[rng.integers(0, 3, n_samples)]
    if loss == "poisson":
        return rng.poisson(1.5, (n_samples, 2)).astype(float)
    if link == "logistic":
        return rng.integers(0, 2, (n_samples, 2)).astype(float)
    return rng.normal(size=(n_samples, 2))


@pytest.mark.parametrize(("namespace", "device"), _namespaces())
@pytest.mark.parametrize(
    ("loss", "parameters"),
    [
        ("absolute_error", {}),
        ("huber", {"huber_delta": 0.4}),
        ("quantile", {"quantile": 0.8}),
    ],
)
def test_robust_loss_fit_matches_numpy(namespace, device, loss, parameters):
    # The losses with parameters, bound on another namespace as on NumPy.
    module, device = _array_module(namespace, device)
    rng, X, _ = _data()
    y = _regression(rng, X, loss)
    reg = BackpropRegressor(
        hidden_layer_sizes=(5,),
        loss=loss,
        solver="lbfgs",
        max_iter=12,
        random_state=0,
        **parameters,
    )
    reference, fitted, X_xp = _fit_both(reg, X, y, module, device)
    _assert_same_model(reference, fitted, X, X_xp, _RTOL["lbfgs"])


@pytest.mark.parametrize(("namespace", "device"), _namespaces())
@pytest.mark.parametrize("output_layer", OUTPUT_LAYER_NAMES, ids="-".join)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_core_matches_numpy_and_finite_differences(
    namespace, device, output_layer, activation
):
    # loss_and_grad itself on another namespace: the same loss and gradient as
    # on NumPy, and a gradient that central differences of its own loss confirm.
    module, device = _array_module(namespace, device)
    rng, X, weights = _data(n_samples=12, n_features=3)
    y = _encoded_targets(rng, *output_layer, X.shape[0])
    network = Network(
        (3, 4, y.shape[1]),
        (ACTIVATIONS[activation],),
        get_output_layer(*output_layer),
    )
    theta = network.init_parameters(np.random.RandomState(0), np.float64)
    settings = dict(network=network, alpha=0.3)
    expected_loss, expected_grad = loss_and_grad(theta, X, y, weights, **settings)
    arrays = [_to(module, device, a) for a in (theta, X, y, weights)]
    loss, grad = loss_and_grad(*arrays, **settings)
    assert float(loss) == pytest.approx(expected_loss, rel=1e-12)
    assert_allclose(_to_numpy(grad), expected_grad, rtol=1e-11, atol=1e-14)

    theta_xp, *data = arrays
    epsilon = 1e-6
    for index in range(0, network.n_params, 5):
        shifted = []
        for step in (epsilon, -epsilon):
            moved = module.asarray(theta_xp, copy=True)
            moved[index] += step
            shifted.append(float(loss_and_grad(moved, *data, **settings)[0]))
        numeric = (shifted[0] - shifted[1]) / (2 * epsilon)
        assert numeric == pytest.approx(float(grad[index]), rel=1e-5, abs=1e-8)


def test_check_gradients_takes_a_torch_model_and_torch_data():
    torch = _torch()
    rng, X, weights = _data()
    y = _classification(rng, X, "multiclass")
    with sklearn.config_context(array_api_dispatch=True):
        clf = BackpropClassifier((5,), activation="tanh", max_iter=5, random_state=0)
        clf.fit(torch.asarray(X), torch.asarray(y))
        error = check_gradients(
            clf,
            torch.asarray(X),
            torch.asarray(y),
            sample_weight=torch.asarray(weights),
        )
    assert error < 1e-6


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_move_estimator_to_serves_a_torch_model_from_numpy(solver):
    # scikit-learn's move_estimator_to: train on the device, serve on the CPU.
    from sklearn.utils._array_api import move_estimator_to

    on_device, torch, X, _ = _fitted_on_torch(
        BackpropClassifier((5,), solver=solver, max_iter=8, random_state=0),
        "multiclass",
    )
    with sklearn.config_context(array_api_dispatch=True):
        expected = on_device.predict_proba(torch.asarray(X)).numpy()
    served = move_estimator_to(on_device, np, "cpu")
    assert isinstance(served._theta, np.ndarray)
    assert isinstance(served.classes_, np.ndarray)
    assert all(isinstance(coef, np.ndarray) for coef in served.coefs_)
    assert np.shares_memory(served.coefs_[0], served._theta)
    assert_allclose(served.predict_proba(X), expected, rtol=1e-12)
    assert served.loss_curve_ == on_device.loss_curve_
    assert served.loss_curve_ is not on_device.loss_curve_


def test_move_estimator_to_carries_a_stream_on():
    # The optimizer state moves too: continuing the stream elsewhere gives the
    # steps the stream would have taken where it was.
    from sklearn.utils._array_api import move_estimator_to

    torch = _torch()
    rng, X, _ = _data()
    y = _classification(rng, X, "binary")
    numpy_stream = BackpropClassifier((5,), random_state=0)
    numpy_stream.partial_fit(X[:30], y[:30], classes=[0, 1])
    with sklearn.config_context(array_api_dispatch=True):
        torch_namespace = array_api_compat.array_namespace(torch.zeros(1))
        moved = move_estimator_to(numpy_stream, torch_namespace, torch.device("cpu"))
        moved.partial_fit(torch.asarray(X[30:]), torch.asarray(y[30:]))
    numpy_stream.partial_fit(X[30:], y[30:])
    assert isinstance(moved._theta, torch.Tensor)
    assert_allclose(moved._theta.numpy(), numpy_stream._theta, rtol=1e-12)


@pytest.mark.parametrize("estimator_class", [BackpropClassifier, BackpropRegressor])
def test_given_validation_set_on_torch_matches_numpy(estimator_class):
    torch = _torch()
    rng, X, weights = _data(n_samples=80)
    if estimator_class is BackpropClassifier:
        y = _classification(rng, X, "multiclass")
    else:
        y = _regression(rng, X, "squared_error")
    estimator = estimator_class(
        hidden_layer_sizes=(5,), early_stopping=True, max_iter=10, random_state=0
    )
    train, held_out = slice(0, 60), slice(60, 80)
    reference = clone(estimator).fit(
        X[train],
        y[train],
        X_val=X[held_out],
        y_val=y[held_out],
        sample_weight_val=weights[held_out],
    )
    with sklearn.config_context(array_api_dispatch=True):
        fitted = clone(estimator).fit(
            torch.asarray(X[train]),
            torch.asarray(y[train]),
            X_val=torch.asarray(X[held_out]),
            y_val=torch.asarray(y[held_out]),
            sample_weight_val=torch.asarray(weights[held_out]),
        )
    assert_allclose(fitted.validation_scores_, reference.validation_scores_, rtol=1e-9)
    assert_allclose(
        fitted.validation_loss_curve_, reference.validation_loss_curve_, rtol=1e-9
    )
    assert_allclose(fitted._theta.numpy(), reference._theta, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_callbacks_score_the_device_model_as_the_numpy_one(solver):
    from sklearn.callback import ScoringMonitor

    torch = _torch()
    rng, X, _ = _data()
    y = _classification(rng, X, "multiclass")
    logs = []
    for to_input in (np.asarray, torch.asarray):
        monitor = ScoringMonitor(scoring="accuracy")
        clf = BackpropClassifier((5,), solver=solver, max_iter=4, random_state=0)
        with sklearn.config_context(array_api_dispatch=True):
            clf.set_callbacks(monitor).fit(to_input(X), to_input(y))
        logs.append([row["accuracy"] for row in monitor.get_logs().data])
    assert len(logs[0]) > 1
    assert_allclose(logs[1], logs[0], rtol=1e-6)
