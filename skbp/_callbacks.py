"""Adapter from the training drivers to scikit-learn's callback API."""

from ._primitives import copy_array


class CallbackTasks:
    """Report a fit and its epochs (or L-BFGS iterations) to sklearn callbacks.

    The root task is the ``fit`` or ``partial_fit`` call; each epoch or
    iteration is a subtask.  A callback that needs the model as it is after a
    subtask (``ScoringMonitor``) gets a copy of the estimator holding copies of
    the weights of that moment, built only if asked for.
    """

    def __init__(self, estimator, X, y, *, task_name, subtask_name, max_subtasks):
        self._estimator = estimator
        self._X, self._y = X, y
        self._subtask_name = subtask_name
        self._root = estimator._init_callback_context(
            task_name=task_name, max_subtasks=max_subtasks
        )
        self._root.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        self._subtask = None

    def _model_at(self, theta):
        return lambda: self._estimator._fitted_attributes(copy_array(theta))

    def begin(self):
        """Begin the next subtask."""
        self._subtask = self._root.subcontext(task_name=self._subtask_name)
        self._subtask.call_on_fit_task_begin(
            estimator=self._estimator, X=self._X, y=self._y
        )

    def end(self, theta):
        """End the subtask; return True if a callback asks to stop."""
        return self._subtask.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            reconstruction_attributes=self._model_at(theta),
        )

    def finish(self, theta):
        """End the root task with the final weights."""
        self._root.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            reconstruction_attributes=self._model_at(theta),
        )
