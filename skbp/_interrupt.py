"""Ctrl-C during training: stop between steps, never inside one."""

import signal
import threading


class GracefulInterrupt:
    """Turn the first Ctrl-C during training into a stop after the current step.

    Within the ``with`` block (in the main thread, where Python's default
    SIGINT handler is installed) a Ctrl-C only sets :attr:`requested`, and
    :meth:`check`, called between steps, raises ``KeyboardInterrupt`` there:
    the weights and the optimizer state are never left half-updated.  A
    second Ctrl-C raises at once, for a user who wants out regardless.
    Elsewhere the block changes nothing and a Ctrl-C raises as usual.
    """

    def __init__(self):
        self.requested = False
        self._previous_handler = None

    def __enter__(self):
        in_main_thread = threading.current_thread() is threading.main_thread()
        if (
            in_main_thread
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc_info):
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None
        return False

    def _on_sigint(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        """Raise ``KeyboardInterrupt`` if a Ctrl-C came since the last step."""
        if self.requested:
            raise KeyboardInterrupt
