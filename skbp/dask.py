"""Data-parallel training on a Dask cluster, for data that outgrow one machine.

:class:`BackpropClassifier` and :class:`BackpropRegressor` here take the
parameters of skbp's plain estimators (and are subclasses of them).  Given a
``dask.array`` or a dask DataFrame, ``fit`` trains with ``solver='lbfgs'``
where the data lives, as Spark MLlib's multilayer perceptron does: per
evaluation of the objective the parameters are broadcast to the workers once,
each block of rows returns its share of the loss and of the gradient
(computed by the core's :func:`~skbp._network.loss_and_grad`), the shares are
summed in a tree on the workers, the L2 term is added once, and scipy's
L-BFGS-B takes its step on the client.  The training data never comes to the
client; only parameters, gradients and scalars cross the network.  The same
initial weights, the same iterations and the same attributes as the
single-machine fit follow, equal to round-off.

NumPy arrays, pandas objects and lists are one block: they are fitted in this
process by the plain estimator's ``fit`` (no cluster needed).  The
stochastic solvers ('sgd', 'adam') would visit the blocks one after another,
which ``dask_ml.wrappers.Incremental`` already does with ``partial_fit``:
with Dask input they are refused with a message that says so.

Install with ``pip install "skbp[dask]"``; a ``dask.distributed.Client`` must
be running (the default client is used).
"""

try:
    import dask
    import dask.array as da
    import distributed
except ImportError as error:  # pragma: no cover - exercised without Dask
    raise ImportError(
        "skbp.dask needs Dask with its distributed scheduler. Install it with:\n"
        '    pip install "skbp[dask]"    (or: pip install "dask[array,distributed]")'
    ) from error

import copy
import functools
import math
import numbers

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

from . import _classifier, _regressor
from ._base import _BaseBackprop
from ._classifier import per_sample_class_weights
from ._guards import (
    DIVERGED_MESSAGE,
    quiet_floats,
    raw_output_may_overflow,
    unchanged_on_error,
)
from ._network import add_penalty, loss_and_grad, predict_raw_from_views
from ._validation import all_finite, check_parameter_memory, hidden_layer_sizes_tuple

__all__ = ["BackpropClassifier", "BackpropRegressor"]


# ------------------------------------------------------- on the workers


def _inspect_block(X, y, sample_weight, *, dtype, classifier):
    """Validate one block where it lives; return what the client must know.

    Returns
    -------
    summary : dict
        Rows, largest ``|X|``, the labels of the block (classifier) or the
        range of its targets (regressor), and its weight (``None`` if none).
    """
    X = check_array(X, dtype=dtype, input_name="X")
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"A block of X has {X.shape[0]} rows but y has {y.shape[0]}.")
    summary = {"n_rows": X.shape[0], "largest_input": _largest(X)}
    if classifier:
        summary["labels"], summary["counts"] = np.unique(y, return_counts=True)
        summary["n_columns"] = None if y.ndim == 1 else y.shape[1]
    else:
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        summary["y_range"] = (float(np.min(y)), float(np.max(y)))
        summary["n_outputs"] = 1 if y.ndim == 1 else y.shape[1]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError(
                "sample_weight must be finite and non-negative; a block has "
                f"values from {sample_weight.min()} to {sample_weight.max()}."
            )
    return summary


def _largest(X):
    return float(np.abs(X).max()) if X.size else 0.0


def _prepare_block(X, y, sample_weight, *, dtype, encode, class_weights):
    """The block as the core trains on it: float ``X``, encoded ``y``, weights.

    The same conversions as the plain estimator's ``fit``, applied to the
    rows of this block only.
    """
    X = np.ascontiguousarray(X, dtype=dtype)
    y_encoded = encode(np.asarray(y), dtype)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
    if class_weights is not None:
        sample_weight = per_sample_class_weights(
            y_encoded, class_weights, sample_weight, dtype
        )
    return X, y_encoded, sample_weight


def _weight_of(block):
    X, _, sample_weight = block
    return float(X.shape[0]) if sample_weight is None else float(sample_weight.sum())


def _block_share(block, theta, *, network, weight_total):
    """This block's share of the objective (without the penalty) and its gradient."""
    X, y, sample_weight = block
    if sample_weight is not None and not sample_weight.any():
        return 0.0, np.zeros_like(theta)  # it carries no gradient (0 / 0)
    with np.errstate(all="ignore"):
        loss, grad = loss_and_grad(
            theta,
            X,
            y,
            sample_weight,
            network=network,
            alpha=0.0,
            weight_total=weight_total,
        )
    return loss, grad


def _add_shares(*shares):
    """The sum of some blocks' ``(loss, grad)`` shares, added in the order given."""
    loss, grad = shares[0][0], shares[0][1].copy()
    for share_loss, share_grad in shares[1:]:
        loss += share_loss
        grad += share_grad
    return loss, grad


def _outputs_finite(block, theta, *, network):
    coefs, intercepts = network.views(theta)
    with np.errstate(all="ignore"):
        raw = predict_raw_from_views(network.hidden, coefs, intercepts, block[0])
    return all_finite(raw)


def _apply_method(X, estimator, method, kwargs):
    return getattr(estimator, method)(np.ascontiguousarray(X), **kwargs)


# ------------------------------------------------------- on the client


def _is_dask_collection(value):
    return value is not None and dask.is_dask_collection(value)


def _as_dask_array(value, name):
    """A dask array from a dask array, DataFrame or Series."""
    if isinstance(value, da.Array):
        return value
    to_array = getattr(value, "to_dask_array", None)
    if to_array is None:
        raise ValueError(
            f"{name} must be a dask array or a dask DataFrame/Series, got "
            f"{type(value).__name__}."
        )
    return to_array(lengths=True)


def _aligned(values, row_chunks, name):
    """``values`` (dask or in memory) as a dask array in the given row chunks."""
    if not _is_dask_collection(values):
        values = np.asarray(values)
        return da.from_array(values, chunks=(row_chunks, *values.shape[1:]))
    values = _as_dask_array(values, name)
    if values.shape[0] != sum(row_chunks):
        raise ValueError(
            f"{name} has {values.shape[0]} rows but X has {sum(row_chunks)}."
        )
    return values.rechunk(
        {0: row_chunks, **{axis: -1 for axis in range(1, values.ndim)}}
    )


def _client():
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError(
            "Fitting on Dask collections needs a running dask.distributed Client "
            "(for example `Client(LocalCluster())`, or one connected to your "
            "cluster); none was found."
        ) from None


# Shares summed by one task: each level of the tree is a round trip to the
# scheduler (about 20 ms on a LocalCluster), and a gradient is small.
_FAN_IN = 16


def _tree_sum(client, futures):
    """Sum the blocks' shares on the workers, in groups of ``_FAN_IN``.

    The order of the additions depends on the blocks only, not on which
    worker holds them, so a fit is reproducible across cluster sizes.
    """
    while len(futures) > 1:
        futures = [
            client.submit(_add_shares, *futures[start : start + _FAN_IN], pure=False)
            for start in range(0, len(futures), _FAN_IN)
        ]
    return futures[0]


class _ClusterObjective:
    """The training objective summed over blocks held by the workers.

    Called with the parameters, it returns the regularised loss and gradient,
    as :func:`~skbp._lbfgs.local_objective` does over rows in memory.
    """

    def __init__(self, client, blocks, network, alpha, weight_total):
        self.client = client
        self.blocks = blocks
        self.network = network
        self.alpha = alpha
        self.weight_total = weight_total
        self.n_evaluations = 0

    def __call__(self, theta):
        client = self.client
        # One broadcast per evaluation: every block's task reads this copy.
        [theta_future] = client.scatter([theta.copy()], broadcast=True, hash=False)
        shares = client.map(
            _block_share,
            self.blocks,
            theta=theta_future,
            network=self.network,
            weight_total=self.weight_total,
            pure=False,
        )
        total = _tree_sum(client, shares)
        loss, grad = total.result()
        # Released on the workers once no reference is left (cancelling them
        # would also cancel the finished sums that depend on them).
        del theta_future, shares, total
        self.n_evaluations += 1
        return add_penalty(
            loss,
            grad,
            theta,
            network=self.network,
            alpha=self.alpha,
            weight_total=self.weight_total,
        )


class _ClusterData:
    """The training collections, aligned in row blocks and held as futures."""

    def __init__(self, client, X, y, sample_weight):
        if not isinstance(X, da.Array):
            self.feature_names = _column_names(X)
        else:
            self.feature_names = None
        X = _as_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got {X.ndim} dimension(s).")
        self.X = X.rechunk({1: -1})  # whole rows in each block
        row_chunks = self.X.chunks[0]
        self.y = _aligned(y, row_chunks, "y")
        self.sample_weight = None
        if sample_weight is not None:
            if isinstance(sample_weight, numbers.Real):
                # made block by block on the workers, not on the client
                sample_weight = da.full(
                    self.X.shape[0], float(sample_weight), chunks=(row_chunks,)
                )
            self.sample_weight = _aligned(sample_weight, row_chunks, "sample_weight")
        self.client = client
        self.futures = []

    @property
    def n_samples(self):
        return self.X.shape[0]

    def _block_futures(self, collection):
        if collection is None:
            return [None] * self.X.numblocks[0]
        futures = self.client.compute(collection.to_delayed().ravel().tolist())
        self.futures += futures
        return futures

    def raw_blocks(self):
        """Futures of each block's ``(X, y, sample_weight)``, as given."""
        return [self._block_futures(c) for c in (self.X, self.y, self.sample_weight)]

    def map(self, function, *iterables, **kwargs):
        futures = self.client.map(function, *iterables, pure=False, **kwargs)
        self.futures += futures
        return futures

    def release(self):
        """Drop this fit's futures; the workers free what nothing else holds.

        Not ``client.cancel``: a block of a collection the user persisted has
        the persisted chunk's key, and cancelling it would drop the user's data.
        """
        self.futures = []


def _column_names(X):
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    return names if all(isinstance(name, str) for name in names) else None


class _ClusterFitMixin:
    """Train the plain estimator's network data-parallel on a Dask cluster."""

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the network; data-parallel for Dask collections.

        Parameters
        ----------
        X : {dask array, dask DataFrame, array-like, sparse matrix} of shape \
                (n_samples, n_features)
            Training data. A Dask collection is trained on where its blocks
            live, with ``solver='lbfgs'``; anything else is one block, fitted
            in this process as the plain estimator fits it.

        y : {dask array, dask Series, array-like} of shape (n_samples,) or \
                (n_samples, n_outputs)
            Targets, in the row blocks of ``X`` or in memory.

        sample_weight : {dask array, array-like, float}, default=None
            Non-negative sample weights.

        **fit_params : dict
            For in-memory input, the plain estimator's other ``fit``
            parameters (``X_val``, ``y_val``, ``sample_weight_val``).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            As the plain ``fit`` does; also for Dask input with a solver other
            than 'lbfgs', with ``fit_params``, or without a running
            ``dask.distributed`` client.
        """
        if not any(map(_is_dask_collection, (X, y, sample_weight))):
            return super().fit(X, y, sample_weight, **fit_params)
        self._validate_params()
        self._check_cluster_settings(fit_params)
        with unchanged_on_error(self):
            self._fit_on_cluster(X, y, sample_weight)
        return self

    @available_if(_BaseBackprop._partial_fit_available)
    def partial_fit(self, X, y, *args, **kwargs):
        """The plain ``partial_fit``, for in-memory batches only.

        Raises
        ------
        ValueError
            For Dask input: stream its blocks with
            ``dask_ml.wrappers.Incremental``, or fit it with ``solver='lbfgs'``.
        """
        if _is_dask_collection(X) or _is_dask_collection(y):
            raise ValueError(_STOCHASTIC_MESSAGE % self.solver)
        return super().partial_fit(X, y, *args, **kwargs)

    def _check_cluster_settings(self, fit_params):
        if self.solver != "lbfgs":
            raise ValueError(_STOCHASTIC_MESSAGE % self.solver)
        self._dropout_rates(len(hidden_layer_sizes_tuple(self.hidden_layer_sizes)))
        if fit_params:
            raise ValueError(
                f"{sorted(fit_params)} are not supported with Dask input; they "
                "are for the stochastic solvers' early stopping."
            )

    def _fit_on_cluster(self, X, y, sample_weight):
        client = _client()
        data = _ClusterData(client, X, y, sample_weight)
        try:
            self._train_on_cluster(data)
        finally:
            data.release()

    def _train_on_cluster(self, data):
        """Validate every block, then train; nothing changes before the checks."""
        hidden_sizes = hidden_layer_sizes_tuple(self.hidden_layer_sizes)
        first_pass = not self.warm_start or not hasattr(self, "coefs_")
        dtype = np.float32 if data.X.dtype == np.float32 else np.float64
        raw_X, raw_y, raw_sw = data.raw_blocks()
        summaries = data.client.gather(
            data.map(
                _inspect_block,
                raw_X,
                raw_y,
                raw_sw,
                dtype=dtype,
                classifier=self._is_cluster_classifier,
            )
        )
        n_features = data.X.shape[1]
        targets = self._cluster_targets(summaries, first_pass)
        blocks = data.map(
            _prepare_block,
            raw_X,
            raw_y,
            raw_sw,
            dtype=dtype,
            encode=targets.encode,
            class_weights=targets.class_weights,
        )
        weight_total = math.fsum(data.client.gather(data.map(_weight_of, blocks)))
        if weight_total <= 0:
            raise ValueError(
                "Every sample weighs zero (sample_weight times class_weight): at "
                "least one sample must weigh more than zero."
            )
        network = self._build_network(n_features, hidden_sizes, targets.n_outputs)
        check_parameter_memory(network, self.hidden_layer_sizes, dtype)
        self._set_cluster_parameters(network, dtype, first_pass, n_features)
        self.n_features_in_ = n_features
        self._set_feature_names(data.feature_names)
        objective = _ClusterObjective(
            data.client, blocks, network, self.alpha, weight_total
        )
        self._record_lbfgs(*self._minimise(objective, tasks=None))
        largest_input = max((s["largest_input"] for s in summaries), default=0.0)
        self._check_cluster_fit(data, blocks, largest_input)
        self._publish_parameters()

    def _set_cluster_parameters(self, network, dtype, first_pass, n_features):
        if first_pass:
            random_state = check_random_state(self.random_state)
            self._theta = network.init_parameters(random_state, dtype)
        else:
            self._check_same_architecture(network)
            self._theta = self._packed_parameters(network, np.dtype(dtype))
        self._network = network
        self._progress = None

    def _set_feature_names(self, names):
        if names is not None:
            self.feature_names_in_ = names
        elif "feature_names_in_" in self.__dict__:
            del self.feature_names_in_

    def _check_cluster_fit(self, data, blocks, largest_input):
        """The plain fit's divergence check, its pass over the rows on the workers."""
        if not (math.isfinite(self.loss_) and all_finite(self._theta)):
            raise ValueError(DIVERGED_MESSAGE)
        bound_input = np.array([largest_input])
        if not raw_output_may_overflow(self._network, self._theta, bound_input):
            return
        finite = data.client.gather(
            data.map(_outputs_finite, blocks, theta=self._theta, network=self._network)
        )
        if not all(finite):
            raise ValueError(DIVERGED_MESSAGE)

    # ------------------------------------------------------ prediction

    def _on_blocks(self, method, X, **kwargs):
        """``method`` of the plain estimator over each block of ``X``."""
        X = _as_dask_array(X, "X").rechunk({1: -1})
        local = self.to_local()
        sample = getattr(local, method)(np.zeros((1, X.shape[1]), X.dtype), **kwargs)
        if sample.ndim == 1:
            return X.map_blocks(
                _apply_method, local, method, kwargs, dtype=sample.dtype, drop_axis=1
            )
        return X.map_blocks(
            _apply_method,
            local,
            method,
            kwargs,
            dtype=sample.dtype,
            chunks=(X.chunks[0], (sample.shape[1],)),
        )

    def _on_blocks_or_here(self, method, X, **kwargs):
        """``method`` over Dask blocks, or the plain estimator's in this process."""
        if _is_dask_collection(X):
            return self._on_blocks(method, X, **kwargs)
        return getattr(self._local_class, method)(self, X, **kwargs)

    @quiet_floats
    def predict(self, X):
        """Predict; a dask array for Dask input, computed block by block.

        Parameters
        ----------
        X : {dask array, dask DataFrame, array-like, sparse matrix} of shape \
                (n_samples, n_features)
            Input data.

        Returns
        -------
        y : dask array or ndarray
            As the plain estimator's ``predict``, in ``X``'s row blocks.
        """
        return self._on_blocks_or_here("predict", X)

    def hidden_activations(self, X, layer=-1):
        """The plain ``hidden_activations``; a dask array for Dask input.

        Parameters
        ----------
        X : {dask array, dask DataFrame, array-like, sparse matrix} of shape \
                (n_samples, n_features)
            Input data.

        layer : int, default=-1
            Which hidden layer, as in the plain estimator.

        Returns
        -------
        activations : dask array or ndarray of shape (n_samples, n_units)
        """
        return self._on_blocks_or_here("hidden_activations", X, layer=layer)

    def to_local(self):
        """The fitted model as skbp's plain estimator, for serving without Dask.

        Returns
        -------
        estimator : skbp.BackpropClassifier or skbp.BackpropRegressor
            A copy with the same parameters and fitted state.
        """
        local = self._local_class(**self.get_params())
        local.__setstate__(copy.deepcopy(self.__getstate__()))
        return local


_STOCHASTIC_MESSAGE = (
    "solver=%r does not train on Dask collections here: it would visit the "
    "blocks one after another. Use solver='lbfgs', which trains data-parallel "
    "on the workers, or stream the blocks through partial_fit with "
    "dask_ml.wrappers.Incremental(skbp.BackpropClassifier(...))."
)


class _Targets:
    """What the client decides about the targets from the blocks' summaries."""

    def __init__(self, n_outputs, encode, class_weights=None):
        self.n_outputs = n_outputs
        self.encode = encode
        self.class_weights = class_weights


def _encode_labels(y, dtype, *, binarizer):
    # As the plain classifier: boolean class indicators.
    return np.ascontiguousarray(binarizer.transform(y), dtype=bool)


def _encode_numbers(y, dtype):
    y = y.reshape(-1, 1) if y.ndim == 1 else y
    return np.ascontiguousarray(y, dtype=dtype)


class BackpropClassifier(_ClusterFitMixin, _classifier.BackpropClassifier):
    __doc__ = _classifier.BackpropClassifier.__doc__.replace(
        "Multi-layer perceptron classifier trained by backpropagation.",
        "Multi-layer perceptron classifier, trained data-parallel on a Dask "
        "cluster.\n\n    Dask collections passed to ``fit`` are trained on "
        "where their blocks live, with ``solver='lbfgs'`` (see "
        ":mod:`skbp.dask`); anything else is fitted in this process.",
        1,
    ).replace(
        "from skbp import BackpropClassifier",
        "from skbp.dask import BackpropClassifier",
    )

    _local_class = _classifier.BackpropClassifier
    _is_cluster_classifier = True

    def predict_proba(self, X):
        """The plain ``predict_proba``; a dask array for Dask input.

        Parameters
        ----------
        X : {dask array, dask DataFrame, array-like, sparse matrix} of shape \
                (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : dask array or ndarray of shape (n_samples, n_classes)
        """
        return self._on_blocks_or_here("predict_proba", X)

    def predict_log_proba(self, X):
        """The plain ``predict_log_proba``; a dask array for Dask input.

        Parameters
        ----------
        X : {dask array, dask DataFrame, array-like, sparse matrix} of shape \
                (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : dask array or ndarray of shape (n_samples, n_classes)
        """
        return self._on_blocks_or_here("predict_log_proba", X)

    def _cluster_targets(self, summaries, first_pass):
        """Classes from every block; the class weights from their counts.

        A class may be missing from some blocks. The label binarizer is set
        here, as the plain ``fit`` sets it before training.
        """
        labels = np.concatenate([s["labels"] for s in summaries])
        classes, inverse = np.unique(labels, return_inverse=True)
        binarizer = _binarizer_for(classes, {s["n_columns"] for s in summaries})
        if not first_pass and not np.array_equal(
            binarizer.classes_, self._host_classes
        ):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` "
                f"has {binarizer.classes_}."
            )
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_
        counts = np.bincount(
            inverse, weights=np.concatenate([s["counts"] for s in summaries])
        )
        n_outputs = binarizer.transform(binarizer.classes_[:1]).shape[1]
        if self._is_multilabel():
            n_outputs = len(binarizer.classes_)
        return _Targets(
            n_outputs,
            functools.partial(_encode_labels, binarizer=binarizer),
            self._class_weights_from_counts(classes, counts),
        )

    def _class_weights_from_counts(self, classes, counts):
        """``compute_class_weight`` from the classes' counts over all blocks."""
        if self.class_weight is None:
            return None
        if self._is_multilabel():
            raise ValueError(
                "class_weight is not supported for multilabel targets; pass "
                "sample_weight instead."
            )
        if self.class_weight == "balanced":
            # scikit-learn's n_samples / (n_classes * np.bincount(y))
            return counts.sum() / (len(classes) * counts.astype(np.float64))
        self._check_class_weight_dict()
        # y only matters to 'balanced': the classes stand in for it here.
        return compute_class_weight(self.class_weight, classes=classes, y=classes)


def _binarizer_for(labels, n_columns):
    """The ``LabelBinarizer`` the plain fit would have fitted on all of y."""
    if n_columns != {None}:
        if len(n_columns) != 1 or not set(labels.tolist()) <= {0, 1}:
            raise ValueError(
                "A 2-d y must be a label indicator matrix (multilabel targets: "
                f"0 and 1, the same columns in every block); got values {labels} "
                f"and column counts {sorted(c or 1 for c in n_columns)}."
            )
        return LabelBinarizer().fit(np.eye(n_columns.pop(), dtype=int))
    check_classification_targets(labels)
    return LabelBinarizer().fit(labels)


class BackpropRegressor(_ClusterFitMixin, _regressor.BackpropRegressor):
    __doc__ = _regressor.BackpropRegressor.__doc__.replace(
        "Multi-layer perceptron regressor trained by backpropagation.",
        "Multi-layer perceptron regressor, trained data-parallel on a Dask "
        "cluster.\n\n    Dask collections passed to ``fit`` are trained on "
        "where their blocks live, with ``solver='lbfgs'`` (see "
        ":mod:`skbp.dask`); anything else is fitted in this process.",
        1,
    ).replace(
        "from skbp import BackpropRegressor", "from skbp.dask import BackpropRegressor"
    )

    _local_class = _regressor.BackpropRegressor
    _is_cluster_classifier = False

    def _cluster_targets(self, summaries, first_pass):
        """The number of outputs, and the loss's domain checked on every block."""
        n_outputs = {s["n_outputs"] for s in summaries}
        if len(n_outputs) != 1:
            raise ValueError(
                f"The blocks of y have different numbers of outputs: {n_outputs}."
            )
        lowest = min(s["y_range"][0] for s in summaries)
        highest = max(s["y_range"][1] for s in summaries)
        if self.loss == "poisson" and lowest < 0:
            raise ValueError(
                "loss='poisson' needs non-negative targets, but y has values "
                f"down to {lowest}."
            )
        if self.loss == "log_loss" and (lowest < 0 or highest > 1):
            raise ValueError(
                "loss='log_loss' needs targets in [0, 1] (proportions), but y "
                f"ranges over [{lowest}, {highest}]."
            )
        return _Targets(n_outputs.pop(), _encode_numbers)
