"""The stochastic training driver: the epoch loop of SGD and Adam.

It drives :func:`skbp._network.loss_and_grad` over one flat parameter
vector, updated in place so that the estimator's ``coefs_`` and
``intercepts_`` views stay live.  The rules (epochs, ``tol`` with
``n_iter_no_change``, early stopping on a validation score, the adaptive
learning rate, warnings) are those of scikit-learn's MLP.  The L-BFGS
driver is in :mod:`skbp._lbfgs`.
"""

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ._interrupt import GracefulInterrupt
from ._network import Workspace, loss_and_grad
from ._per_example import per_example_plan, run_per_example_epoch
from ._primitives import NUMPY, copy_array, primitives_for


@dataclass
class Progress:
    """Bookkeeping of training that persists across ``partial_fit`` calls.

    The estimators publish these fields as their fitted attributes
    (``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ...).
    """

    early_stopping: bool
    n_iter: int = 0
    t: int = 0
    loss: float = None
    loss_curve: list = field(default_factory=list)
    best_loss: float = None
    validation_scores: list = None
    validation_losses: list = None
    best_validation_score: float = None
    no_improvement_count: int = 0
    best_theta: np.ndarray = None
    optimizer_state: object = None
    learning_rate: float = None
    stopped: bool = False
    diverged: bool = False

    def __post_init__(self):
        if self.early_stopping:
            self.validation_scores = []
            self.validation_losses = []
            self.best_validation_score = -np.inf
        else:
            self.best_loss = np.inf

    def use_stopping_rule(self, early_stopping, theta):
        """Switch the bookkeeping to the other stopping rule if it changed.

        A warm-start ``fit`` or a ``partial_fit`` may come after ``set_params(
        early_stopping=...)``: the rule in use starts afresh (best score and
        weights from ``theta``, or best loss), the other one's fields are
        cleared, and the loss curve and the step count carry on (the epoch
        count ``n_iter`` restarts with every call, as in scikit-learn).

        Parameters
        ----------
        early_stopping : bool
            The rule of this call.
        theta : ndarray of shape (n_params,)
            The current parameters.
        """
        if early_stopping == self.early_stopping:
            return
        self.early_stopping = early_stopping
        self.no_improvement_count = 0
        if early_stopping:
            self.validation_scores = []
            self.validation_losses = []
            self.best_validation_score = -np.inf
            self.best_theta = copy_array(theta)
            self.best_loss = None
        else:
            self.validation_scores = None
            self.validation_losses = None
            self.best_validation_score = None
            self.best_theta = None
            self.best_loss = np.inf

    def checkpoint(self):
        """Return a function that puts this progress back as it is now.

        Training only appends to the lists and rebinds ``best_theta``, so the
        lists' lengths and a shallow copy of the fields suffice; the optimizer
        state is guarded (:meth:`skbp._optimizers.OptimizerState.guard`): its
        next step writes aside, so no copy is made. The cost is independent
        of how long ``loss_curve`` has grown and of the number of parameters.

        Returns
        -------
        restore : callable
            Called without arguments, restores the fields.
        """
        fields = dict(self.__dict__)
        lengths = {
            name: len(fields[name])
            for name in ("loss_curve", "validation_scores", "validation_losses")
            if fields[name] is not None
        }
        state = self.optimizer_state
        optimizer_state = None if state is None else state.guard()

        def restore():
            for name, length in lengths.items():
                del fields[name][length:]
            self.__dict__.update(fields)
            self.optimizer_state = optimizer_state

        return restore

    def converted(self, convert):
        """A copy whose arrays (best weights, optimizer state) went through ``convert``.

        Parameters
        ----------
        convert : callable
            Maps an array to its counterpart, e.g. on another device.

        Returns
        -------
        progress : Progress
        """
        best_theta = None if self.best_theta is None else convert(self.best_theta)
        return replace(
            self,
            loss_curve=list(self.loss_curve),
            validation_scores=_copied_list(self.validation_scores),
            validation_losses=_copied_list(self.validation_losses),
            best_theta=best_theta,
            optimizer_state=_copy_state(self.optimizer_state, convert),
        )


def _copied_list(values):
    return None if values is None else list(values)


def _copy_state(state, convert=copy_array):
    """Copy an optimizer state dataclass, its arrays through ``convert``."""
    if state is None:
        return None
    arrays = {name: convert(getattr(state, name)) for name in state.array_fields}
    return replace(state, **arrays)  # without the spare arrays


def _batch_slices(n_samples, batch_size):
    """Yield consecutive slices of ``batch_size`` rows (the last may be short).

    ``sklearn.utils.gen_batches`` without its per-call parameter validation,
    which costs more than a 32-row epoch of training.
    """
    for start in range(0, n_samples, batch_size):
        yield slice(start, min(start + batch_size, n_samples))


def _shuffled(sample_index, random_state):
    """Return ``sample_index`` permuted as ``sklearn.utils.shuffle`` permutes it.

    The same draws from ``random_state`` (``random_state.shuffle`` of
    ``arange(n)``), so the same seed gives scikit-learn's epochs, without the
    input validation of ``shuffle``.
    """
    permutation = np.arange(sample_index.shape[0])
    random_state.shuffle(permutation)
    return sample_index[permutation]


@dataclass(frozen=True)
class StochasticSettings:
    """The settings of a stochastic (sgd / adam) fit.

    Parameters
    ----------
    optimizer : SGD or Adam
        The update rule.
    schedule : Constant
        The learning-rate schedule.
    batch_size : int
        Rows per minibatch, already clipped to the number of samples.
    max_iter : int
        Maximum number of epochs.
    shuffle : bool
        Whether to shuffle the samples each epoch.
    tol : float
        Minimum improvement of the loss (or validation score).
    n_iter_no_change : int or float
        Number of epochs without improvement before stopping.
    alpha : float
        L2 penalty.
    verbose : bool or int
        Whether to print one line per epoch.
    dropout : Dropout or None
        The source of the dropout masks (:mod:`skbp._dropout`), if any.
    incremental : bool
        Run exactly one epoch (``partial_fit``).  With early stopping, the
        best weights are restored only when the stopping rule fires
        (``progress.stopped``), not after every call.
    """

    optimizer: object
    schedule: object
    batch_size: int
    max_iter: int
    shuffle: bool
    tol: float
    n_iter_no_change: float
    alpha: float
    verbose: int = 0
    dropout: object = None
    incremental: bool = False


@dataclass(frozen=True)
class TrainingData:
    """Validated training arrays, targets encoded as network outputs.

    All three live in the namespace and on the device of the parameters.
    ``host_sample_weight`` is a NumPy copy of ``sample_weight`` (the same
    array for NumPy data): off the host, batches of zero weight are found
    from it once per epoch instead of one device sync per batch.

    The estimator's fit steps read only ``n_samples``, ``n_features``,
    ``n_outputs``, ``dtype`` and ``ops`` from it; the training data of rows
    held elsewhere (:mod:`skbp.dask`) gives the same five.

    ``index`` names the training rows among the arrays' rows, so that a part
    of the caller's data (early stopping's training rows) is trained on
    without a copy: training takes positions ``0 .. n_samples - 1``, and
    :meth:`row_numbers` turns an epoch's order of positions into the rows of
    ``X``, ``y`` and the weights that :meth:`rows` takes.
    """

    X: object
    y: object
    sample_weight: object = None
    host_sample_weight: np.ndarray = None
    index: np.ndarray = None

    def __post_init__(self):
        if self.host_sample_weight is None and self.sample_weight is not None:
            host = primitives_for(self.sample_weight).to_host(self.sample_weight)
            object.__setattr__(self, "host_sample_weight", host)

    @property
    def n_samples(self):
        """Number of training rows."""
        return self.X.shape[0] if self.index is None else self.index.shape[0]

    def row_numbers(self, order):
        """The rows of the arrays that an epoch's positions name, on the host.

        Parameters
        ----------
        order : ndarray of int or None
            The epoch's order of positions; None for their own order.

        Returns
        -------
        rows : ndarray of int or None
            None where the positions are the rows, in order (a slice of
            ``X`` is then a batch).
        """
        if self.index is None:
            return order
        return self.index if order is None else self.index[order]

    @property
    def n_features(self):
        """Number of input features."""
        return self.X.shape[1]

    @property
    def n_outputs(self):
        """Number of network outputs (columns of the encoded targets)."""
        return self.y.shape[1]

    @property
    def dtype(self):
        """The parameters' dtype, in the namespace of ``X``."""
        return self.X.dtype

    @property
    def ops(self):
        """The primitives of the namespace and device the parameters live in."""
        return primitives_for(self.X)

    def rows(self, index, buffers=None, ops=NUMPY):
        """Return the batch at ``index`` (a slice or an array of row numbers).

        Parameters
        ----------
        index : slice or array of int
            Rows of the arrays to take (:meth:`row_numbers`); an array of the
            data's namespace and device.
        buffers : tuple of (array, array), default=None
            Preallocated buffers for gathered rows of dense ``X`` and of
            ``y``; used when ``index`` is an array.
        ops : primitives, default=NUMPY
            The array primitives of the data's namespace.

        Returns
        -------
        X, y, sample_weight : array
            The rows (``sample_weight`` is None when the data has none); a
            plain tuple, since it is built once per step.
        """
        sw = self.sample_weight
        if isinstance(index, slice):
            return self.X[index, :], self.y[index, :], None if sw is None else sw[index]
        sw = None if sw is None else ops.take_rows(sw, index)
        X_buffer, y_buffer = (None, None) if buffers is None else buffers
        n_rows = index.shape[0]
        y = ops.take_rows(self.y, index, out=_head(y_buffer, n_rows))
        return ops.take_rows(self.X, index, out=_head(X_buffer, n_rows)), y, sw


def _head(buffer, n_rows):
    """The first ``n_rows`` of ``buffer``, or None without a buffer."""
    return None if buffer is None else buffer[:n_rows, ...]


@dataclass(slots=True)  # built per partial_fit call: slots make it cheaper
class EpochLoop:
    """What the epoch loop works on, passed as one object to each of its functions.

    The first five fields come from the estimator; :func:`fit_stochastic`
    fills in the last three for the call.  One object rather than eight
    loose arguments: every function of the loop reads most of them.

    Parameters
    ----------
    network : Network
        The architecture.
    theta : ndarray of shape (n_params,)
        Flat parameters, updated in place.
    data : TrainingData
        Training rows (the validation rows already held out).
    settings : StochasticSettings
        How to train.
    progress : Progress
        Bookkeeping, updated in place; holds the optimizer's state and the
        current learning rate.
    workspace : Workspace, default=None
        Batch buffers; one given is reused if it fits (see
        :func:`_epoch_buffers`).
    gather_buffers : tuple of (array or None, array), default=None
        Buffers for the gathered rows of shuffled batches.
    interrupt : GracefulInterrupt, default=None
        Each update is one atomic section; checked after every step.
    """

    network: object
    theta: object
    data: TrainingData
    settings: StochasticSettings
    progress: Progress
    workspace: object = None
    gather_buffers: tuple = None
    interrupt: GracefulInterrupt = None


def _weightless_batches(data, order, batch_size):
    """Whether each batch of this epoch weighs nothing, computed on the host.

    Parameters
    ----------
    data : TrainingData
        Training rows; ``None`` is returned if they have no sample weights.
    order : ndarray of int or None
        The epoch's row order (host), ``None`` for the data's own order.
    batch_size : int
        Rows per batch.

    Returns
    -------
    weightless : ndarray of bool of shape (n_batches,) or None
    """
    weights = data.host_sample_weight
    if weights is None:
        return None
    if order is not None:
        weights = weights[order]
    starts = np.arange(0, data.n_samples, batch_size)
    return ~(np.add.reduceat(weights > 0, starts) > 0)


def run_epoch(loop, order):
    """Take one pass of minibatch steps over the loop's data; return the mean loss.

    Parameters
    ----------
    loop : EpochLoop
        The network, parameters (updated in place), data, settings, progress
        and buffers of the fit.
    order : ndarray of int or None
        Row order for this epoch; ``None`` keeps the data's order.

    Returns
    -------
    loss : float
        Batch losses averaged over the epoch, weighted by batch size; the
        first non-finite batch loss if training diverged, which ends the
        epoch there.
    """
    workspace = loop.workspace
    ops = workspace.ops
    order = loop.data.row_numbers(order)  # positions to rows, once an epoch
    plan = per_example_plan(loop, ops)
    if plan is not None:  # batch_size=1: the compiled loop (design principle 7)
        return run_per_example_epoch(plan, loop, order)
    # The loop's fields as locals: the steps below run once per batch.
    theta, data, settings = loop.theta, loop.data, loop.settings
    progress, interrupt = loop.progress, loop.interrupt
    network, gather_buffers = loop.network, loop.gather_buffers
    per_step_checks = ops.syncs_each_step
    weightless, order = _deferred_checks(data, order, settings.batch_size, ops)
    accumulated = 0.0
    for number, batch_slice in enumerate(
        _batch_slices(data.n_samples, settings.batch_size)
    ):
        if weightless is not None and weightless[number]:
            continue
        index = batch_slice if order is None else order[batch_slice]
        X, y, sample_weight = data.rows(index, gather_buffers, ops)
        if per_step_checks and sample_weight is not None and not sample_weight.any():
            continue  # a batch that weighs nothing has no gradient (0 / 0)
        loss, grad, penalty = loss_and_grad(
            theta,
            X,
            y,
            sample_weight,
            network=network,
            alpha=settings.alpha,
            workspace=workspace,
            dropout=settings.dropout,
            defer_penalty=True,  # returned for the optimizer's step to add
        )
        if per_step_checks and not math.isfinite(loss):
            return loss
        accumulated += loss * (batch_slice.stop - batch_slice.start)
        # The optimizer's state and the weights change together or not at all.
        interrupt.begin_atomic()
        settings.optimizer.apply(
            theta,
            grad,
            progress.optimizer_state,
            progress.learning_rate,
            workspace.step,
            ops=ops,
            penalty=penalty,
        )
        interrupt.end_atomic()
        interrupt.check()
    return float(accumulated) / data.n_samples


def _deferred_checks(data, order, batch_size, ops):
    """The epoch's weightless batches off the host, and its order on the device.

    Off the host (``ops.syncs_each_step`` False), the per-batch checks that
    would wait for the device run once per epoch instead: zero-weight batches
    are found on the host beforehand (None on the host, which checks each
    batch), and a non-finite loss shows in the epoch's sum.

    Returns
    -------
    weightless : ndarray of bool of shape (n_batches,) or None
    order : array of int or None
        ``order`` in the data's namespace.
    """
    weightless = (
        None if ops.syncs_each_step else _weightless_batches(data, order, batch_size)
    )
    if order is not None and not ops.is_numpy:
        order = ops.from_host(order)
    return weightless, order


def _epoch_buffers(loop):
    """Allocate the per-batch buffers once for a whole fit, into ``loop``.

    ``loop.workspace`` is reused when it fits this network, dtype and batch
    size (the estimators keep one across ``partial_fit`` calls).
    """
    data, settings, workspace = loop.data, loop.settings, loop.workspace
    ops = primitives_for(data.X)
    dtype = loop.theta.dtype
    if not _fits(workspace, loop.network, settings.batch_size, dtype, ops):
        loop.workspace = Workspace(loop.network, settings.batch_size, dtype, ops)
    loop.gather_buffers = None
    if not settings.shuffle and data.index is None:
        return  # batches are slices of the arrays
    X_buffer = None
    if not sp.issparse(data.X):
        X_buffer = ops.empty((settings.batch_size, data.X.shape[1]), data.X.dtype)
    y_buffer = ops.empty((settings.batch_size, data.y.shape[1]), data.y.dtype)
    loop.gather_buffers = (X_buffer, y_buffer)


def _fits(workspace, network, n_rows, dtype, ops):
    return (
        workspace is not None
        and workspace.ops is ops
        and workspace.network == network
        and workspace.max_rows >= n_rows
        and workspace.dtype == dtype
    )


def _record_improvement(progress, theta, tol, validation_score):
    """Update the no-improvement count and the best loss, score and weights."""
    if validation_score is not None:
        scores = progress.validation_scores
        scores.append(validation_score)
        improved_by_tol = validation_score >= progress.best_validation_score + tol
        if validation_score > progress.best_validation_score:
            progress.best_validation_score = validation_score
            progress.best_theta = copy_array(theta)
    else:
        improved_by_tol = progress.loss <= progress.best_loss - tol
        progress.best_loss = min(progress.best_loss, progress.loss)
    progress.no_improvement_count = (
        0 if improved_by_tol else progress.no_improvement_count + 1
    )


def _record_epoch(progress, theta, settings, loss, n_samples, validation):
    """The bookkeeping after an epoch: counts, curves, stopping rule.

    ``validation`` is ``(score, loss)`` on the held-out rows, or None.
    """
    progress.loss = loss
    progress.n_iter += 1
    progress.t += n_samples
    progress.loss_curve.append(loss)
    if settings.verbose:
        print("Iteration %d, loss = %.8f" % (progress.n_iter, loss))
    score = None
    if validation is not None:
        score, validation_loss = validation
        progress.validation_losses.append(validation_loss)
        if settings.verbose:
            print("Validation score: %f" % score)
    progress.stopped = _end_epoch(progress, theta, settings, score)


def _record_divergence(progress):
    """Mark the epoch just recorded, whose loss is not finite, as the last.

    With early stopping, scikit-learn scores such an epoch NaN and ends on the
    best weights.  Training on from non-finite weights cannot recover, so the
    fit stops here (scikit-learn runs on until its stopping rule fires).
    """
    progress.stopped = progress.diverged = True
    warnings.warn(
        "Training diverged in epoch %d (the loss became non-finite): its "
        "validation score is NaN and training stops on the weights with the "
        "best validation score. Try a smaller learning_rate_init, a larger "
        "alpha, or scale the input data." % progress.n_iter,
        ConvergenceWarning,
        stacklevel=4,
    )


def _stall_message(settings, early_stopping):
    quantity = "Validation score" if early_stopping else "Training loss"
    return "%s did not improve more than tol=%f for %d consecutive epochs." % (
        quantity,
        settings.tol,
        settings.n_iter_no_change,
    )


def _end_epoch(progress, theta, settings, validation_score):
    """Bookkeeping after an epoch; return True when training should stop."""
    _record_improvement(progress, theta, settings.tol, validation_score)
    progress.learning_rate = settings.schedule.after_epoch(
        progress.learning_rate, progress.t
    )
    if progress.no_improvement_count <= settings.n_iter_no_change:
        return False
    message = _stall_message(settings, validation_score is not None)
    stop, progress.learning_rate = settings.schedule.on_stall(progress.learning_rate)
    if settings.verbose:
        suffix = (
            " Stopping."
            if stop
            else (" Setting learning rate to %f" % progress.learning_rate)
        )
        print(message + suffix)
    if not stop:
        progress.no_improvement_count = 0
    return stop


def fit_stochastic(loop, *, random_state, validation_score=None, tasks=None):
    """Run epochs of minibatch SGD or Adam until a stopping rule fires.

    Parameters
    ----------
    loop : EpochLoop
        The network, parameters (updated in place), training rows (the
        validation rows already held out), settings and progress (updated in
        place); its ``workspace``, if any, is reused if it fits.
    random_state : numpy.random.RandomState
        Source of the per-epoch shuffles.
    validation_score : callable, default=None
        ``validation_score(theta) -> (score, loss)`` on the held-out rows, for
        early stopping (the loss is recorded, the score decides); ``None``
        monitors the training loss instead.
    tasks : object, default=None
        Told of each epoch: ``tasks.begin()`` before it and
        ``tasks.end(theta) -> bool`` after it, True asking to stop (the
        estimators report epochs to scikit-learn's callbacks this way).

    Returns
    -------
    workspace : Workspace
        The buffers used, for the next call to reuse.
    """
    progress, theta = loop.progress, loop.theta
    progress.n_iter = 0
    progress.stopped = progress.diverged = False
    _epoch_buffers(loop)
    loop.interrupt = interrupt = GracefulInterrupt()
    try:
        with interrupt:
            _run_epochs(loop, random_state, validation_score, tasks)
            interrupt.check()  # a Ctrl-C during the last epoch's end is not lost
    except KeyboardInterrupt:
        if interrupt.torn:
            raise  # it cut an update in two: the estimator undoes the call
        # As scikit-learn: keep what was learnt up to the last complete step.
        warnings.warn("Training interrupted by user.", stacklevel=2)
    # A fit ends on the best validated weights; a partial_fit stream goes on
    # from the current ones until its stopping rule fires.
    restore = not loop.settings.incremental or progress.stopped
    if restore and validation_score is not None and progress.best_theta is not None:
        theta[:] = progress.best_theta
    return loop.workspace


def _run_epochs(loop, random_state, validation_score, tasks):
    """The epoch loop of :func:`fit_stochastic`; stops early on divergence."""
    theta, data, settings, progress = (
        loop.theta,
        loop.data,
        loop.settings,
        loop.progress,
    )
    interrupt = loop.interrupt
    incremental = settings.incremental
    sample_index = np.arange(data.n_samples, dtype=int)
    for _ in range(settings.max_iter):
        if tasks is not None:
            tasks.begin()
        order = None
        if settings.shuffle:
            sample_index = _shuffled(sample_index, random_state)
            order = sample_index
        loss = run_epoch(loop, order)
        if not math.isfinite(loss):
            progress.loss = loss
            if validation_score is not None and not incremental:
                interrupt.begin_atomic()
                diverged = (np.nan, np.nan)  # its validation score and loss
                _record_epoch(progress, theta, settings, loss, data.n_samples, diverged)
                _record_divergence(progress)
                interrupt.end_atomic()
            return  # the estimator reports it, or keeps the best weights
        validation = None if validation_score is None else validation_score(theta)
        interrupt.begin_atomic()
        _record_epoch(progress, theta, settings, loss, data.n_samples, validation)
        interrupt.end_atomic()
        interrupt.check()
        if tasks is not None and tasks.end(theta):
            progress.stopped = True  # a callback asked to stop
        if progress.stopped or incremental:
            return
        if progress.n_iter == settings.max_iter:
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % settings.max_iter,
                ConvergenceWarning,
                stacklevel=3,
            )
