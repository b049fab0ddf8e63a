"""BackpropRegressor: numeric targets, Poisson and proportion outputs.

Also the robust losses (absolute error, Huber) and quantile regression.
"""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import _BaseBackprop
from ._docstrings import SHARED_ATTRIBUTES_DOC, SHARED_PARAMETERS_DOC
from ._guards import finite_raw, quiet_floats, unchanged_on_error
from ._primitives import primitives_for
from ._validation import is_finite, score_weights


def encoded_numbers(y, dtype):
    """Numeric targets as the network's: a C-contiguous matrix of ``dtype``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    dtype : numpy dtype
        The model's float dtype.

    Returns
    -------
    y_encoded : ndarray of shape (n_samples, n_outputs)
    """
    y = y.reshape(-1, 1) if y.ndim == 1 else y
    return np.ascontiguousarray(y, dtype=dtype)


class BackpropRegressor(RegressorMixin, _BaseBackprop):
    """Multi-layer perceptron regressor trained by backpropagation.

    A drop-in superset of :class:`sklearn.neural_network.MLPRegressor`: the
    same parameters, defaults and fitted attributes, plus a log-loss option
    for targets that are proportions. Single or multiple outputs; dense or
    sparse input; float32 kept end to end.

    Supports scikit-learn's callback API: callbacks from
    :mod:`sklearn.callback` are attached with ``set_callbacks``. Each call to
    ``fit`` or ``partial_fit`` is reported as a task whose subtasks are the
    epochs ('sgd', 'adam') or the L-BFGS iterations ('lbfgs'); a callback may
    ask training to stop after any subtask.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'log_loss', 'absolute_error', \
            'huber', 'quantile'}, default='squared_error'
        Loss of the output layer: half squared error with identity units,
        half Poisson deviance with exponential units (targets >= 0), or
        log-loss with logistic units (targets in [0, 1], e.g. proportions).
        The other three have identity units, as squared error: 'absolute_error'
        is ``|y - f|``, which fits the conditional median and is little moved
        by outliers; 'huber' is squared error for residuals up to
        ``huber_delta`` and absolute error beyond; 'quantile' is the pinball
        loss of ``quantile`` (scikit-learn's ``mean_pinball_loss`` with
        ``alpha=quantile``), which fits that conditional quantile. Absolute
        error and the pinball loss have a kink where ``f == y``: the gradient
        used there is the subgradient 0 (of least norm). As for every loss,
        ``loss_`` is summed over the outputs and averaged over the samples;
        ``score`` stays R^2 whatever the loss.

    %(parameters)s

    quantile : float, default=0.5
        The quantile that ``loss='quantile'`` fits, strictly between 0 and 1
        (as in :class:`~sklearn.ensemble.HistGradientBoostingRegressor`): the
        loss of a residual ``r = y - f`` is ``quantile * r`` where ``r > 0``
        and ``(quantile - 1) * r`` where ``r < 0``; its gradient with respect
        to the prediction is ``-quantile`` below the targets, ``1 - quantile``
        above, and 0 where ``f == y``. Used only by that loss.

    huber_delta : float, default=1.0
        The threshold of ``loss='huber'`` on the residual, in the units of
        the targets, greater than 0: the loss is ``r^2 / 2`` where
        ``|r| <= huber_delta`` and ``huber_delta * (|r| - huber_delta / 2)``
        beyond (torch's ``HuberLoss(delta=huber_delta)``), its gradient the
        residual clipped to ``[-huber_delta, huber_delta]``. Used only by
        that loss.

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    BackpropClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The scikit-learn MLP regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from skbp import BackpropRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = X[:, 0] ** 2 + X[:, 1]
    >>> reg = BackpropRegressor(hidden_layer_sizes=(20,), solver="lbfgs",
    ...                         max_iter=1000, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **_BaseBackprop._parameter_constraints,
        "loss": [
            StrOptions(
                {
                    "squared_error",
                    "poisson",
                    "log_loss",
                    "absolute_error",
                    "huber",
                    "quantile",
                }
            )
        ],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        scoring=None,
        quantile=0.5,
        huber_delta=1.0,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.scoring = scoring
        self.quantile = quantile
        self.huber_delta = huber_delta

    _score_function = staticmethod(r2_score)

    @available_if(_BaseBackprop._partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    @quiet_floats
    def partial_fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Update the model with one epoch over the given data.

        Only available for ``solver='sgd'`` and ``'adam'``: with
        ``solver='lbfgs'`` the estimator has no ``partial_fit`` attribute
        (``hasattr(estimator, "partial_fit")`` is False), as in scikit-learn's
        MLP estimators.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A held-out set to monitor the stream: early stopping for
            ``partial_fit``, which scikit-learn's MLP refuses. After the
            update the set is scored (appended to ``validation_scores_`` and
            ``validation_loss_curve_``) and the best weights are kept. Once
            the score has not improved by ``tol`` for ``n_iter_no_change``
            consecutive calls, the best weights are restored and
            ``early_stopped_`` becomes True: the loop should stop there.
            Needs ``y_val``.

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), \
                default=None
            Targets of the held-out set.

        sample_weight_val : array-like of shape (n_val,), default=None
            Sample weights of the held-out set.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            As ``fit`` does for the data, the targets, the sample weights and
            divergence ("Solver produced non-finite parameter weights...");
            also if ``early_stopping=True``.
        """
        # As in the classifier: validate on every call, not only the first.
        self._validate_params_if_changed()
        validation_set = self._given_validation_set(
            X_val, y_val, sample_weight_val, stream=True
        )
        with unchanged_on_error(self):
            self._fit(
                X, y, sample_weight, incremental=True, validation_set=validation_set
            )
        return self

    def _y_validation_options(self):
        return {"y_numeric": True}

    def _plain_targets(self, y, n_samples, dtype):
        """Return numeric, finite 1-d or 2-d ``y`` encoded, or None."""
        if (
            type(y) is not np.ndarray
            or y.dtype.kind not in "iuf"
            or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 1))
            or y.shape[0] != n_samples
            or not is_finite(y)
        ):
            return None
        return self._encode_targets(y, False, True, dtype)

    def _output_activation(self, n_outputs):
        return {"poisson": "exp", "log_loss": "logistic"}.get(self.loss, "identity")

    def _loss_parameters(self):
        # Only the chosen loss's parameter: a model of any other loss keeps
        # the network (and the pickled record) it had before these existed.
        if self.loss == "quantile":
            return {"quantile": self.quantile}
        if self.loss == "huber":
            return {"huber_delta": self.huber_delta}
        return {}

    def _encode_targets(self, y, first_pass, incremental, dtype):
        """Check that ``y`` suits ``loss``, and encode it as a float matrix.

        The hook every fit encodes its targets with.  :mod:`skbp.dask` calls
        it with the lowest and highest target of each output over all
        blocks, so that the checks (and their messages) are the plain fit's.

        Returns
        -------
        y_encoded : ndarray of shape (n_samples, n_outputs)
        """
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets, but y has values "
                f"down to {np.min(y)}."
            )
        if self.loss == "log_loss" and (np.any(y < 0) or np.any(y > 1)):
            raise ValueError(
                "loss='log_loss' needs targets in [0, 1] (proportions), but y "
                f"ranges over [{np.min(y)}, {np.max(y)}]."
            )
        return encoded_numbers(y, dtype)

    def _target_encoder(self):
        """``encode(y, dtype)``: :meth:`_encode_targets`'s encoding of the rows.

        A hook for rows encoded elsewhere (:mod:`skbp.dask`'s workers), the
        targets already checked; picklable.
        """
        return encoded_numbers

    def _stratify_validation(self):
        return False

    def _decode_validation_targets(self, y_encoded):
        return y_encoded.ravel() if y_encoded.shape[1] == 1 else y_encoded

    def _predict_from_raw(self, raw):
        # The exp link overflows for raw outputs past ~709; as the largest
        # float the prediction stays finite.
        ops = primitives_for(raw)
        prediction = finite_raw(self._output(raw), ops)
        if prediction.shape[1] > 1:
            return prediction
        return ops.reshape(prediction, (prediction.shape[0],))

    @quiet_floats
    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        ValueError
            If ``X`` has non-finite values or not the features seen in ``fit``.
        """
        return self._predict_from_raw(self._raw_output(X, "predict"))

    @quiet_floats
    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination R^2 of the prediction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True values.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, checked as ``fit`` checks them.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` against ``y``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        ValueError
            If ``X`` has non-finite values or not the features seen in ``fit``,
            ``y`` has another number of samples, or ``sample_weight`` is
            negative, non-finite, all zero or of the wrong shape.
        """
        return super().score(X, y, score_weights(sample_weight, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags


BackpropRegressor.__doc__ = BackpropRegressor.__doc__ % {
    "parameters": SHARED_PARAMETERS_DOC.strip(),
    "attributes": SHARED_ATTRIBUTES_DOC.strip(),
}
