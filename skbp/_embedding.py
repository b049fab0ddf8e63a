"""A hidden layer of a backpropagation network, as a scikit-learn transformer."""

from numbers import Integral

from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import check_is_fitted

from ._array_api import input_primitives


class HiddenLayerEmbedding(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Transform data into the activations of a trained network's hidden layer.

    A meta-transformer in the manner of
    :class:`~sklearn.feature_selection.SelectFromModel`: ``fit`` trains a
    clone of ``estimator`` on ``X`` and ``y`` (or takes it as it is, with
    ``prefit=True``), and ``transform`` returns the output of one of its
    hidden layers, the features the network has learnt. As a pipeline step
    it feeds those features to another model.

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        The network, with at least one hidden layer.

    layer : int, default=-1
        The hidden layer, counted from 0 or from the end (-1 is the last).

    prefit : bool, default=False
        Whether ``estimator`` is fitted already; ``fit`` then only checks it
        (and does not refit it).

    Attributes
    ----------
    estimator_ : estimator
        The fitted network whose layer is output.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string names.

    See Also
    --------
    BackpropClassifier.hidden_activations : The same for a fitted model.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skbp import BackpropClassifier, HiddenLayerEmbedding
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> network = BackpropClassifier(hidden_layer_sizes=(32,), max_iter=30,
    ...                              random_state=0)
    >>> model = make_pipeline(HiddenLayerEmbedding(network), LogisticRegression())
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _ = model.fit(X, y)
    >>> model[0].transform(X[:2]).shape
    (2, 32)
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "hidden_activations"])],
        "layer": [Interval(Integral, None, None, closed="neither")],
        "prefit": ["boolean"],
    }

    def __init__(self, estimator, *, layer=-1, prefit=False):
        self.estimator = estimator
        self.layer = layer
        self.prefit = prefit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Train the network (unless ``prefit``) and check the layer exists.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Targets of the network; not used if ``prefit=True``.

        **fit_params : dict
            Parameters of the network's ``fit`` (e.g. ``sample_weight``),
            ignored if ``prefit=True``:

            - with ``enable_metadata_routing=False`` (the default), passed
              straight to it;
            - with ``enable_metadata_routing=True``, routed to it as it
              requests them (``estimator.set_fit_request``). See
              scikit-learn's Metadata Routing User Guide.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        if self.prefit:
            check_is_fitted(self.estimator)
            estimator = self.estimator
        else:
            estimator = clone(self.estimator).fit(
                X, y, **self._network_fit_params(fit_params)
            )
        n_layers = estimator._layers_up_to(self.layer)  # raises if none
        self.estimator_ = estimator
        self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        self._n_features_out = estimator.coefs_[n_layers - 1].shape[1]
        return self

    def _network_fit_params(self, fit_params):
        if not _routing_enabled():
            # TODO(SLEP6): drop when scikit-learn can no longer disable routing.
            return fit_params
        # Raises on metadata the network has not requested or refused.
        return process_routing(self, "fit", **fit_params).estimator.fit

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        ``fit``'s parameters go to the network's ``fit``; see scikit-learn's
        Metadata Routing User Guide.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        return MetadataRouter(owner=self).add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def transform(self, X):
        """Return the activations of the chosen hidden layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        activations : ndarray of shape (n_samples, n_units)
            The layer's output.
        """
        check_is_fitted(self)
        self.estimator_._check_fitted_namespace(
            input_primitives(X), "transform", caller=type(self).__name__
        )
        return self.estimator_.hidden_activations(X, layer=self.layer)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        # As its network: torch (and other array-API) input stays on its device.
        tags.array_api_support = True
        return tags
