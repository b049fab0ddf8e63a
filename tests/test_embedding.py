"""Hidden-layer activations as features: the method and the transformer.

The reference is the forward pass written out in NumPy from ``coefs_`` and
``intercepts_``; the transformer must return what the fitted network's
method returns, in a Pipeline as on its own. Fit parameters reach the network
as scikit-learn's meta-estimators pass them: straight through, or under
metadata routing as the network requests them.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import (
    ConvergenceWarning,
    NotFittedError,
    UnsetMetadataPassedError,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from skbp import BackpropClassifier, BackpropRegressor, HiddenLayerEmbedding

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "identity": lambda z: z,
}


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    return X, y


def _fitted(activation="relu", sizes=(6, 3), estimator=BackpropClassifier):
    X, y = _data()
    model = estimator(
        hidden_layer_sizes=sizes, activation=activation, max_iter=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y), X, y


def _by_hand(model, X, n_layers, activation):
    a = X
    for coef, intercept in zip(
        model.coefs_[:n_layers], model.intercepts_[:n_layers], strict=True
    ):
        a = ACTIVATIONS[activation](a @ coef + intercept)
    return a


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize(("layer", "n_layers"), [(0, 1), (1, 2), (-1, 2), (-2, 1)])
def test_hidden_activations_are_the_forward_pass(activation, layer, n_layers):
    model, X, _ = _fitted(activation)
    expected = _by_hand(model, X, n_layers, activation)
    assert_allclose(model.hidden_activations(X, layer=layer), expected, rtol=1e-12)


def test_regressor_and_sparse_input():
    model, X, _ = _fitted(estimator=BackpropRegressor)
    dense = model.hidden_activations(X)
    assert_allclose(model.hidden_activations(sp.csr_matrix(X)), dense, rtol=1e-12)


@pytest.mark.parametrize("layer", [2, -3, 1.0, "last"])
def test_a_layer_that_does_not_exist_is_refused(layer):
    model, X, _ = _fitted()
    with pytest.raises(ValueError, match="layer"):
        model.hidden_activations(X, layer=layer)


def test_a_network_without_hidden_layers_has_no_embedding():
    model, X, y = _fitted(sizes=())
    with pytest.raises(ValueError, match="no hidden layer"):
        model.hidden_activations(X)
    with pytest.raises(ValueError, match="no hidden layer"):
        HiddenLayerEmbedding(model, prefit=True).fit(X, y)


def test_transformer_in_a_pipeline_returns_the_network_features():
    X, y = _data()
    network = BackpropClassifier(hidden_layer_sizes=(6, 3), max_iter=20, random_state=0)
    pipeline = make_pipeline(
        HiddenLayerEmbedding(network, layer=0), LogisticRegression()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y)
    embedding = pipeline[0]
    assert network is not embedding.estimator_  # a clone was fitted
    direct, _, _ = _fitted()
    assert_array_equal(embedding.transform(X), direct.hidden_activations(X, layer=0))
    assert embedding.get_feature_names_out().tolist() == [
        f"hiddenlayerembedding{i}" for i in range(6)
    ]
    assert pipeline.predict(X).shape == (60,)


def test_prefit_uses_the_given_model():
    model, X, y = _fitted()
    embedding = HiddenLayerEmbedding(model, prefit=True).fit(X, y)
    assert embedding.estimator_ is model
    assert_array_equal(embedding.transform(X), model.hidden_activations(X))
    unfitted = BackpropClassifier()
    with pytest.raises(NotFittedError):
        HiddenLayerEmbedding(unfitted, prefit=True).fit(X, y)


def test_fit_params_reach_the_network():
    X, y = _data()
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    network = BackpropClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", random_state=0
    )
    embedding = HiddenLayerEmbedding(network).fit(X, y, sample_weight=weights)
    direct = BackpropClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", random_state=0
    ).fit(X, y, sample_weight=weights)
    assert_array_equal(embedding.transform(X), direct.hidden_activations(X))


# ------------------------------------------------------- metadata routing


def _small_network():
    # Deterministic (L-BFGS, fixed seed) and fast (a few iterations).
    return BackpropClassifier(
        hidden_layer_sizes=(4,), solver="lbfgs", max_iter=15, random_state=0
    )


def _weights(n_samples):
    return np.random.default_rng(1).uniform(0.1, 3.0, size=n_samples)


def _quiet_fit(model, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **fit_params)


def _embedding_pipeline(network):
    return Pipeline(
        [
            ("emb", HiddenLayerEmbedding(network)),
            ("lr", LogisticRegression().set_fit_request(sample_weight=False)),
        ]
    )


def test_routed_sample_weight_reaches_the_network():
    X, y = _data()
    weights = _weights(len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        network = _small_network().set_fit_request(sample_weight=True)
        pipeline = _quiet_fit(_embedding_pipeline(network), X, y, sample_weight=weights)
        direct = _quiet_fit(clone(network), X, y, sample_weight=weights)
        unweighted = _quiet_fit(clone(network), X, y)
    embedded = pipeline.named_steps["emb"].estimator_
    for coef, expected in zip(embedded.coefs_, direct.coefs_, strict=True):
        assert_array_equal(coef, expected)
    assert not np.allclose(embedded.coefs_[0], unweighted.coefs_[0])


def test_routed_sample_weight_reaches_the_network_without_a_pipeline():
    X, y = _data()
    weights = _weights(len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        network = _small_network().set_fit_request(sample_weight=True)
        embedding = _quiet_fit(
            HiddenLayerEmbedding(network), X, y, sample_weight=weights
        )
        direct = _quiet_fit(clone(network), X, y, sample_weight=weights)
    assert_array_equal(embedding.estimator_.coefs_[0], direct.coefs_[0])


def test_unrequested_sample_weight_is_a_routing_error():
    X, y = _data()
    with sklearn.config_context(enable_metadata_routing=True):
        pipeline = _embedding_pipeline(_small_network())
        with pytest.raises(
            UnsetMetadataPassedError, match=r"sample_weight.*BackpropClassifier\.fit"
        ):
            pipeline.fit(X, y, sample_weight=_weights(len(y)))


def test_unrequested_sample_weight_is_a_routing_error_without_a_pipeline():
    X, y = _data()
    with sklearn.config_context(enable_metadata_routing=True):
        embedding = HiddenLayerEmbedding(_small_network())
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            embedding.fit(X, y, sample_weight=_weights(len(y)))


def test_without_routing_fit_params_still_pass_straight_through():
    X, y = _data()
    weights = _weights(len(y))
    pipeline = Pipeline(
        [("emb", HiddenLayerEmbedding(_small_network())), ("lr", LogisticRegression())]
    )
    with sklearn.config_context(enable_metadata_routing=False):
        _quiet_fit(pipeline, X, y, emb__sample_weight=weights)
    direct = _quiet_fit(_small_network(), X, y, sample_weight=weights)
    embedded = pipeline.named_steps["emb"].estimator_
    assert_array_equal(embedded.coefs_[0], direct.coefs_[0])
