"""The flat parameter vector and its published views, pickling included."""

import numpy as np

from ._primitives import NUMPY, primitives_for
from ._validation import is_same_view


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
        if "_theta" in state and "_network" in state and "coefs_" not in state:
            self.coefs_, self.intercepts_ = self._network.views(self._theta)
            self._published_views = (*self.coefs_, *self.intercepts_)
