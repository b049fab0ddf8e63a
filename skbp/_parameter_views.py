"""The flat parameter vector and its published views, pickling included.

The pickled state holds plain data only (arrays, numbers, strings and
containers of them): the network and the training bookkeeping are stored by
name and field and rebuilt on loading, so that a secure loader such as
``skops.io`` needs to trust no skbp type but the public estimators.
"""

from dataclasses import fields

import numpy as np
from sklearn.utils._array_api import move_to

from ._activations import ACTIVATIONS
from ._losses import get_output_layer
from ._network import Network
from ._optimizers import AdamState, SGDState
from ._primitives import NUMPY, copy_array, primitives_for
from ._training import Progress
from ._validation import is_same_view

# The optimizer states a ``Progress`` may hold, by the name stored for them.
_OPTIMIZER_STATES = {cls.__name__: cls for cls in (SGDState, AdamState)}

# Fitted attributes that are the very lists ``Progress`` appends to.
_PUBLISHED_LISTS = (
    ("loss_curve_", "loss_curve"),
    ("validation_scores_", "validation_scores"),
    ("validation_loss_curve_", "validation_losses"),
)


class ParameterViewsMixin:
    """Keep ``coefs_`` and ``intercepts_`` live views of one flat vector.

    Training updates ``_theta`` in place; the views published after a fit
    stay live across ``warm_start``, ``partial_fit`` and pickling, and views
    a user replaced are repacked into the vector before training goes on.
    """

    def _packed_parameters(self, network, dtype, ops=NUMPY):
        """Return the live flat vector, repacked if ``coefs_`` were replaced.

        Weights set by hand on an unfitted estimator (``coefs_`` and
        ``intercepts_`` assigned, no flat vector yet) are packed too, so that
        ``partial_fit`` or a warm-start ``fit`` trains on from them, as with
        scikit-learn's MLP.
        """
        theta = self.__dict__.get("_theta")
        views = [*self.coefs_, *self.intercepts_]
        if theta is not None and theta.dtype == dtype:
            if self._views_are_published(views):
                return theta
            live_coefs, live_intercepts = network.views(theta)
            expected = [*live_coefs, *live_intercepts]
            if len(views) == len(expected) and all(
                is_same_view(v, e) for v, e in zip(views, expected, strict=True)
            ):
                return theta
        shapes = [*network.coef_shapes, *((n,) for n in network.layer_units[1:])]
        if len(views) != len(shapes) or any(
            np.shape(v) != shape for v, shape in zip(views, shapes, strict=True)
        ):
            raise ValueError(
                "coefs_ and intercepts_ do not match the architecture "
                f"{list(network.layer_units)}; set warm_start=False to refit."
            )
        return network.pack(self.coefs_, self.intercepts_, dtype, ops)

    def _publish_parameters(self):
        network = self._network
        self.coefs_, self.intercepts_ = network.views(self._theta)
        self._published_views = (*self.coefs_, *self.intercepts_)
        self.n_layers_ = network.n_layers
        self.n_outputs_ = network.layer_units[-1]
        self.out_activation_ = network.output.link_name

    def _views_are_published(self, views):
        """Whether ``views`` are the very arrays the last fit published.

        An identity test, cheap enough for every ``partial_fit`` call; views
        that were replaced (or rebuilt by unpickling) take the full test in
        :meth:`_packed_parameters`.
        """
        published = self.__dict__.get("_published_views", ())
        return len(views) == len(published) and all(
            view is old for view, old in zip(views, published, strict=True)
        )

    # ------------------------------------------------------------ pickling

    def __getstate__(self):
        # object.__getstate__ may return the live __dict__: copy before editing.
        state = dict(super().__getstate__())
        # Plain data only (see the module docstring): a secure loader must
        # not be asked to trust skbp's private classes and functions.
        if "_network" in state:
            state["_network"] = network_record(state["_network"])
        # Under another name than the object's: ``__sklearn_array_api_convert__``
        # (``_array_api.py``) converts a ``_progress`` it finds in this state.
        progress = state.pop("_progress", None)
        if progress is not None:
            state["_progress_fields"] = progress_record(progress, state)
        if "_theta" in state and "coefs_" in state:
            # Views do not survive pickling: store the flat vector only and
            # rebuild the views on unpickling.
            theta = self._theta
            state["_theta"] = self._packed_parameters(
                self._network, theta.dtype, primitives_for(theta)
            )
            del state["coefs_"], state["intercepts_"]
        # Caches (scratch buffers, view and validation records) are not model
        # state; they are rebuilt on demand.
        for cache in (
            "_workspace",
            "_published_views",
            "_validated_params",
            "_shuffle_memo",
        ):
            state.pop(cache, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        fitted = self.__dict__
        # Pickles written before the state was plain data hold the objects.
        if isinstance(fitted.get("_network"), dict):
            self._network = network_from_record(fitted["_network"])
        if "_progress_fields" in fitted:
            record = fitted.pop("_progress_fields")
            self._progress = progress_from_record(record, self)
        if "_theta" in state and "_network" in state and "coefs_" not in state:
            self.coefs_, self.intercepts_ = self._network.views(self._theta)
            self._published_views = (*self.coefs_, *self.intercepts_)


# ------------------------------------------------------- state by names


def network_record(network):
    """The names and sizes ``network`` is rebuilt from, or ``network`` itself.

    A network made of anything but the registered activations and output
    layers (tests swap in their own) is kept as the object, which pickle
    still stores.

    Parameters
    ----------
    network : Network

    Returns
    -------
    record : dict or Network
        Keys ``layer_units``, ``activation``, ``loss`` and ``out_activation``;
        ``loss_parameters`` too (a dict of floats by name) for a loss with
        parameters ('quantile', 'huber').
    """
    try:
        record = {
            "layer_units": network.layer_units,
            "activation": [activation.name for activation in network.hidden],
            "loss": network.output.loss_name,
            "out_activation": network.output.link_name,
        }
        if network.output.parameters:
            record["loss_parameters"] = dict(network.output.parameters)
        rebuilt = network_from_record(record)
    except (AttributeError, KeyError, ValueError):
        return network
    return record if rebuilt == network else network


def network_from_record(record):
    """The :class:`Network` that :func:`network_record` described.

    Parameters
    ----------
    record : dict

    Returns
    -------
    network : Network
    """
    layer_units = tuple(record["layer_units"])
    names = record["activation"]
    if isinstance(names, str):  # saved before activations were per layer
        names = [names] * (len(layer_units) - 2)
    return Network(
        layer_units,
        tuple(ACTIVATIONS[name] for name in names),
        # Records saved before losses had parameters have none.
        get_output_layer(
            record["loss"],
            record["out_activation"],
            **record.get("loss_parameters", {}),
        ),
    )


def progress_record(progress, state):
    """The fields of ``progress`` as a dict, its optimizer state one too.

    Parameters
    ----------
    progress : Progress
        The bookkeeping a ``partial_fit`` stream goes on with.
    state : dict
        The estimator's pickled state: the fitted attributes that are
        ``progress``'s own lists are named in the record (key ``published``),
        since a secure loader does not keep two references to one list.

    Returns
    -------
    record : dict
    """
    record = _field_values(progress)
    optimizer_state = progress.optimizer_state
    if optimizer_state is not None:
        record["optimizer_state"] = {
            "type": type(optimizer_state).__name__,
            **_field_values(optimizer_state),
        }
    record["published"] = [
        attribute
        for attribute, name in _PUBLISHED_LISTS
        if record[name] is not None and state.get(attribute) is record[name]
    ]
    return record


def _field_values(instance):
    """The dataclass fields of ``instance`` by name (no ``ClassVar``, no spares)."""
    return {field.name: getattr(instance, field.name) for field in fields(instance)}


def _fresh_array(array, ops):
    """A copy of ``array`` in the namespace and on the device of ``ops``.

    Where ``ops`` is None (no ``_theta`` to follow), a copy where it is.
    """
    if ops is None or primitives_for(array) is ops:
        return copy_array(array)
    return move_to(array, xp=ops.xp, device="cpu" if ops.is_numpy else ops.device)


def progress_from_record(record, estimator):
    """The :class:`Progress` that :func:`progress_record` described.

    The fields are set as they were, without ``Progress.__post_init__``,
    which would reset the stopping rule's records; the fitted attributes
    named in ``published`` become ``progress``'s lists again, so that later
    training appends to them as it did before pickling.  The lists and
    arrays are fresh copies, the arrays in the namespace and on the device
    of the estimator's ``_theta``: ``__sklearn_array_api_convert__`` hands
    over the record of the estimator it copies, with ``_theta`` moved.

    Parameters
    ----------
    record : dict
    estimator : ParameterViewsMixin
        The estimator being loaded, whose published lists are relinked.

    Returns
    -------
    progress : Progress
    """
    record = dict(record)
    published = record.pop("published", ())
    theta = estimator.__dict__.get("_theta")
    ops = None if theta is None else primitives_for(theta)
    for name in ("loss_curve", "validation_scores", "validation_losses"):
        if record[name] is not None:
            record[name] = list(record[name])
    if record["best_theta"] is not None:
        record["best_theta"] = _fresh_array(record["best_theta"], ops)
    optimizer_state = record.get("optimizer_state")
    if optimizer_state is not None:
        optimizer_state = dict(optimizer_state)
        state_type = _OPTIMIZER_STATES[optimizer_state.pop("type")]
        for name in state_type.array_fields:
            optimizer_state[name] = _fresh_array(optimizer_state[name], ops)
        record["optimizer_state"] = state_type(**optimizer_state)
    progress = object.__new__(Progress)
    progress.__dict__.update(record)
    names = dict(_PUBLISHED_LISTS)
    for attribute in published:
        setattr(estimator, attribute, getattr(progress, names[attribute]))
    return progress
