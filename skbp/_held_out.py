"""Held-out validation sets for early stopping: given, split off, scored."""

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split

from ._network import predict_raw_from_views
from ._primitives import primitives_for
from ._training import TrainingData


class HeldOutValidationMixin:
    """Early stopping's validation set: check a given one, or split one off.

    The estimator supplies ``_encode_targets``, ``_decode_validation_targets``,
    ``_predict_from_raw``, ``_score_function``, ``_stratify_validation`` and
    ``_fitted_attributes``, and its ``scoring`` parameter says what the
    validation score is.
    """

    def _validation_scoring(self):
        """``scoring`` checked: None, ``'loss'``, or a scorer; ValueError if none.

        Returns
        -------
        scoring : None, str or callable
            None (the estimator's ``score``), ``'loss'``, or a scorer
            ``scorer(estimator, X, y, **kwargs)``, greater is better.
        """
        if self.scoring is None or self.scoring == "loss":
            return self.scoring
        try:
            return check_scoring(self, scoring=self.scoring)
        except ValueError as error:
            raise ValueError(
                f"scoring must be None, 'loss', the name of a scikit-learn scorer "
                f"or a callable; got {self.scoring!r}. {error}"
            ) from None

    def _given_validation_set(self, X_val, y_val, sample_weight_val, *, stream=False):
        """Check that a validation set comes whole and is used; return it or None."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is provided, but X_val is not.")
            return None
        if y_val is None or X_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} is provided, but {missing} was not provided.")
        if not stream and (not self.early_stopping or self.solver == "lbfgs"):
            raise ValueError(
                "X_val and y_val are used for early stopping: pass them with "
                "early_stopping=True and solver='sgd' or 'adam' (got "
                f"early_stopping={self.early_stopping!r}, solver={self.solver!r})."
            )
        return X_val, y_val, sample_weight_val

    def _split_validation(self, data, random_state):
        """Hold out ``validation_fraction`` of the rows, as scikit-learn does.

        The split is drawn on the host, over row numbers: the same draws as
        ``train_test_split`` over the arrays themselves, so every namespace
        holds out the rows the NumPy fit holds out.  The training part is
        the caller's arrays with the training rows' numbers
        (``TrainingData.index``), not a copy of them: batches are gathered
        from the whole ``X``, as without a split (sparse ``X`` is copied, in
        CSR, whose rows are cheap to take).  The validation rows are copied
        (a tenth of the data by default).  The validation targets and
        weights stay on the host, where the score is computed.
        """
        ops = primitives_for(data.X)
        # As scikit-learn's MLP: stratify on the boolean label encoding, and only
        # for a single output (binary targets), so the same random state gives
        # the same split.
        stratify = None
        if self._stratify_validation() and data.y.shape[1] == 1:
            stratify = ops.to_host(data.y).astype(bool)
        train, held_out = train_test_split(
            np.arange(data.n_samples),
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        X_val = ops.take_rows(data.X, ops.from_host(held_out))
        y_val = ops.to_host(data.y)[held_out]
        sw_val = None
        if data.sample_weight is not None:
            sw_val = data.host_sample_weight[held_out]
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        host_sw_train = None if sw_val is None else data.host_sample_weight[train]
        for part, weights in (("training", host_sw_train), ("validation", sw_val)):
            if weights is not None and not weights.any():
                raise ValueError(
                    f"The {part} part of the early-stopping split has sample "
                    "weights that are all zero. Use a different random_state or "
                    "validation_fraction, or give more samples non-zero weights."
                )
        return self._training_part(data, train), self._validation_scorer(
            X_val, y_val, sw_val
        )

    @staticmethod
    def _training_part(data, rows):
        """The training rows of ``data``: its arrays and their numbers, or a copy.

        Dense rows are named by number; a sparse ``X`` is copied to CSR.
        """
        if not sp.issparse(data.X):
            return TrainingData(
                data.X, data.y, data.sample_weight, data.host_sample_weight, rows
            )
        ops = primitives_for(data.X)
        sample_weight = data.sample_weight
        if sample_weight is not None:
            sample_weight = ops.take_rows(sample_weight, rows)
        return TrainingData(
            ops.take_rows(data.X, rows).tocsr(),
            ops.take_rows(data.y, rows),
            sample_weight,
        )

    def _validated_validation_set(
        self, X_val, y_val, sample_weight_val, dtype, n_outputs
    ):
        """Validate a given validation set against the training data's shape.

        ``n_outputs`` is the width of the encoded training targets: a ``y_val``
        with another number of outputs is refused here, not by a metric after
        a whole epoch of training.
        """
        X_val, y_val, sample_weight_val = self._checked_arrays(
            X_val, y_val, sample_weight_val, dtype=dtype, reset=False
        )
        y_val_encoded = self._encode_targets(
            y_val,
            first_pass=False,
            incremental=True,
            dtype=primitives_for(X_val).host_dtype(X_val.dtype),
        )
        if y_val_encoded.shape[1] != n_outputs:
            raise ValueError(
                f"y_val gives {y_val_encoded.shape[1]} network output(s), but y "
                f"gives {n_outputs}: y_val must have as many columns (outputs or "
                "labels) as y."
            )
        return X_val, y_val_encoded, sample_weight_val

    def _validation_scorer(self, X_val, y_val_encoded, sample_weight):
        """``score_and_loss(theta)``: the validation score and data loss at ``theta``.

        The score is what ``scoring`` names, greater is better: the
        estimator's ``score`` for None (accuracy, R², as scikit-learn's MLP),
        minus the validation loss for ``'loss'``, else the scorer's value
        for a model that predicts with ``theta``.
        """
        y_val = self._decode_validation_targets(y_val_encoded)
        scoring = self._validation_scoring()
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if callable(scoring):
            # A scorer gets the targets and weights where X lives, as a user
            # would pass them under array-API dispatch (labels that are
            # strings stay NumPy arrays, as the predictions do).
            y_val, weights = (
                _beside(X_val, y_val),
                {name: _beside(X_val, value) for name, value in weights.items()},
            )

        def score(theta, raw, loss):
            if scoring is None:
                y_pred = self._predict_from_raw(raw)
                return self._score_function(y_val, y_pred, **weights)
            if scoring == "loss":
                return -loss
            return float(scoring(self._model_at(theta), X_val, y_val, **weights))

        def score_and_loss(theta):
            network = self._network
            coefs, intercepts = network.views(theta)
            raw = predict_raw_from_views(network.hidden, coefs, intercepts, X_val)
            # Off the host, this is the epoch's one transfer: the raw outputs.
            raw = primitives_for(raw).to_host(raw)
            if not np.isfinite(raw).all():
                return np.nan, np.nan
            prediction = network.output.link(raw, out=np.empty_like(raw))
            # The data term of the objective, without the L2 penalty.
            loss = network.output.loss(y_val_encoded, raw, prediction, sample_weight)
            return score(theta, raw, loss), loss

        return score_and_loss

    def _model_at(self, theta):
        """A shallow copy of this estimator that predicts with ``theta``.

        Built from ``__dict__``, not with :func:`copy.copy`, which would go
        through the pickled state.  The copy's ``coefs_`` are views of
        ``theta``: a scorer reads them before training moves on.
        """
        model = object.__new__(type(self))
        model.__dict__.update(self.__dict__)
        model.__dict__.update(self._fitted_attributes(theta))
        return model


def _beside(X, array):
    """``array`` (NumPy, numeric) moved to ``X``'s namespace and device."""
    ops = primitives_for(X)
    if (
        ops.is_numpy
        or not isinstance(array, np.ndarray)
        or array.dtype.kind not in "biuf"
    ):
        return array
    return ops.from_host(array)
