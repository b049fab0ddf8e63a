"""The L-BFGS driver: scipy's L-BFGS-B over the flat parameter vector."""

import os
import threading
import warnings
from contextlib import contextmanager

import numpy as np
import scipy
import scipy.optimize
import threadpoolctl
from threadpoolctl import ThreadpoolController

from ._interrupt import GracefulInterrupt, uninterruptible
from ._network import Workspace, add_penalty, loss_and_grad
from ._primitives import primitives_for


class _SharedThreadLimit:
    """Hold a threadpool limit while any thread needs it; restore after the last.

    threadpoolctl limits are process-wide.  Two fits in threads that each
    limited and restored on their own would interleave: the second saves the
    first's limit of one thread as "original" and restores it after the first
    has restored the real one, leaving the pool at one thread for good.  A
    count of the fits inside, under a lock, makes the first one in apply the
    limit and the last one out restore it.

    The count and the limit must agree whatever interrupts them: a count left
    too high keeps the limit for good, a limit applied with none counted is
    taken by the next fit for the original.  So the bookkeeping is
    uninterruptible for :class:`GracefulInterrupt` (enter it inside the
    guard), an exception from the limiter leaves nothing counted, and a
    limit whose restore failed stays recorded, for the next fit to reuse and
    restore.

    Parameters
    ----------
    make_limiter : callable
        Applies the limit and returns an object with
        ``restore_original_limits()``.
    """

    def __init__(self, make_limiter):
        self._make_limiter = make_limiter
        self._lock = threading.Lock()
        self._users = 0
        self._limiter = None

    @contextmanager
    @uninterruptible
    def __call__(self):
        self._enter()
        try:
            yield
        finally:
            self._leave()

    @uninterruptible
    def _enter(self):
        with self._lock:
            # Counted first, taken back if the limit fails: never counted
            # without the limit in force.
            self._users += 1
            try:
                if self._limiter is None:  # else one whose restore failed
                    _release_openblas_control()
                    self._limiter = self._make_limiter()
                    _release_openblas_control()
            except BaseException:
                self._users -= 1
                raise

    @uninterruptible
    def _leave(self):
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._limiter is not None:
                _release_openblas_control()
                self._limiter.restore_original_limits()
                # Forgotten only once restored: the next fit out retries.
                self._limiter = None
                _release_openblas_control()


def _release_openblas_control():
    """Let any thread set OpenBLAS's thread count again.

    threadpoolctl (3.8) lets only the first thread that set a pthreads
    OpenBLAS's thread count set it again, until that thread leaves a ``with``
    block; other threads' calls silently do nothing.  The last fit out, in
    whatever thread, must be able to restore the count, and no fit may keep
    the control afterwards.  Older threadpoolctl has no such rule.
    """
    controller = getattr(threadpoolctl, "OpenBLASController", None)
    release = getattr(controller, "clear_controlling_thread", None)
    if release is not None:
        release(force=True)


def _limit_scipy_blas():
    """Limit the BLAS that scipy bundles, if any, to one thread.

    scipy's wheels ship an OpenBLAS of their own beside NumPy's.  L-BFGS-B
    calls it for its vector updates, and its worker threads then spin while
    NumPy's threads run the network's matrix products: on two cores that
    contention doubled the time of a fit.  The vector updates gain nothing
    from threads, so scipy's pool gets one while the optimizer runs; NumPy's
    pool is left alone (and where both share one library, nothing is
    limited).

    Returns
    -------
    limiter : threadpoolctl limiter
        Already applied; ``restore_original_limits()`` undoes it.
    """
    scipy_dir = os.path.dirname(scipy.__file__)
    controller = ThreadpoolController()
    scipy_blas = controller.select(
        filepath=[
            info["filepath"]
            for info in controller.info()
            if info["user_api"] == "blas" and info["filepath"].startswith(scipy_dir)
        ]
    )
    return scipy_blas.limit(limits=1)


# A context manager: scipy's BLAS on one thread while any L-BFGS fit runs.
_scipy_blas_on_one_thread = _SharedThreadLimit(_limit_scipy_blas)


# Rows per block of the L-BFGS objective: its layer buffers are one block's,
# whatever the number of rows, and stay in the caches.  Measured by
# benchmarks/lbfgs_blocks.py (50,000 rows, 20 iterations, median of 5, in
# scikit-learn's time): 512 rows 0.34, 1024 0.32, 2048 0.34, 4096 and 16384
# 0.37, one pass over all rows 0.38.
OBJECTIVE_BLOCK_ROWS = 1024


def local_objective(network, data, alpha, theta):
    """The training objective over ``data``, computed in this process.

    Up to ``OBJECTIVE_BLOCK_ROWS`` rows, one pass over all of them; beyond,
    the sum of the blocks' shares of the objective and of its gradient
    (:func:`loss_and_grad` with ``weight_total``, as :mod:`skbp.dask` sums
    them over its blocks), with the penalty added once: the buffers hold one
    block, so the memory does not grow with the rows.  The blocked sums
    agree with one pass to rounding.

    Parameters
    ----------
    network : Network
        The architecture.
    data : TrainingData
        Training rows.
    alpha : float
        L2 penalty.
    theta : array of shape (n_params,)
        The parameters it will be evaluated at (for the buffers' namespace,
        device and dtype).

    Returns
    -------
    objective : callable
        ``objective(theta) -> (loss, grad)``, its buffers allocated once.
    """
    ops = primitives_for(theta)
    n_samples = data.n_samples
    block_rows = min(n_samples, OBJECTIVE_BLOCK_ROWS)
    workspace = Workspace(network, block_rows, theta.dtype, ops)
    if block_rows == n_samples:

        def objective(theta):
            return loss_and_grad(
                theta,
                data.X,
                data.y,
                data.sample_weight,
                network=network,
                alpha=alpha,
                workspace=workspace,
            )

        return objective

    weights = data.sample_weight
    weight_total = n_samples if weights is None else ops.scalar(ops.sum(weights))
    total = ops.empty(network.n_params, theta.dtype)

    def blocked_objective(theta):
        loss = 0.0
        for start in range(0, n_samples, block_rows):
            X, y, sample_weight = data.rows(slice(start, start + block_rows))
            share, grad = loss_and_grad(
                theta,
                X,
                y,
                sample_weight,
                network=network,
                alpha=0.0,
                workspace=workspace,
                weight_total=weight_total,
            )
            if start == 0:
                total[...] = grad
            else:
                total[...] += grad
            loss = loss + share
        return add_penalty(
            loss,
            total,
            theta,
            network=network,
            alpha=alpha,
            weight_total=weight_total,
            ops=ops,
            scratch=workspace.step,
        )

    return blocked_objective


def fit_lbfgs(theta, objective, *, max_iter, max_fun, tol, verbose=0, tasks=None):
    """Minimise the objective with scipy's L-BFGS-B, updating ``theta``.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameters: the starting point, overwritten with the solution.
        Computation stays in ``theta``'s dtype, namespace and device; scipy
        works in float64 on the host, and only the parameters, the gradient
        and the loss cross between them, once per evaluation (as in
        scikit-learn's ``LogisticRegression`` under array-API dispatch).
    objective : callable
        ``objective(theta) -> (loss, grad)``, the regularised objective and
        its gradient at ``theta`` (:func:`local_objective`, or the sum of the
        blocks' shares on a Dask cluster).
    max_iter, max_fun : int
        Limits on iterations and on objective evaluations.
    tol : float
        Projected-gradient tolerance (``gtol``).
    verbose : bool or int, default=0
        Print the loss after each iteration.
    tasks : object, default=None
        Told of each iteration as :func:`fit_stochastic` tells of epochs.

    Returns
    -------
    n_iter : int
        Iterations run, at most ``max_iter``.
    loss : float or None
        The final objective value (None if interrupted before the first
        iteration completed).
    loss_curve : list of float
        The objective after each iteration.
    result : scipy.optimize.OptimizeResult or None
        scipy's result where the run ended on its own (None if interrupted or
        stopped by a callback), for the estimator to warn as scikit-learn
        does if it did not converge (``result.status != 0``).
    """
    ops = primitives_for(theta)
    loss_curve = []
    # the last completed iterate, on the host
    accepted = ops.to_host(theta).astype(np.float64)

    def set_theta(x):
        theta[:] = ops.from_host(x, theta.dtype)

    interrupt = GracefulInterrupt()
    open_task = []  # the iteration under way, begun at its first evaluation
    stop_requested = []

    def scipy_objective(x):
        if tasks is not None and not open_task:
            tasks.begin()
            open_task.append(True)
        set_theta(x)
        loss, grad = objective(theta)
        return float(loss), ops.to_host(grad).astype(np.float64)

    def record(intermediate_result):
        # The iterate and its loss are recorded together or not at all.
        interrupt.begin_atomic()
        accepted[:] = intermediate_result.x
        loss_curve.append(float(intermediate_result.fun))
        interrupt.end_atomic()
        if verbose:
            print("Iteration %d, loss = %.8f" % (len(loss_curve), loss_curve[-1]))
        if tasks is not None:
            open_task.clear()
            set_theta(accepted)
            if tasks.end(theta):
                stop_requested.append(True)
        if interrupt.requested or stop_requested:
            raise StopIteration  # scipy ends the run and returns this iterate

    try:
        # The limit inside the guard: its bookkeeping is uninterruptible there.
        with interrupt, _scipy_blas_on_one_thread():
            result = scipy.optimize.minimize(
                scipy_objective,
                accepted.copy(),
                method="L-BFGS-B",
                jac=True,
                callback=record,
                options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
            )
    except KeyboardInterrupt:
        if interrupt.torn:
            raise  # it cut the record of an iteration in two: undo the call
        interrupt.requested = True
    if interrupt.requested:
        # As the stochastic solvers: keep the last completed iteration.
        warnings.warn("Training interrupted by user.", stacklevel=2)
        set_theta(accepted)
        last = loss_curve[-1] if loss_curve else None
        return len(loss_curve), last, loss_curve, None
    set_theta(result.x)
    if stop_requested:
        return len(loss_curve), loss_curve[-1], loss_curve, None  # a callback's
    return min(result.nit, max_iter), float(result.fun), loss_curve, result
