"""The per-example SGD epoch (``batch_size=1``) through the compiled loop.

:func:`per_example_plan` says whether an epoch can run in
``skbp/_sgd_loop.pyx`` (NumPy, dense rows, plain SGD, no dropout, an
activation and an output layer whose ``kernel_code`` the loop implements)
and holds what the loop needs; :func:`run_per_example_epoch` runs it in
chunks, each an atomic section of the Ctrl-C guard, so that an interrupt
lands between two complete steps, as in the NumPy loop of
:func:`skbp._training.run_epoch`.
"""

from dataclasses import dataclass

import numpy as np

from ._kernel_codes import (
    SGD_EPOCH_ACTIVATIONS,
    SGD_EPOCH_OUTPUTS,
    OutputCode,
)
from ._optimizers import SGD
from ._primitives import kernel_ready

# About this many weight updates per chunk, so that a Ctrl-C is answered
# within milliseconds while a chunk's Python overhead stays negligible.
_UPDATES_PER_CHUNK = 1 << 19


@dataclass(frozen=True)
class PerExamplePlan:
    """What the compiled loop needs besides the data and the parameters.

    Parameters
    ----------
    kernel : callable
        ``skbp._sgd_loop.sgd_epoch``.
    layer_units, coef_offsets, intercept_offsets, unit_offsets : ndarray of intp
        The network's layout in ``theta`` and in ``buffer``.
    buffer : ndarray
        Scratch for one sample's outputs and deltas.
    hidden_codes : ndarray of intc
        The code of each hidden layer's activation (:mod:`skbp._kernel_codes`).
    output_code : OutputCode
        The output layer's code.
    chunk : int
        Samples per call of the kernel.
    """

    kernel: object
    layer_units: np.ndarray
    coef_offsets: np.ndarray
    intercept_offsets: np.ndarray
    unit_offsets: np.ndarray
    buffer: np.ndarray
    hidden_codes: np.ndarray
    output_code: OutputCode
    chunk: int


def per_example_plan(loop, ops):
    """Return a :class:`PerExamplePlan` if the compiled loop can run the epoch.

    Parameters
    ----------
    loop : EpochLoop
        The network, parameters, training rows and settings of the fit
        (:class:`skbp._training.EpochLoop`).
    ops : primitives
        The array primitives of the data.

    Returns
    -------
    plan : PerExamplePlan or None
        None where the NumPy loop must run it.
    """
    network, theta, settings = loop.network, loop.theta, loop.settings
    hidden_codes = [activation.kernel_code for activation in network.hidden]
    output_code = network.output.kernel_code
    if not (
        ops.per_example_sgd is not None
        and settings.batch_size == 1
        and settings.dropout is None
        and isinstance(settings.optimizer, SGD)
        and all(code in SGD_EPOCH_ACTIVATIONS for code in hidden_codes)
        and output_code in SGD_EPOCH_OUTPUTS
        and kernel_ready(theta, loop.data.X)  # dense NumPy rows of theta's dtype
    ):
        return None
    units = np.asarray(network.layer_units, dtype=np.intp)
    fan_in_out = units[:-1] * units[1:]
    coef_offsets = np.concatenate(([0], np.cumsum(fan_in_out)[:-1]))
    intercept_offsets = network.n_coefs + np.concatenate(([0], np.cumsum(units[1:-1])))
    unit_offsets = np.concatenate(([0], np.cumsum(units[1:-1])))
    return PerExamplePlan(
        kernel=ops.per_example_sgd,
        layer_units=units,
        coef_offsets=coef_offsets.astype(np.intp),
        intercept_offsets=intercept_offsets.astype(np.intp),
        unit_offsets=unit_offsets.astype(np.intp),
        buffer=np.empty(2 * int(units[1:].sum()), dtype=theta.dtype),
        hidden_codes=np.asarray(hidden_codes, dtype=np.intc),
        output_code=output_code,
        chunk=max(1, _UPDATES_PER_CHUNK // network.n_params),
    )


def run_per_example_epoch(plan, loop, order):
    """One epoch of per-example SGD in the compiled loop; return its mean loss.

    The same contract as :func:`skbp._training.run_epoch`: ``theta`` and the
    optimizer's velocity are updated in place; samples of zero weight are
    skipped; the first non-finite loss ends the epoch before its step and is
    returned.

    Parameters
    ----------
    plan : PerExamplePlan
        From :func:`per_example_plan`.
    loop : EpochLoop
        Parameters (updated in place), training rows, settings, progress (the
        optimizer's state and the learning rate) and the interrupt guard, of
        which each chunk of steps is one atomic section, checked between
        chunks.
    order : ndarray of int or None
        The epoch's row order.

    Returns
    -------
    loss : float
    """
    theta, data, settings, progress = (
        loop.theta,
        loop.data,
        loop.settings,
        loop.progress,
    )
    interrupt = loop.interrupt
    y = np.ascontiguousarray(data.y, dtype=theta.dtype)
    sample_weight = data.host_sample_weight
    if sample_weight is not None:
        sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
    if order is not None:
        order = np.ascontiguousarray(order, dtype=np.intp)
    optimizer = settings.optimizer
    # In place: a guarded state copies its velocity aside first.
    velocity = progress.optimizer_state.writable().velocity
    n_samples = data.n_samples
    accumulated = 0.0
    for start in range(0, n_samples, plan.chunk):
        stop = min(start + plan.chunk, n_samples)
        interrupt.begin_atomic()
        loss_sum, position, bad_loss = plan.kernel(
            theta,
            velocity,
            data.X,
            y,
            sample_weight,
            order,
            start,
            stop,
            plan.layer_units,
            plan.coef_offsets,
            plan.intercept_offsets,
            plan.unit_offsets,
            plan.buffer,
            plan.hidden_codes,
            plan.output_code,
            float(settings.alpha),
            float(progress.learning_rate),
            float(optimizer.momentum),
            bool(optimizer.nesterov),
        )
        interrupt.end_atomic()
        if position < stop:
            return bad_loss
        accumulated += loss_sum
        interrupt.check()
    return accumulated / n_samples
