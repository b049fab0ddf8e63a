"""skbp.onnx: the converted graphs, run by onnxruntime, against predict.

Every activation, every output layer, float32 and float64, alone and in a
pipeline. float32: both sides compute in float32 with their own kernels, so
probabilities agree to 1e-5 relative, and to 1e-6 absolute where they are
tiny (a 1e-6 difference in a raw output of 70 moves exp(-70) by 1e-6
relative to itself, and more for larger outputs).
"""

import numpy as np
import onnxruntime
import pytest
import skl2onnx
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skbp.dask
from skbp import BackpropClassifier, BackpropRegressor
from skbp._activations import ACTIVATIONS
from skbp.onnx import to_onnx

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOLERANCE = {
    np.float32: dict(rtol=1e-5, atol=1e-6),
    np.float64: dict(rtol=1e-11, atol=1e-14),
}


def _run(onnx_model, X):
    session = onnxruntime.InferenceSession(onnx_model.SerializeToString())
    return session.run(None, {session.get_inputs()[0].name: X})


def _data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 4)).astype(dtype)
    return rng, X


def _classifier_targets(rng, X, kind):
    signal = X[:, 0] + X[:, 1]
    if kind == "binary":
        return (signal > 0).astype(int)
    if kind == "strings":
        return np.array(["cat", "dog", "emu"])[np.digitize(signal, [-0.7, 0.7])]
    if kind == "multilabel":
        return np.c_[signal > 0, X[:, 2] > 0, X[:, 3] > 0.5].astype(int)
    return np.digitize(signal, [-0.7, 0.7])  # multiclass


def _assert_classifier_exports(model, X, tolerance):
    labels, proba = _run(to_onnx(model, X[:1], options={"zipmap": False}), X)
    assert_array_equal(labels, model.predict(X))
    assert proba.dtype == X.dtype
    assert_allclose(proba, model.predict_proba(X), **tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation(activation, dtype):
    rng, X = _data(dtype)
    y = _classifier_targets(rng, X, "multiclass")
    model = BackpropClassifier(
        (6, 5), activation=activation, solver="lbfgs", max_iter=60, random_state=0
    ).fit(X, y)
    tolerance = dict(TOLERANCE[dtype])
    if activation == "gelu" and dtype == np.float64:
        tolerance = dict(rtol=1e-6, atol=1e-9)  # onnxruntime's Erf is float32 only
    _assert_classifier_exports(model, X, tolerance)


def test_an_activation_per_layer_exports_the_fitted_ones():
    rng, X = _data(np.float32)
    y = _classifier_targets(rng, X, "multiclass")
    model = BackpropClassifier(
        (6, 5, 4),
        activation=("logistic", "gelu", "relu"),
        solver="lbfgs",
        max_iter=40,
        random_state=0,
    ).fit(X, y)
    # The parameter changed after the fit: the fitted activations are exported.
    model.set_params(activation="identity")
    _assert_classifier_exports(model, X, TOLERANCE[np.float32])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("kind", "loss"),
    [
        ("binary", "log_loss"),
        ("multiclass", "log_loss"),
        ("strings", "log_loss"),
        ("multilabel", "log_loss"),
        ("binary", "squared_error"),
        ("multiclass", "squared_error"),
    ],
)
def test_every_classifier_output_layer(kind, loss, dtype):
    rng, X = _data(dtype, seed=1)
    y = _classifier_targets(rng, X, kind)
    model = BackpropClassifier(
        (6,), loss=loss, solver="lbfgs", max_iter=60, random_state=0
    ).fit(X, y)
    _assert_classifier_exports(model, X, TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
# The robust and quantile losses have identity units: prediction does not
# depend on the loss, and they export as squared error does.
@pytest.mark.parametrize(
    "loss",
    ["squared_error", "poisson", "log_loss", "absolute_error", "huber", "quantile"],
)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_every_regressor_output_layer(loss, n_outputs, dtype):
    rng, X = _data(dtype, seed=2)
    signal = 0.5 * X[:, :n_outputs]
    y = {
        "squared_error": signal,
        "poisson": rng.poisson(np.exp(signal)),
        "log_loss": 1.0 / (1.0 + np.exp(-signal)),
        "absolute_error": signal,
        "huber": signal,
        "quantile": signal + 0.1 * rng.normal(size=signal.shape),
    }[loss]
    y = y.ravel() if n_outputs == 1 else y
    model = BackpropRegressor(
        hidden_layer_sizes=(6,),
        loss=loss,
        quantile=0.9,
        huber_delta=0.2,
        solver="lbfgs",
        max_iter=60,
        random_state=0,
    ).fit(X, y)
    (predictions,) = _run(to_onnx(model, X[:1]), X)
    assert predictions.shape == (X.shape[0], n_outputs)
    assert_allclose(
        predictions.reshape(model.predict(X).shape),
        model.predict(X),
        **TOLERANCE[dtype],
    )


def test_inside_a_pipeline_with_skl2onnx_and_zipmap():
    rng, X = _data(np.float32, seed=3)
    y = _classifier_targets(rng, X, "multiclass")
    pipeline = make_pipeline(
        StandardScaler(),
        BackpropClassifier((6,), solver="lbfgs", max_iter=60, random_state=0),
    ).fit(X, y)
    labels, proba = _run(skl2onnx.to_onnx(pipeline, X[:1]), X)  # skl2onnx's own call
    # skl2onnx's scaler multiplies by 1 / scale where scikit-learn divides: its
    # output differs by an ulp or two, which the network (weights up to ~20)
    # amplifies past the float32 tolerance, by how much depending on the fit.
    # Compare skbp's part on the converted scaler's own output.
    (scaled,) = _run(skl2onnx.to_onnx(pipeline[0], X[:1]), X)
    assert_allclose(scaled, pipeline[0].transform(X), rtol=0, atol=1e-6)
    network = pipeline[-1]
    assert_array_equal(labels, network.predict(scaled))
    expected = network.predict_proba(scaled)
    got = np.array([[row[label] for label in pipeline.classes_] for row in proba])
    assert_allclose(got, expected, **TOLERANCE[np.float32])


def test_a_single_class_is_refused():
    X = np.ones((5, 2), dtype=np.float32)
    model = BackpropClassifier((3,), solver="lbfgs", max_iter=5).fit(X, [1] * 5)
    with pytest.raises(ValueError, match="at least two classes"):
        to_onnx(model, X[:1], options={"zipmap": False})


_UNFITTED = [
    BackpropClassifier,
    BackpropRegressor,
    skbp.dask.BackpropClassifier,
    skbp.dask.BackpropRegressor,
]


@pytest.mark.parametrize("estimator", _UNFITTED, ids=lambda c: f"{c.__module__}.")
@pytest.mark.parametrize("convert", [to_onnx, skl2onnx.to_onnx], ids=["skbp", "own"])
@pytest.mark.parametrize("in_pipeline", [False, True])
def test_an_unfitted_model_is_refused_as_not_fitted(estimator, convert, in_pipeline):
    # Not skl2onnx's "No known ways to retrieve the number of classes" or an
    # AttributeError from inside the converter.
    X = np.ones((2, 3), dtype=np.float32)
    model = estimator((3,))
    if in_pipeline:
        model = make_pipeline(StandardScaler().fit(X), model)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        convert(model, X)


def test_the_dask_estimators_convert_too():
    rng, X = _data(np.float32, seed=4)
    y = _classifier_targets(rng, X, "binary")
    model = skbp.dask.BackpropClassifier((5,), solver="lbfgs", max_iter=30).fit(X, y)
    _assert_classifier_exports(model, X, TOLERANCE[np.float32])
