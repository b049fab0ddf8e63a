"""Learning-rate schedules, kept out of the optimizers.

Each schedule answers two questions at the end of an epoch: what the learning
rate is now (:meth:`after_epoch`), and, when the loss or validation score has
stalled, whether to stop or carry on with a new rate (:meth:`on_stall`).
Their rules are those of scikit-learn's MLP ``learning_rate`` parameter.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    """Keep ``learning_rate_init`` throughout; stop when training stalls."""

    learning_rate_init: float

    def after_epoch(self, learning_rate, n_samples_seen):
        """Return the learning rate for the next epoch."""
        return learning_rate

    def on_stall(self, learning_rate):
        """Return ``(stop, learning_rate)`` when training has stalled."""
        return True, learning_rate


@dataclass(frozen=True)
class InvScaling(Constant):
    """``learning_rate_init / (t + 1) ** power_t``, ``t`` the samples seen."""

    power_t: float = 0.5

    def after_epoch(self, learning_rate, n_samples_seen):
        """Return the learning rate for the next epoch."""
        return float(self.learning_rate_init) / (n_samples_seen + 1) ** self.power_t


@dataclass(frozen=True)
class Adaptive(Constant):
    """Divide the rate by 5 each time training stalls; stop below 1e-6."""

    def on_stall(self, learning_rate):
        """Return ``(stop, learning_rate)`` when training has stalled."""
        if learning_rate <= 1e-6:
            return True, learning_rate
        return False, learning_rate / 5.0


def make_schedule(name, learning_rate_init, power_t):
    """Return the schedule called ``name``.

    Parameters
    ----------
    name : {'constant', 'invscaling', 'adaptive'}
        The estimators' ``learning_rate`` parameter.
    learning_rate_init : float
        Initial learning rate.
    power_t : float
        Exponent of ``'invscaling'``.

    Returns
    -------
    schedule : Constant
    """
    if name == "invscaling":
        return InvScaling(learning_rate_init, power_t)
    if name == "adaptive":
        return Adaptive(learning_rate_init)
    return Constant(learning_rate_init)
