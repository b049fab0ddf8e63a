"""BackpropClassifier: label encoding, class weights, probabilities."""

import functools
import math
from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._array_api import to_host
from ._base import _BaseBackprop
from ._docstrings import SHARED_ATTRIBUTES_DOC, SHARED_PARAMETERS_DOC
from ._guards import (
    fused_softmax_proba,
    inside_unit_interval,
    quiet_floats,
    unchanged_on_error,
)
from ._losses import LINKS, log_logistic, log_softmax
from ._primitives import primitives_for
from ._validation import comparable_labels, score_weights

# predict_log_proba switches from log space to log(predict_proba) above p = 1/2.
# A Python float: array-API namespaces refuse NumPy scalars (and in float32,
# the comparison selects the same values either way).
_LOG_HALF = float(np.log(0.5))


def class_indices(y_encoded):
    """The class of each row of encoded targets (one column: binary)."""
    if y_encoded.shape[1] == 1:
        return y_encoded[:, 0].astype(np.intp)
    return y_encoded.argmax(axis=1)


def encode_by_lookup(binarizer, y):
    """One-hot encode 1-d labels of ``binarizer.classes_`` straight into booleans.

    What the fitted ``LabelBinarizer`` computes, without its validation
    and without its int64 intermediate.

    Parameters
    ----------
    binarizer : LabelBinarizer
        Fitted on the classes.
    y : ndarray of shape (n_samples,)
        Labels.

    Returns
    -------
    encoded : ndarray of shape (n_samples, n_outputs) of bool, or None
        None for labels it cannot handle this way.
    """
    classes = binarizer.classes_
    if (
        y.ndim != 1
        or binarizer.y_type_.startswith("multilabel")
        or not comparable_labels(y.dtype, classes.dtype)
    ):
        return None
    n_samples = y.shape[0]
    index = np.searchsorted(classes, y)
    np.minimum(index, len(classes) - 1, out=index)
    if not np.array_equal(classes[index], y):
        return None
    if binarizer.y_type_ == "binary":
        return (index == 1)[:, np.newaxis]
    encoded = np.zeros((n_samples, len(classes)), dtype=bool)
    encoded[np.arange(n_samples), index] = 1
    return encoded


def encoded_labels(y, dtype=None, *, binarizer):
    """Labels of known classes as the network's targets: boolean indicators.

    Class indicators are exact as booleans, at an eighth of the memory of
    float64 (scikit-learn's MLP keeps them so too); the core's ufuncs promote
    them where they meet the float outputs.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        Labels of ``binarizer.classes_`` (a label indicator matrix for
        multilabel targets).
    dtype : numpy dtype, default=None
        Unused: indicators are boolean whatever the model's dtype.
    binarizer : LabelBinarizer
        Fitted on the classes.

    Returns
    -------
    y_encoded : ndarray of shape (n_samples, n_outputs) of bool
    """
    encoded = encode_by_lookup(binarizer, y)
    if encoded is None:
        encoded = binarizer.transform(y)
    return np.ascontiguousarray(encoded, dtype=bool)


def per_sample_class_weights(y_encoded, per_class, sample_weight, dtype):
    """Each row's class weight, times its sample weight if there is one.

    Parameters
    ----------
    y_encoded : ndarray of shape (n_samples, n_outputs)
        Targets encoded as the network's outputs (not multilabel).
    per_class : ndarray of shape (n_classes,)
        The weight of each class, in the order of ``classes_``.
    sample_weight : ndarray of shape (n_samples,) or None
        Sample weights.
    dtype : numpy dtype
        Floating dtype of the result.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
    """
    weights = per_class.astype(dtype)[class_indices(y_encoded)]
    if sample_weight is not None:
        weights *= sample_weight
    return weights


class BackpropClassifier(ClassifierMixin, _BaseBackprop):
    """Multi-layer perceptron classifier trained by backpropagation.

    A drop-in superset of :class:`sklearn.neural_network.MLPClassifier`: the
    same parameters, defaults and fitted attributes, plus a choice of output
    loss. Binary, multiclass and multilabel targets; dense or sparse input;
    float32 kept end to end.

    Supports scikit-learn's callback API: callbacks from
    :mod:`sklearn.callback` are attached with ``set_callbacks``. Each call to
    ``fit`` or ``partial_fit`` is reported as a task whose subtasks are the
    epochs ('sgd', 'adam') or the L-BFGS iterations ('lbfgs'); a callback may
    ask training to stop after any subtask.

    Parameters
    ----------
    %(parameters)s

    loss : {'log_loss', 'squared_error'}, default='log_loss'
        Loss of the output layer. ``'log_loss'`` uses softmax units for
        multiclass targets and logistic units otherwise. ``'squared_error'``
        uses logistic units trained on one-hot targets with half the squared
        error, the network of the classic backpropagation derivation; its
        ``predict_proba`` normalises the multiclass outputs to sum to one.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{class_label: weight}``; classes not listed
        weigh 1. ``'balanced'`` weighs each class by ``n_samples /
        (n_classes * np.bincount(y))``, computed from the ``y`` given to
        ``fit``. The class weight of each sample multiplies its
        ``sample_weight``, in every solver. As in
        :class:`~sklearn.linear_model.SGDClassifier`, ``partial_fit`` takes a
        dict but not ``'balanced'``, which needs the class frequencies of the
        whole stream: compute them with
        :func:`~sklearn.utils.class_weight.compute_class_weight` on a large
        enough sample of the targets and pass the result as a dict. Not
        supported for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    %(attributes)s

    See Also
    --------
    BackpropRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The scikit-learn MLP classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbp import BackpropClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(10,), solver="lbfgs",
    ...                          max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    >>> round(clf.score(X, y), 2) >= 0.95
    True
    """

    _parameter_constraints: dict = {
        **_BaseBackprop._parameter_constraints,
        "loss": [StrOptions({"log_loss", "squared_error"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
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
        loss="log_loss",
        class_weight=None,
        dropout=0.0,
        scoring=None,
    ):
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
        self.loss = loss
        self.class_weight = class_weight
        self.dropout = dropout
        self.scoring = scoring

    _score_function = staticmethod(accuracy_score)

    @available_if(_BaseBackprop._partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    @quiet_floats
    def partial_fit(
        self,
        X,
        y,
        sample_weight=None,
        classes=None,
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

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (or a label indicator matrix).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        classes : array-like of shape (n_classes,), default=None
            All classes of the stream. Required on the first call; later
            calls may omit it. ``y`` need not contain every class.

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
            As ``fit`` does for the data, the sample and class weights and
            divergence ("Solver produced non-finite parameter weights...");
            also if ``classes`` is missing on the first call or differs from
            the first call's, ``y`` has labels outside ``classes_``,
            ``class_weight`` is ``'balanced'``, or ``early_stopping=True``.
        """
        # scikit-learn's _fit_context validates partial_fit's parameters only on
        # the first call; set_params between calls must be checked too.
        self._validate_params_if_changed()
        validation_set = self._given_validation_set(
            X_val, y_val, sample_weight_val, stream=True
        )
        with unchanged_on_error(self):
            self._set_partial_fit_classes(y, classes)
            self._fit(
                X, y, sample_weight, incremental=True, validation_set=validation_set
            )
        return self

    def _set_partial_fit_classes(self, y, classes):
        y, classes = to_host(y), to_host(classes)
        if hasattr(self, "classes_"):
            # The classes as they were, sorted, need no np.unique (a sort).
            if (
                classes is not None
                and not np.array_equal(classes, self._host_classes)
                and not np.array_equal(np.unique(classes), self._host_classes)
            ):
                raise ValueError(
                    f"classes={np.unique(classes)!r} is not the same as on the "
                    f"first call to partial_fit, which was {self._host_classes!r}."
                )
            return
        if classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the "
                "full list of classes of the stream, e.g. np.unique(y_all)."
            )
        binarizer = LabelBinarizer()
        if type_of_target(y).startswith("multilabel"):
            binarizer.fit(y)
        else:
            binarizer.fit(np.asarray(classes))
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    def _y_validation_options(self):
        return {}

    def _weighted_by_class(self, y_encoded, sample_weight, dtype, *, incremental):
        """Multiply ``sample_weight`` by the ``class_weight`` of each sample."""
        if self.class_weight is None:
            return sample_weight
        counts = np.bincount(
            class_indices(y_encoded), minlength=len(self._host_classes)
        )
        per_class = self._per_class_weights(counts, incremental=incremental)
        weights = per_sample_class_weights(y_encoded, per_class, sample_weight, dtype)
        if not weights.any():
            raise ValueError(
                "class_weight gives every sample of this call a weight of zero"
                f"{'' if sample_weight is None else ' (times sample_weight)'}: "
                "at least one sample must weigh more than zero."
            )
        return weights

    def _per_class_weights(self, class_counts, *, incremental):
        """The weight of each class of ``classes_``; None without ``class_weight``.

        Every check of ``class_weight`` is here, for rows in memory and for
        :mod:`skbp.dask`'s blocks alike (a hook).

        Parameters
        ----------
        class_counts : ndarray of shape (n_classes,)
            How often each class occurs in this call's targets; read for
            'balanced' only.
        incremental : bool
            Whether the call is ``partial_fit``.

        Returns
        -------
        per_class : ndarray of shape (n_classes,) or None

        Raises
        ------
        ValueError
            For multilabel targets, 'balanced' in ``partial_fit``, or a dict
            with unknown classes or invalid weights.
        """
        if self.class_weight is None:
            return None
        if self._is_multilabel():
            raise ValueError(
                "class_weight is not supported for multilabel targets; pass "
                "sample_weight instead."
            )
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: it "
                "needs the class frequencies of the whole stream. Compute them "
                "with sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y_sample) on a large enough sample of the "
                "targets, and pass the result as a dict to class_weight."
            )
        self._check_class_weight_dict()
        classes = self._host_classes
        if self.class_weight == "balanced":
            # compute_class_weight's n_samples / (n_classes * np.bincount(y)),
            # from the counts: the same floats, without the rows.
            return class_counts.sum() / (len(classes) * class_counts.astype(np.float64))
        # A dict's weights do not depend on y: the classes stand in for it.
        return compute_class_weight(self.class_weight, classes=classes, y=classes)

    def _check_class_weight_dict(self):
        """Refuse a ``class_weight`` dict with unknown classes or bad weights.

        scikit-learn's ``compute_class_weight`` takes negative and NaN weights
        as they are, and words a key that is not a class as classes missing.
        """
        if not isinstance(self.class_weight, dict):
            return
        classes = self._host_classes.tolist()
        unknown = [key for key in self.class_weight if key not in classes]
        if unknown:
            raise ValueError(
                f"class_weight has keys that are not classes: {unknown!r}. The "
                f"classes are {classes!r}."
            )
        for label, weight in self.class_weight.items():
            valid = (
                isinstance(weight, Real)
                and not isinstance(weight, bool)
                and math.isfinite(weight)
                and weight >= 0
            )
            if not valid:
                raise ValueError(
                    f"class_weight must map classes to finite, non-negative "
                    f"numbers, got {weight!r} for class {label!r}."
                )

    def _plain_targets(self, y, n_samples, dtype):
        """Encode a 1-d label array by lookup in ``classes_``, or return None.

        Labels already known are encoded exactly as the fitted
        ``LabelBinarizer`` would; unknown or unusual labels return None and
        take the full validation, which explains what is wrong.
        """
        if type(y) is not np.ndarray or y.ndim != 1 or y.shape[0] != n_samples:
            return None
        return self._encode_by_lookup(y)

    def _encode_by_lookup(self, y):
        """:func:`encode_by_lookup` with the fitted classes; None if it cannot."""
        return encode_by_lookup(self._label_binarizer, y)

    def _output_activation(self, n_outputs):
        if self.loss == "squared_error":
            return "logistic"
        return (
            "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        )

    def _encode_targets(self, y, first_pass, incremental, dtype):
        """Check the labels, set or check the classes, and encode ``y``.

        The hook every fit encodes its targets with (and the validation
        sets theirs).  :mod:`skbp.dask` calls it with a summary of the
        blocks' labels (every label once), so that the classes and their
        checks are those of the plain fit.

        Returns
        -------
        y_encoded : ndarray of shape (n_samples, n_outputs) of bool
        """
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            # A single class is fitted, as scikit-learn's MLP fits it (a CV
            # fold or a stream may see one): the network learns an all-zero
            # target and every prediction is that class.
            binarizer = LabelBinarizer().fit(y)
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        else:
            self._check_known_classes(y, incremental)
        return encoded_labels(y, dtype, binarizer=self._label_binarizer)

    def _target_encoder(self):
        """``encode(y, dtype)``: :meth:`_encode_targets`'s encoding of the rows.

        A hook for rows encoded elsewhere (:mod:`skbp.dask`'s workers), once
        :meth:`_encode_targets` has set the classes; picklable.
        """
        return functools.partial(encoded_labels, binarizer=self._label_binarizer)

    def _check_known_classes(self, y, incremental):
        if self._label_binarizer.y_type_.startswith("multilabel"):
            classes = np.arange(np.shape(y)[1]) if np.ndim(y) == 2 else np.unique(y)
        else:
            classes = np.unique(y)
        if self.warm_start and not incremental:
            if set(classes) != set(self._host_classes):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes "
                    f"as in the previous call to fit. Previously got "
                    f"{self._host_classes}, `y` has {classes}."
                )
        elif len(np.setdiff1d(classes, self._host_classes)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self._host_classes}. 'y' has {classes}."
            )

    def _stratify_validation(self):
        return not self._is_multilabel()

    def _is_multilabel(self):
        return self._label_binarizer.y_type_.startswith("multilabel")

    @property
    def _host_classes(self):
        """``classes_`` as NumPy, wherever the model computes."""
        return self._label_binarizer.classes_

    def _classes_on_device(self, ops):
        """Publish numeric class labels in the input's namespace, on its device.

        String (and other object) labels have no array-API counterpart: they
        stay NumPy, and so do the labels ``predict`` returns.
        """
        classes = self._host_classes
        if classes.dtype.kind in "biuf":
            self.classes_ = ops.from_host(classes)

    def _decode_validation_targets(self, y_encoded):
        return self._label_binarizer.inverse_transform(y_encoded)

    def _unit_probabilities(self, raw, ops):
        """Return the probability carried by each output unit.

        Softmax and logistic units are probabilities already; logistic units
        trained on one-hot targets (squared error, multiclass) are normalised
        to sum to one, in log space so that underflowing units still rank.
        """
        if self._is_squared_error_multiclass():
            return LINKS["softmax"](log_logistic(raw, ops), raw, ops)
        return self._output(raw, ops)

    def _is_squared_error_multiclass(self):
        link = self._network.output.link_name
        return link == "logistic" and self._label_binarizer.y_type_ == "multiclass"

    def _predict_from_raw(self, raw):
        ops = primitives_for(raw)
        proba = self._unit_probabilities(raw, ops)
        if not ops.is_numpy:
            return self._labels_on_device(proba, ops)
        if proba.shape[1] == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def _labels_on_device(self, proba, ops):
        """What ``LabelBinarizer.inverse_transform`` returns, on the device."""
        xp = ops.xp
        if self._is_multilabel():
            return xp.astype(proba > 0.5, xp.int64)
        if proba.shape[1] == 1:  # binary, or the only class seen
            index = xp.astype(proba[:, 0] > 0.5, xp.int64)
            if self._host_classes.shape[0] == 1:
                index = xp.zeros_like(index)
        else:
            index = xp.argmax(proba, axis=1)
        if self.classes_ is self._host_classes:
            # labels without an array-API dtype (strings) come back as NumPy
            return self._host_classes[ops.to_host(index)]
        return xp.take(self.classes_, index)

    @quiet_floats
    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted classes (a label indicator matrix for multilabel).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        ValueError
            If ``X`` has non-finite values or not the features seen in ``fit``.
        """
        return self._predict_from_raw(self._raw_output(X, "predict"))

    @quiet_floats
    def predict_proba(self, X):
        """Return probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``; for
            multilabel targets, the probability of each label. Logistic and
            softmax units never reach 0 or 1, so values that round to 0 or 1
            are returned as the nearest float inside (0, 1): their logarithm
            stays finite, as :meth:`predict_log_proba` is.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        ValueError
            If ``X`` has non-finite values or not the features seen in ``fit``.
        """
        return self._proba_from_raw(self._raw_output(X, "predict_proba"))

    def _proba_from_raw(self, raw):
        """Class probabilities from raw outputs, inside (0, 1); overwrites ``raw``."""
        ops = primitives_for(raw)
        if len(self._host_classes) == 1:
            # The only class seen in training: scikit-learn's MLP returns two
            # columns here, which do not match classes_.
            proba = ops.xp.ones_like(raw)
        elif raw.shape[1] == 1 and not self._is_multilabel():
            proba = ops.concat_columns([ops.expit(-raw), ops.expit(raw)])
        else:
            if self._network.output.link_name == "softmax":
                proba = fused_softmax_proba(raw, ops)  # one compiled pass
                if proba is not None:
                    return proba
            proba = self._unit_probabilities(raw, ops)
        return inside_unit_interval(proba, ops)

    @quiet_floats
    def predict_log_proba(self, X):
        """Return log-probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithm of :meth:`predict_proba`. Below probability 1/2 it is
            computed from the raw outputs in log space, so it stays accurate
            (and finite: floored at the logarithm of the smallest normal
            float, where :meth:`predict_proba` is floored too) where the
            probability underflows; above 1/2 it is the logarithm of
            :meth:`predict_proba` itself, so that both rank the classes alike
            where probabilities round to the same float near 1.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        ValueError
            If ``X`` has non-finite values or not the features seen in ``fit``.
        """
        raw = self._raw_output(X, "predict_log_proba")
        ops = primitives_for(raw)
        log_proba = self._log_space_proba(raw, ops)
        near_one = log_proba > _LOG_HALF
        if not ops.is_numpy:
            log_proba = ops.xp.where(
                near_one, ops.xp.log(self._proba_from_raw(raw)), log_proba
            )
        elif near_one.any():
            proba = self._proba_from_raw(raw)
            log_proba[near_one] = np.log(proba[near_one])
        floor = float(np.log(np.finfo(ops.host_dtype(log_proba.dtype)).tiny))
        return ops.clip(log_proba, floor, np.inf, out=log_proba)

    def _log_space_proba(self, raw, ops):
        """The logarithm of :meth:`_proba_from_raw`, from ``raw`` in log space."""
        if len(self._host_classes) == 1:
            return ops.xp.zeros_like(raw)
        if self._network.output.link_name == "softmax":
            return log_softmax(raw, ops)
        if self._is_multilabel():
            return log_logistic(raw, ops)
        if raw.shape[1] == 1:
            return ops.concat_columns([log_logistic(-raw, ops), log_logistic(raw, ops)])
        # log of _unit_probabilities: softmax over the log-logistic units
        return log_softmax(log_logistic(raw, ops), ops)

    @quiet_floats
    def score(self, X, y, sample_weight=None):
        """Return the mean accuracy on the given test data and labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, checked as ``fit`` checks them.

        Returns
        -------
        score : float
            Mean accuracy (subset accuracy for multilabel targets).

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
        tags.classifier_tags.multi_label = True
        return tags


BackpropClassifier.__doc__ = BackpropClassifier.__doc__ % {
    "parameters": SHARED_PARAMETERS_DOC.strip(),
    "attributes": SHARED_ATTRIBUTES_DOC.strip(),
}
