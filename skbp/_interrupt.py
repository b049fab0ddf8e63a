"""Ctrl-C during training: stop between steps, never inside one."""

import signal
import threading

try:
    # The C functions under signal.signal and signal.getsignal, without the
    # enum conversions that make those cost more than a 32-row partial_fit's
    # step (they are called twice per training call).
    import _signal as _signals
except ImportError:  # pragma: no cover - an interpreter without it
    _signals = signal

# The code of functions that a second Ctrl-C must not cut (see uninterruptible).
_UNINTERRUPTIBLE = set()


def uninterruptible(function):
    """Mark ``function`` as one a second Ctrl-C must not cut; return it.

    An atomic section covers the lines between its ``begin_atomic`` and
    ``end_atomic`` calls; bookkeeping that must also hold at its own edges
    (a count taken in one call and given back in another, in a ``finally``
    that an exception on its first line would skip) marks its functions
    instead.  While one of them is on the stack, :class:`GracefulInterrupt`
    holds a second Ctrl-C as it does inside an atomic section (a first one
    only sets :attr:`~GracefulInterrupt.requested` anyway), to be raised by
    the next :meth:`~GracefulInterrupt.end_atomic` or :meth:`check`.
    """
    _UNINTERRUPTIBLE.add(function.__code__)
    return function


def _in_uninterruptible(frame):
    """Whether ``frame`` or a frame that called it runs uninterruptible code."""
    while frame is not None:
        if frame.f_code in _UNINTERRUPTIBLE:
            return True
        frame = frame.f_back
    return False


class GracefulInterrupt:
    """Turn Ctrl-C during training into a stop at a completed step.

    Within the ``with`` block (in the main thread, where Python's default
    SIGINT handler is installed) the first Ctrl-C only sets
    :attr:`requested`, and :meth:`check`, called between steps and after
    each epoch's bookkeeping, raises ``KeyboardInterrupt`` there.  A second
    Ctrl-C raises at once, for a user who wants out regardless, except inside
    an *atomic* section (between :meth:`begin_atomic` and :meth:`end_atomic`:
    an optimizer update, an epoch's bookkeeping), where it is held until the
    section ends.  So every ``KeyboardInterrupt`` the handler raises leaves
    the weights, the optimizer state and the bookkeeping at a completed step.

    A ``KeyboardInterrupt`` from elsewhere (a handler of the user's, a worker
    thread's default one) may still land inside an atomic section;
    :attr:`torn` then says so, and the caller must not keep that state.
    Outside the main thread, or under a SIGINT handler of the user's, the
    block installs nothing.  The handler puts Python's default one back
    before it raises, since the exception may land where ``__exit__`` does
    not run (inside ``__enter__`` or ``__exit__`` themselves).
    """

    def __init__(self):
        self.requested = False
        self._depth = 0
        self._held = False
        self._installed = False

    def __enter__(self):
        in_main_thread = threading.current_thread() is threading.main_thread()
        if (
            in_main_thread
            and _signals.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._installed = True
            _signals.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc_info):
        self._uninstall()
        return False

    def _uninstall(self):
        # Python's default handler was the one in force (see __enter__).
        if self._installed:
            _signals.signal(signal.SIGINT, signal.default_int_handler)
            self._installed = False

    def _on_sigint(self, signum, frame):
        if not self.requested:
            self.requested = True
        elif self._depth or _in_uninterruptible(frame):
            self._held = True  # raised by end_atomic (check raises anyway)
        else:
            # Out at once.  The handler goes first: the exception may land
            # where __exit__ will not run (inside __enter__ or __exit__).
            self._uninstall()
            raise KeyboardInterrupt

    def begin_atomic(self):
        """Start a section that a second Ctrl-C must not cut in two."""
        self._depth += 1

    def end_atomic(self):
        """End the section; raise a second Ctrl-C that arrived inside it."""
        self._depth -= 1
        if self._held and not self._depth:
            self._held = False
            self._uninstall()
            raise KeyboardInterrupt

    @property
    def torn(self):
        """Whether a ``KeyboardInterrupt`` escaped from an atomic section."""
        return self._depth > 0

    def check(self):
        """Raise ``KeyboardInterrupt`` if a Ctrl-C came since the last check."""
        if self.requested:
            raise KeyboardInterrupt
