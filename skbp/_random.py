"""The random state of ``partial_fit`` calls, with the first shuffle memoized."""

import numpy as np


class MemoizedFirstShuffle:
    """``RandomState(seed)`` for a caller that draws one shuffle, memoized.

    :meth:`shuffle` permutes as a freshly seeded ``RandomState`` would, taking
    the permutation from ``memo`` (keyed by seed and length) when it is there.
    Any further draw gets a real ``RandomState`` advanced past that first
    shuffle, so the stream is exactly that of ``RandomState(seed)``.
    """

    def __init__(self, seed, memo):
        self._seed = seed
        self._memo = memo
        self._first_length = None
        self._state = None

    def shuffle(self, array):
        """Shuffle ``array`` in place along its first axis."""
        if self._first_length is not None or self._state is not None:
            return self._advanced().shuffle(array)
        n = len(array)
        key = (self._seed, n)
        if key not in self._memo:
            permutation = np.arange(n)
            np.random.RandomState(self._seed).shuffle(permutation)
            self._memo.clear()  # one size per stream, typically
            self._memo[key] = permutation
        array[...] = array[self._memo[key]]
        self._first_length = n

    def _advanced(self):
        if self._state is None:
            self._state = np.random.RandomState(self._seed)
            if self._first_length is not None:
                self._state.shuffle(np.arange(self._first_length))
        return self._state

    def __getattr__(self, name):
        # Any other draw (uniform, randint, ...) continues the real stream.
        return getattr(self._advanced(), name)
