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

The fit is the plain estimator's own, its steps and checks included; only
the steps that read the rows are overridden here (the validation and the
encoding of the blocks, the objective, the divergence check's pass over the
rows), through the hooks that :data:`skbp._base.FIT_HOOKS` names.

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
import math
import numbers

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from . import _classifier, _regressor
from ._base import _BaseBackprop
from ._classifier import per_sample_class_weights
from ._guards import check_not_diverged, quiet_floats
from ._network import add_penalty, loss_and_grad, predict_raw_from_views
from ._primitives import NUMPY
from ._validation import all_finite, checked_sample_weight

__all__ = ["BackpropClassifier", "BackpropRegressor"]


# ------------------------------------------------------- on the workers


def _inspect_block(X, y, sample_weight, *, dtype, classifier):
    """Validate one block where it lives; return what the client must know.

    The plain fit's checks, on the rows of this block: ``X`` and ``y``
    (a one-column ``y`` taken as 1-d), and the sample weights with
    :func:`~skbp._validation.checked_sample_weight` (a block may weigh zero).

    Returns
    -------
    summary : dict
        Rows, largest ``|X|``, and the labels of the block with their counts
        (classifier) or the lowest and highest target of each output
        (regressor).
    """
    X = check_array(X, dtype=dtype, input_name="X")
    y = _as_targets(check_array(y, ensure_2d=False, dtype=None, input_name="y"))
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"A block of X has {X.shape[0]} rows but y has {y.shape[0]}.")
    summary = {"n_rows": X.shape[0], "largest_input": _largest(X)}
    summary.update(_labels_of(y) if classifier else _range_of(y))
    checked_sample_weight(sample_weight, X, dtype, allow_all_zero=True)
    return summary


def _as_targets(y):
    """``y`` with a single column as 1-d, as the plain fit takes it."""
    y = np.asarray(y)
    return y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y


def _labels_of(y):
    labels, counts = np.unique(y, return_counts=True)
    n_columns = y.shape[1] if y.ndim == 2 else None
    return {"labels": labels, "counts": counts, "n_columns": n_columns}


def _range_of(y):
    y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
    return {"y_range": np.stack([np.min(y, axis=0), np.max(y, axis=0)])}


def _largest(X):
    return float(np.abs(X).max()) if X.size else 0.0


def _prepare_block(X, y, sample_weight, *, dtype, encode, class_weights):
    """The block as the core trains on it: float ``X``, encoded ``y``, weights.

    The same conversions as the plain estimator's ``fit``, applied to the
    rows of this block only: ``encode`` is the estimator's target encoder.
    """
    X = np.ascontiguousarray(X, dtype=dtype)
    y_encoded = encode(_as_targets(y), dtype)
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


def _is_dask_input(*values):
    """Whether any of the fit's arguments is a Dask collection (a cluster fit)."""
    return any(map(_is_dask_collection, values))


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


def _aligned_weights(sample_weight, row_chunks):
    """The sample weights in the row chunks, or None; a number made block by block."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real):
        # made on the workers, not on the client
        return da.full(sum(row_chunks), float(sample_weight), chunks=(row_chunks,))
    return _aligned(sample_weight, row_chunks, "sample_weight")


def _client():
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError(
            "Fitting on Dask collections needs a running dask.distributed Client "
            "(for example `Client(LocalCluster())`, or one connected to your "
            "cluster); none was found."
        ) from None


def _check_cluster_settings(solver, fit_params):
    """Refuse what a fit on Dask collections does not do."""
    if solver != "lbfgs":
        raise ValueError(_STOCHASTIC_MESSAGE % solver)
    if fit_params:
        raise ValueError(
            f"{sorted(fit_params)} are not supported with Dask input; they "
            "are for the stochastic solvers' early stopping."
        )


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

    Parameters
    ----------
    data : _ClusterData
        The encoded blocks and their total weight.
    network : Network
        The architecture.
    alpha : float
        L2 penalty.
    """

    def __init__(self, data, network, alpha):
        self.client = data.client
        self.blocks = data.blocks
        self.weight_total = data.weight_total
        self.network = network
        self.alpha = alpha
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
    """The training rows, aligned in row blocks and held by the workers.

    The training data of a cluster fit: the plain fit's steps read from it
    what they read from a :class:`~skbp._training.TrainingData`
    (``n_samples``, ``n_features``, ``n_outputs``, ``dtype``, ``ops``).
    Its futures are dropped with it, not cancelled: a block of a collection
    the user persisted has the persisted chunk's key.
    """

    ops = NUMPY  # the parameters live on the client, in NumPy

    def __init__(self, client, X, y, sample_weight):
        self.feature_names = None if isinstance(X, da.Array) else _column_names(X)
        X = _as_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got {X.ndim} dimension(s).")
        X = X.rechunk({1: -1})  # whole rows in each block
        row_chunks = X.chunks[0]
        self.client = client
        self.n_samples, self.n_features = X.shape
        # As the plain fit: float32 stays, anything else becomes float64.
        self.dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        y = _aligned(y, row_chunks, "y")
        sample_weight = _aligned_weights(sample_weight, row_chunks)
        self.raw_blocks = [self._futures(c, X) for c in (X, y, sample_weight)]
        self.blocks = self.n_outputs = self.weight_total = self.largest_input = None

    def _futures(self, collection, X):
        if collection is None:
            return [None] * X.numblocks[0]
        return self.client.compute(collection.to_delayed().ravel().tolist())

    def _map(self, function, *iterables, **kwargs):
        return self.client.map(function, *iterables, pure=False, **kwargs)

    def inspect(self, *, classifier):
        """Validate every block on its worker; return their summaries."""
        summaries = self.client.gather(
            self._map(
                _inspect_block,
                *self.raw_blocks,
                dtype=self.dtype,
                classifier=classifier,
            )
        )
        self.largest_input = max((s["largest_input"] for s in summaries), default=0.0)
        return summaries

    def encode(self, encode, class_weights, n_outputs):
        """Encode every block where it lives, as the plain fit encodes all rows.

        Parameters
        ----------
        encode : callable
            ``encode(y, dtype)``, the estimator's target encoder.
        class_weights : ndarray of shape (n_classes,) or None
            The weight of each class.
        n_outputs : int
            Columns of the encoded targets.
        """
        self.blocks = self._map(
            _prepare_block,
            *self.raw_blocks,
            dtype=self.dtype,
            encode=encode,
            class_weights=class_weights,
        )
        self.raw_blocks = None  # the encoded blocks are all the fit reads now
        self.n_outputs = n_outputs
        weights = self.client.gather(self._map(_weight_of, self.blocks))
        self.weight_total = math.fsum(weights)
        if self.weight_total <= 0:
            raise ValueError(
                "Every sample weighs zero (sample_weight times class_weight): at "
                "least one sample must weigh more than zero."
            )

    def outputs_finite(self, network, theta):
        """Whether the network's outputs on every row are finite (on the workers)."""
        finite = self._map(_outputs_finite, self.blocks, theta=theta, network=network)
        return all(self.client.gather(finite))


def _column_names(X):
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    return names if all(isinstance(name, str) for name in names) else None


class _ClusterFitMixin:
    """The plain estimator's fit, its row-reading steps run on a Dask cluster.

    For Dask input, :meth:`fit` is the plain ``fit`` (its ``_fit_context``,
    floating-point guard and failure guard included) with four steps
    overridden: :meth:`_training_data`, :meth:`_lbfgs_objective`,
    :meth:`_check_not_diverged` and :meth:`_callback_tasks`.  For anything
    else each of them is the plain step.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    @quiet_floats
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
        if _is_dask_input(X, y, sample_weight):
            _check_cluster_settings(self.solver, fit_params)
        return super().fit(X, y, sample_weight, **fit_params)

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

    # ------------------------------------------- the steps of the plain fit

    def _training_data(self, X, y, sample_weight, plan):
        """The blocks, validated and encoded where they live; else the plain step.

        Each block is checked on its worker and summarised; the client takes
        the classes, the target checks and the class weights from the
        summaries through the estimator's own hooks, then each block is
        encoded on its worker.  Nothing is drawn or allocated before.
        """
        if not _is_dask_input(X, y, sample_weight):
            return super()._training_data(X, y, sample_weight, plan)
        data = _ClusterData(_client(), X, y, sample_weight)
        summaries = data.inspect(classifier=self._is_cluster_classifier)
        self._set_input_features(data)
        summary_y, class_counts = self._summary_targets(summaries)
        n_outputs = self._encode_targets(
            summary_y, plan.first_pass, False, data.dtype
        ).shape[1]
        class_weights = self._per_class_weights(class_counts, incremental=False)
        data.encode(self._target_encoder(), class_weights, n_outputs)
        return data

    def _set_input_features(self, data):
        """Set ``n_features_in_`` and ``feature_names_in_``, as ``validate_data``."""
        self.n_features_in_ = data.n_features
        if data.feature_names is not None:
            self.feature_names_in_ = data.feature_names
        elif "feature_names_in_" in self.__dict__:
            del self.feature_names_in_

    def _lbfgs_objective(self, data, network, theta):
        """The objective summed over the blocks on the workers; else the plain one."""
        if not isinstance(data, _ClusterData):
            return super()._lbfgs_objective(data, network, theta)
        return _ClusterObjective(data, network, self.alpha)

    def _check_not_diverged(self, data, network, theta, loss):
        """The plain divergence check, its pass over the rows on the workers."""
        if not isinstance(data, _ClusterData):
            return super()._check_not_diverged(data, network, theta, loss)
        # The overflow bound reads only the rows' largest magnitude.
        bound_input = np.array([data.largest_input])
        check_not_diverged(
            network, theta, bound_input, loss, outputs_finite=data.outputs_finite
        )

    def _callback_tasks(self, X, y, incremental):
        """None for Dask input, which scikit-learn's callbacks are not given."""
        if _is_dask_input(X, y):
            return None
        return super()._callback_tasks(X, y, incremental)

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

    def _summary_targets(self, summaries):
        """Labels that stand for ``y`` in the plain checks, and the class counts.

        Every label of the blocks once (a class may be missing from some
        blocks), or for a label indicator matrix the identity matrix of its
        columns; and how often each label occurs over all blocks.
        """
        labels = np.concatenate([s["labels"] for s in summaries])
        classes, inverse = np.unique(labels, return_inverse=True)
        counts = np.bincount(
            inverse, weights=np.concatenate([s["counts"] for s in summaries])
        )
        return _labels_standing_for_y(
            classes, {s["n_columns"] for s in summaries}
        ), counts


def _labels_standing_for_y(labels, n_columns):
    """A small ``y`` with the classes and the kind of targets of all of ``y``."""
    if n_columns == {None}:
        return labels
    if len(n_columns) != 1 or not set(labels.tolist()) <= {0, 1}:
        raise ValueError(
            "A 2-d y must be a label indicator matrix (multilabel targets: "
            f"0 and 1, the same columns in every block); got values {labels} "
            f"and column counts {sorted(c or 1 for c in n_columns)}."
        )
    return np.eye(n_columns.pop(), dtype=int)


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

    def _summary_targets(self, summaries):
        """The lowest and highest target of each output over all blocks.

        Two rows that stand for ``y`` in the plain target checks (their
        messages name the range of all of ``y``); no class counts.
        """
        ranges = np.stack([s["y_range"] for s in summaries])
        return np.stack([ranges[:, 0].min(axis=0), ranges[:, 1].max(axis=0)]), None
