"""The random state of a ``partial_fit`` call: ``RandomState(seed)``, its first
shuffle memoized.

A ``partial_fit`` call on a fitted model with an integer ``random_state``
shuffles its rows as a freshly seeded ``RandomState`` would; the permutation
is memoized, since seeding costs more than a small training step.  Every draw
after that first shuffle (another shuffle, any other distribution) must
continue ``RandomState(seed)``'s own stream exactly: the reference here is
NumPy's ``RandomState`` making the same draws.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skbp._random import MemoizedFirstShuffle

SEED = 7


def _draws(random_state, n_rows):
    """Make a sequence of draws; return what each gave.

    Parameters
    ----------
    random_state : RandomState or MemoizedFirstShuffle
        The stream to draw from.
    n_rows : int
        The length of the arrays shuffled.

    Returns
    -------
    draws : list of ndarray
        Two shuffles of ``arange(n_rows)``, then uniform floats and integers.
    """
    first, second = np.arange(n_rows), np.arange(n_rows)
    random_state.shuffle(first)
    random_state.shuffle(second)
    return [
        first,
        second,
        random_state.uniform(size=5),
        random_state.randint(0, 1000, size=5),
    ]


def test_the_memoized_stream_is_the_seeded_random_states():
    memo = {}
    for _ in range(2):  # the second time, the first shuffle comes from the memo
        expected = _draws(np.random.RandomState(SEED), 11)
        got = _draws(MemoizedFirstShuffle(SEED, memo), 11)
        for draw, reference in zip(got, expected, strict=True):
            assert_array_equal(draw, reference)
    assert list(memo) == [(SEED, 11)]


def test_a_draw_before_any_shuffle_starts_the_seeded_stream():
    memo = {}
    random_state = MemoizedFirstShuffle(SEED, memo)
    reference = np.random.RandomState(SEED)
    assert_array_equal(random_state.uniform(size=3), reference.uniform(size=3))
    # A shuffle after another draw is not the first of the stream: not memoized.
    rows, reference_rows = np.arange(9), np.arange(9)
    random_state.shuffle(rows)
    reference.shuffle(reference_rows)
    assert_array_equal(rows, reference_rows)
    assert memo == {}


@pytest.mark.parametrize("n_rows", [6, 13])
def test_the_memo_keeps_one_length_and_shuffles_2d_rows(n_rows):
    memo = {(SEED, 3): np.arange(3)}
    X = np.arange(2 * n_rows).reshape(n_rows, 2)
    expected = X.copy()
    np.random.RandomState(SEED).shuffle(expected)
    MemoizedFirstShuffle(SEED, memo).shuffle(X)
    assert_array_equal(X, expected)
    assert list(memo) == [(SEED, n_rows)]
