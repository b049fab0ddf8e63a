"""The pure backpropagation core: parameter layout, forward, backward.

Nothing here reads an estimator.  A :class:`Network` describes the
architecture; the parameters are one flat vector ``theta`` laid out as
scikit-learn's MLP packs them (all weight matrices, then all bias vectors),
and :meth:`Network.views` returns per-layer views into it.  Inputs arrive
validated, contiguous and of the parameters' floating dtype.

Notation follows the derivations the core implements: ``activations[l]`` is
the output of layer ``l`` (``activations[0]`` is the input), ``raw`` is the
pre-link output of the last layer, and ``delta[l]`` is the gradient of the
loss with respect to the pre-activation of layer ``l + 1``.
"""

from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import numpy as np

from ._optimizers import add_penalty_gradient
from ._primitives import NUMPY, primitives_for


@dataclass(frozen=True)
class Network:
    """The architecture of a fully connected feed-forward network.

    Parameters
    ----------
    layer_units : tuple of int
        Units per layer, input and output layers included:
        ``(n_features, *hidden_layer_sizes, n_outputs)``.
    hidden : tuple of Activation
        The activation of each hidden layer, first to last (empty for a
        network without hidden layers).
    output : OutputLayer
        Link and loss of the output layer.
    """

    layer_units: tuple
    hidden: tuple
    output: object

    @property
    def n_layers(self):
        """Number of layers, the input layer included."""
        return len(self.layer_units)

    @cached_property
    def coef_shapes(self):
        """Shapes ``(fan_in, fan_out)`` of the weight matrices."""
        return list(pairwise(self.layer_units))

    @cached_property
    def n_coefs(self):
        """Number of weights (the leading part of ``theta``)."""
        return sum(fan_in * fan_out for fan_in, fan_out in self.coef_shapes)

    @cached_property
    def n_params(self):
        """Total number of parameters, weights and biases."""
        return self.n_coefs + sum(self.layer_units[1:])

    def views(self, theta):
        """Split the flat parameter vector into per-layer views.

        Parameters
        ----------
        theta : array of shape (n_params,)
            The flat parameter vector, of any supported namespace.

        Returns
        -------
        coefs : list of array of shape (fan_in, fan_out)
            Weight matrices; writing into them writes into ``theta``.
        intercepts : list of array of shape (fan_out,)
            Bias vectors; views into ``theta`` as well.
        """
        reshape = primitives_for(theta).reshape
        coefs, intercepts, start = [], [], 0
        for shape in self.coef_shapes:
            stop = start + shape[0] * shape[1]
            coefs.append(reshape(theta[start:stop], shape))
            start = stop
        for fan_out in self.layer_units[1:]:
            intercepts.append(theta[start : start + fan_out])
            start += fan_out
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype, ops=NUMPY):
        """Return a new flat vector holding copies of ``coefs`` and ``intercepts``.

        Parameters
        ----------
        coefs, intercepts : list of array-like
            Per-layer weights and biases, shaped as :meth:`views` returns them;
            NumPy arrays or arrays of the namespace of ``ops``.
        dtype : dtype
            Floating dtype of the vector, of the namespace of ``ops``.
        ops : primitives, default=NUMPY
            The namespace and device of the vector.

        Returns
        -------
        theta : array of shape (n_params,)
        """
        theta = ops.empty(self.n_params, dtype)
        for view, value in zip(
            sum(self.views(theta), []), [*coefs, *intercepts], strict=True
        ):
            if not ops.is_numpy and isinstance(value, np.ndarray | list):
                value = ops.from_host(value, dtype)
            view[...] = value
        return theta

    def init_parameters(self, random_state, dtype, output_init=None):
        """Draw initial parameters as scikit-learn's MLP does.

        Glorot-uniform bounds :math:`\\sqrt{6 / (fan_{in} + fan_{out})}`
        (factor 2 instead of 6 for logistic units), drawn layer by layer,
        weights before biases, from ``random_state``: the same
        ``random_state`` gives the same initial weights as
        ``sklearn.neural_network.MLPClassifier``.  scikit-learn has one
        activation and gives every layer its factor; here the weights into a
        hidden layer take the factor of that layer's activation, and the
        output layer's weights that of the last hidden layer (the units
        they read), or of ``output_init`` where given.  With one activation
        for every layer, that is scikit-learn's rule.

        Parameters
        ----------
        random_state : numpy.random.RandomState
            Source of randomness.
        dtype : numpy dtype
            Floating dtype of the parameters.
        output_init : str, default=None
            The name of the activation whose factor the output layer's
            weights take instead: scikit-learn reads its ``activation`` even
            for a network without hidden layers.

        Returns
        -------
        theta : ndarray of shape (n_params,)
        """
        names = [activation.name for activation in self.hidden]
        if output_init is not None or not names:
            names.append(output_init)
        else:
            names.append(names[-1])
        coefs, intercepts = [], []
        for name, (fan_in, fan_out) in zip(names, self.coef_shapes, strict=True):
            factor = 2.0 if name == "logistic" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(random_state.uniform(-bound, bound, fan_out))
        return self.pack(coefs, intercepts, dtype)


class Workspace:
    """Activation and delta buffers for batches of up to ``max_rows`` samples.

    Allocated once per fit and reused for every batch (design principle
    5); :meth:`rows` hands out views of the first ``n`` rows, which are
    C-contiguous, so matrix products can write straight into them.

    Parameters
    ----------
    network : Network
        The architecture the buffers are shaped for.
    max_rows : int
        The largest batch the buffers must hold.
    dtype : dtype
        Floating dtype of the buffers, of the namespace of ``ops``.
    ops : primitives, default=NUMPY
        The array primitives (namespace and device) of the parameters; every
        function that takes this workspace computes with them.
    """

    def __init__(self, network, max_rows, dtype, ops=NUMPY):
        units = network.layer_units[1:]
        self.network = network
        self.max_rows = max_rows
        self.ops = ops
        self.dtype = np.dtype(dtype) if ops.is_numpy else dtype
        empty = ops.empty
        self._activations = [empty((max_rows, n), dtype) for n in units]
        self._deltas = [empty((max_rows, n), dtype) for n in units]
        self._raw = empty((max_rows, units[-1]), dtype)
        self._ones = ops.ones(max_rows, dtype)
        self.grad = empty(network.n_params, dtype)
        self.step = empty(network.n_params, dtype)
        self._views = {}
        # The last forward pass's dropout masks and pre-mask outputs.
        self.masks = None
        self.unmasked_outputs = None
        self._rows = {}

    def views(self, theta):
        """Return ``network.views(theta)``, built once per parameter vector.

        The estimators update one long-lived ``theta`` (and this workspace's
        ``grad``) in place, so the per-layer views are built on the first
        batch and reused: per-example SGD takes one step per sample, and
        rebuilding a dozen views per step would cost more than the step.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            A flat parameter (or gradient) vector.

        Returns
        -------
        coefs, intercepts : list of ndarray
        """
        cached = self._views.get(id(theta))
        # The cache holds a reference to each vector, so an id is never reused
        # by another array while its entry exists.
        if cached is None or cached[0] is not theta:
            if len(self._views) > 4:
                self._views.clear()
            cached = (theta, self.network.views(theta))
            self._views[id(theta)] = cached
        return cached[1]

    def ones(self, n_rows):
        """Return a vector of ``n_rows`` ones (for bias gradients as products)."""
        return self._ones[:n_rows]

    def rows(self, n_rows):
        """Return ``(activations, raw, deltas)`` views of the first ``n_rows``.

        Parameters
        ----------
        n_rows : int
            Number of samples in the batch.

        Returns
        -------
        activations : list of ndarray
            One buffer per non-input layer; the last one holds predictions.
        raw : ndarray of shape (n_rows, n_outputs)
            Buffer for the pre-link output.
        deltas : list of ndarray
            One buffer per non-input layer.
        """
        cached = self._rows.get(n_rows)
        if cached is None:
            # Built once per batch size: a fit sees at most two sizes.
            cached = (
                [a[:n_rows, :] for a in self._activations],
                self._raw[:n_rows, :],
                [d[:n_rows, :] for d in self._deltas],
            )
            self._rows[n_rows] = cached
        return cached


def forward(network, theta, X, workspace, masks=None):
    """Propagate ``X`` forward, keeping every layer's output.

    .. math::

        a^{(1)} = x, \\qquad z^{(l+1)} = a^{(l)} W^{(l)} + b^{(l)}, \\qquad
        a^{(l+1)} = f(z^{(l+1)}),

    equation (6) of the seed "Backpropagation Derivation" (eqs. (1)-(4) of
    Feng's "Back propagation algorithm"), with the output layer's link in
    place of ``f`` at the last layer.

    Parameters
    ----------
    network : Network
        The architecture.
    theta : ndarray of shape (n_params,)
        Flat parameters.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input batch, ``n_samples <= workspace.max_rows``.
    workspace : Workspace
        Buffers to write into; its ``masks`` and ``unmasked_outputs`` are
        set for :func:`backward`.
    masks : list of (ndarray or None), default=None
        Dropout masks per hidden layer (:mod:`skbp._dropout`): the layer's
        output is multiplied by its mask before the next layer reads it.

    Returns
    -------
    activations : list of ndarray
        ``[X, a_1, ..., a_L]``, the hidden outputs after dropout; ``a_L`` is
        the prediction.
    raw : ndarray of shape (n_samples, n_outputs)
        The pre-link output of the last layer.
    """
    ops = workspace.ops
    coefs, intercepts = workspace.views(theta)
    layer_outputs, raw, _ = workspace.rows(X.shape[0])
    activations = [X]
    last = len(coefs) - 1
    workspace.masks = masks
    # The derivative reads a layer's output before its mask is applied.
    workspace.unmasked_outputs = None if masks is None else [None] * last
    for layer in range(last + 1):
        z = raw if layer == last else layer_outputs[layer]
        matmul = ops.matmul if layer == 0 else ops.dense_matmul  # X may be sparse
        z = matmul(activations[-1], coefs[layer], out=z)
        if layer == last:
            z += intercepts[layer]
            raw = z
            activations.append(network.output.link(z, layer_outputs[layer], ops))
        else:
            output = network.hidden[layer].add_bias_and_activate(
                z, intercepts[layer], ops
            )
            if masks is not None and masks[layer] is not None:
                workspace.unmasked_outputs[layer] = output
                output = output * masks[layer]
            activations.append(output)
    return activations, raw


def backward(network, theta, activations, deltas, workspace):
    """Propagate the output delta back and write the gradient.

    ``deltas[-1]`` must hold the output delta on entry, already weighted by
    the samples' share of the total weight.  The hidden deltas follow

    .. math::

        \\delta^{(l)} = \\left(\\delta^{(l+1)} W^{(l+1)\\top}\\right)
                        \\odot f'(z^{(l)}),

    Liskowski's eq. (4) / (11) in matrix form (Feng's eq. (28)), and the
    gradients are

    .. math::

        \\frac{\\partial L}{\\partial W^{(l)}} = a^{(l)\\top} \\delta^{(l)},
        \\qquad
        \\frac{\\partial L}{\\partial b^{(l)}} = \\sum_{\\text{samples}}
        \\delta^{(l)},

    Feng's eqs. (22), (29) and (34), summed over the rows of the batch.  The
    bias gradient is computed as the product ``ones @ delta``: a BLAS call on
    both cores rather than a single-threaded reduction.

    Parameters
    ----------
    network : Network
        The architecture.
    theta : ndarray of shape (n_params,)
        Flat parameters.
    activations : list of ndarray
        As returned by :func:`forward`.
    deltas : list of ndarray
        Delta buffers, one per non-input layer; the last holds the output delta.
    workspace : Workspace
        Its ``grad`` is written with the gradient, laid out as ``theta``.

    Returns
    -------
    grad : ndarray of shape (n_params,)
        ``workspace.grad``.
    """
    ops = workspace.ops
    coefs, _ = workspace.views(theta)
    coef_grads, intercept_grads = workspace.views(workspace.grad)
    n_rows = deltas[-1].shape[0]
    ones = workspace.ones(n_rows)
    # Where a derivative needs z, forward left it in the layer buffers.
    preactivations = workspace.rows(n_rows)[0]
    for layer in range(len(coefs) - 1, -1, -1):
        delta = deltas[layer]
        # Written into views of workspace.grad; activations[0] (X) may be sparse.
        matmul = ops.matmul if layer == 0 else ops.dense_matmul
        matmul(activations[layer].T, delta, out=coef_grads[layer])
        ops.dense_matmul(ones, delta, out=intercept_grads[layer])
        if layer > 0:
            previous = ops.dense_matmul(delta, coefs[layer].T, out=deltas[layer - 1])
            output = _through_dropout(workspace, layer - 1, previous)
            if output is None:
                output = activations[layer]
            # In place: every namespace's primitives write into ``out``.
            activation = network.hidden[layer - 1]
            activation.apply_derivative(
                output,
                previous,
                ops,
                z=preactivations[layer - 1]
                if activation.derivative_needs_input
                else None,
            )
    return workspace.grad


def _through_dropout(workspace, hidden_layer, delta):
    """Apply a hidden layer's dropout mask to the delta arriving at it.

    Returns the layer's output before the mask (for its derivative), or None
    where the layer had no mask.
    """
    masks = workspace.masks
    if masks is None or masks[hidden_layer] is None:
        return None
    delta *= masks[hidden_layer]
    return workspace.unmasked_outputs[hidden_layer]


def loss_and_grad(
    theta,
    X,
    y,
    sample_weight=None,
    *,
    network,
    alpha,
    workspace=None,
    weight_total=None,
    dropout=None,
    defer_penalty=False,
):
    """Return the regularised loss and its gradient with respect to ``theta``.

    The objective is the (weighted) mean per-sample loss plus an L2 penalty
    scaled, as in scikit-learn's MLP, by the total sample weight:

    .. math::

        J(\\theta) = \\frac{\\sum_i w_i L(y_i, \\hat y_i)}{\\sum_i w_i}
                   + \\frac{\\alpha}{2 \\sum_i w_i} \\sum_l \\lVert W^{(l)}
                   \\rVert_F^2 .

    Every solver (SGD, Adam, scipy's L-BFGS) and the gradient check call this
    one function.  The normalisation by :math:`\\sum_i w_i` is applied to the
    output delta, the smallest array on the way, rather than to the gradient.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameters.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Inputs, of the dtype of ``theta``.
    y : ndarray of shape (n_samples, n_outputs)
        Targets encoded as the network's outputs.
    sample_weight : ndarray of shape (n_samples,), default=None
        Sample weights; ``None`` weighs every sample by one.
    network : Network
        The architecture.
    alpha : float
        L2 penalty strength.
    workspace : Workspace, default=None
        Buffers to reuse; allocated for this call if ``None``.
    weight_total : float, default=None
        The total weight :math:`\\sum_i w_i` of *all* the rows of the
        objective, when ``X`` is only a block of them (a Dask worker's
        share): the loss and the gradient returned are then this block's
        terms of :math:`J`, which sum over the blocks to :math:`J` and its
        gradient (pass ``alpha=0`` and add the penalty once).  ``None``: the
        rows given are all the rows.
    dropout : Dropout, default=None
        Draws this batch's dropout masks (:mod:`skbp._dropout`); the loss and
        gradient are then those of the thinned network.
    defer_penalty : bool, default=False
        Leave the L2 term out of the gradient and return it instead, for the
        optimizer's fused step to add (see :func:`add_penalty`).

    Returns
    -------
    loss : float or 0-d array
        The value of :math:`J(\\theta)`: a Python float for NumPy, a 0-d
        array on the device for other namespaces (read it once per epoch,
        not per step, to keep the device busy).
    grad : array of shape (n_params,)
        Its gradient (without the L2 term if ``defer_penalty``).  When a
        workspace is given this is ``workspace.grad``, overwritten by the
        next call.
    penalty : tuple of (int, float) or None
        Only with ``defer_penalty``: the L2 term the gradient lacks,
        ``(n_coefs, alpha / sum(sample_weight))``; None for ``alpha=0``.
    """
    if workspace is None:
        ops = primitives_for(theta)
        workspace = Workspace(network, X.shape[0], theta.dtype, ops)
    ops = workspace.ops
    masks = None
    if dropout is not None:
        masks = dropout.masks(X.shape[0], network.layer_units[1:-1], theta.dtype, ops)
    activations, raw = forward(network, theta, X, workspace, masks)
    _, _, deltas = workspace.rows(X.shape[0])
    block_weight = X.shape[0] if sample_weight is None else ops.sum(sample_weight)
    weight_sum = block_weight if weight_total is None else weight_total
    # The weighted output delta goes into deltas[-1]; the loss is taken now,
    # before backward, which writes nothing that the loss reads.
    loss = network.output.delta_and_loss(
        y,
        raw,
        activations[-1],
        sample_weight,
        weight_sum,
        deltas[-1],
        ops,
        block=weight_total is not None,
    )
    grad = backward(network, theta, activations, deltas, workspace)
    # The optimizer's step buffer is free until the gradient is complete.
    return add_penalty(
        loss,
        grad,
        theta,
        network=network,
        alpha=alpha,
        weight_total=weight_sum,
        ops=ops,
        scratch=workspace.step,
        gradient=not defer_penalty,
    )


def add_penalty(
    loss,
    grad,
    theta,
    *,
    network,
    alpha,
    weight_total,
    ops=NUMPY,
    scratch=None,
    gradient=True,
):
    """Add the L2 term of :math:`J` to a loss and, in place, to its gradient.

    .. math::

        J \\mathrel{+}= \\frac{\\alpha}{2 \\sum_i w_i} \\sum_l \\lVert
        W^{(l)} \\rVert_F^2, \\qquad
        \\nabla_{W} J \\mathrel{+}= \\frac{\\alpha}{\\sum_i w_i} W .

    :func:`loss_and_grad` adds it; a sum of blocks' shares computed with
    ``alpha=0`` gets it once, from here.

    Parameters
    ----------
    loss : float or 0-d array
        The data term.
    grad : array of shape (n_params,)
        Its gradient, updated in place unless ``gradient`` is False.
    theta : array of shape (n_params,)
        The parameters (the weights penalised are its first ``n_coefs``).
    network : Network
        The architecture.
    alpha : float
        L2 penalty strength; nothing is added for 0.
    weight_total : float
        :math:`\\sum_i w_i` over all the rows of the objective.
    ops : primitives, default=NUMPY
        The array primitives of the arrays' namespace.
    scratch : array of shape (n_params,), default=None
        A buffer the scaled weights may be written into.
    gradient : bool, default=True
        Whether to add the gradient's term.  If not, it is returned as a
        third value for the caller to add: the stochastic optimizers fuse it
        into their step (:func:`skbp._optimizers.add_penalty_gradient` is
        its plain form).

    Returns
    -------
    loss : float or 0-d array
        The penalised loss.
    grad : array of shape (n_params,)
        ``grad``, with the L2 term if ``gradient``.
    penalty : tuple of (int, float) or None
        Only when ``gradient`` is False: ``(n_coefs, alpha / weight_total)``,
        the term ``grad`` lacks on its first ``n_coefs`` entries; None for
        ``alpha=0``.
    """
    penalty = (network.n_coefs, alpha / weight_total) if alpha else None
    if penalty is not None:
        if gradient:
            add_penalty_gradient(grad, theta, penalty, ops, scratch)
        weights = theta[: network.n_coefs]
        loss = loss + 0.5 * alpha * ops.scalar(weights @ weights) / weight_total
    return (loss, grad) if gradient else (loss, grad, penalty)


def hidden_activations_from_views(hidden, coefs, intercepts, X, ops=None):
    """Outputs of the hidden layers whose weights are given, the last one kept.

    Allocates fresh arrays and shares no buffers, so it is safe to call from
    several threads on one model.

    Parameters
    ----------
    hidden : sequence of Activation
        The hidden layers' activations, first to last; the first
        ``len(coefs)`` are applied.
    coefs, intercepts : list of ndarray
        Weights and biases of the first hidden layers.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Inputs; returned as they are if no layer is given.
    ops : primitives, default=None
        The array primitives of ``X``'s namespace; looked up if None.

    Returns
    -------
    activations : {ndarray, sparse matrix} of shape (n_samples, n_units)
        The output of the last layer given.
    """
    ops = primitives_for(X) if ops is None else ops
    activation = X
    for layer, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        matmul = ops.matmul if layer == 0 else ops.dense_matmul  # X may be sparse
        activation = hidden[layer].add_bias_and_activate(
            matmul(activation, coef), intercept, ops
        )
    return activation


def predict_raw_from_views(hidden, coefs, intercepts, X, ops=None):
    """Forward pass over per-layer weights, returning the raw output.

    Allocates fresh arrays and shares no buffers, so prediction is safe to
    call from several threads on one model.  It reads the weights from the
    lists given (an estimator's ``coefs_``), so weights a user assigned are
    the ones used.

    Parameters
    ----------
    hidden : sequence of Activation
        The hidden layers' activations, first to last.
    coefs, intercepts : list of ndarray
        Per-layer weights and biases.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Inputs.
    ops : primitives, default=None
        The array primitives of ``X``'s namespace; looked up if None.

    Returns
    -------
    raw : ndarray of shape (n_samples, n_outputs)
    """
    ops = primitives_for(X) if ops is None else ops
    if type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 2 * PREDICT_CHUNK_ROWS:
        return _predict_raw_in_chunks(hidden, coefs, intercepts, X)
    last_hidden = hidden_activations_from_views(
        hidden, coefs[:-1], intercepts[:-1], X, ops
    )
    matmul = ops.matmul if len(coefs) == 1 else ops.dense_matmul  # X may be sparse
    raw = matmul(last_hidden, coefs[-1])
    raw += intercepts[-1]
    return raw


# Rows per block of a large prediction: its layer buffers (a few MB) stay in
# the caches and are reused, instead of fresh arrays of every row per layer.
PREDICT_CHUNK_ROWS = 2048


def _predict_raw_in_chunks(hidden, coefs, intercepts, X):
    """:func:`predict_raw_from_views` on a large dense NumPy ``X``, block by block.

    Each row's output is computed by the same operations as in one pass over
    all rows (``tests/test_network.py`` checks that they are equal); only the
    memory differs: one buffer per hidden layer for ``PREDICT_CHUNK_ROWS``
    rows, allocated per call (so calls from several threads share nothing).
    """
    n_samples = X.shape[0]
    dtype = np.result_type(X.dtype, coefs[0].dtype)
    buffers = [np.empty((PREDICT_CHUNK_ROWS, c.shape[1]), dtype) for c in coefs[:-1]]
    raw = np.empty((n_samples, coefs[-1].shape[1]), np.result_type(dtype, coefs[-1]))
    for start in range(0, n_samples, PREDICT_CHUNK_ROWS):
        stop = min(start + PREDICT_CHUNK_ROWS, n_samples)
        activation = X[start:stop]
        for activation_function, coef, intercept, buffer in zip(
            hidden, coefs[:-1], intercepts[:-1], buffers, strict=True
        ):
            z = np.matmul(activation, coef, out=buffer[: stop - start])
            activation = activation_function.add_bias_and_activate(z, intercept)
        block = np.matmul(activation, coefs[-1], out=raw[start:stop])
        block += intercepts[-1]
    return raw
