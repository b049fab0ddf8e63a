"""Out-of-core learning with ``partial_fit`` and stream early stopping
====================================================================

:class:`skbp.BackpropClassifier` learns from a data set too large to hold in
memory one chunk at a time, with ``partial_fit``. Given a small held-out set,
``partial_fit`` also watches the stream: it scores the held-out set after
each chunk, keeps the best weights, and says when to stop reading. This
example prints how many chunks were read, the best validation accuracy and
the accuracy on a separate test set.
"""

import numpy as np

from skbp import BackpropClassifier

# %%
# A stream of chunks
# ------------------
#
# A large data set is simulated by a generator that draws it lazily, one
# chunk of rows at a time: up to 400 chunks of 500 rows, 200,000 rows in all,
# of which only one chunk exists at any moment. The labels come from a fixed
# random "teacher" network, so every chunk follows the same distribution.

N_FEATURES = 20
CLASSES = np.array([0, 1, 2])
CHUNK_SIZE = 500
MAX_CHUNKS = 400


def make_teacher(seed=0):
    """Draw the fixed random weights of the network whose outputs label the data.

    Parameters
    ----------
    seed : int, default=0
        Seed of the weights.

    Returns
    -------
    W1, W2 : ndarray
        Weights of the teacher's hidden and output layers.
    """
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(N_FEATURES, 8)) / np.sqrt(N_FEATURES)
    W2 = rng.normal(size=(8, len(CLASSES)))
    return W1, W2


def draw(rng, n_rows, teacher):
    """Draw ``n_rows`` fresh samples of the data set, labelled by the teacher.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the features and of the label noise.
    n_rows : int
        Number of samples.
    teacher : tuple of ndarray
        The teacher's weights, from :func:`make_teacher`.

    Returns
    -------
    X : ndarray of shape (n_rows, N_FEATURES)
        Features.
    y : ndarray of shape (n_rows,)
        Labels, from ``CLASSES``.
    """
    W1, W2 = teacher
    X = rng.normal(size=(n_rows, N_FEATURES))
    scores = np.tanh(X @ W1) @ W2 + rng.normal(scale=0.3, size=(n_rows, len(CLASSES)))
    return X, CLASSES[np.argmax(scores, axis=1)]


def stream(teacher, seed=1):
    """Yield the chunks of the large data set, each drawn only when asked for.

    Parameters
    ----------
    teacher : tuple of ndarray
        The teacher's weights, from :func:`make_teacher`.
    seed : int, default=1
        Seed of the stream.

    Yields
    ------
    X_chunk, y_chunk : ndarray
        ``CHUNK_SIZE`` rows and their labels.
    """
    rng = np.random.default_rng(seed)
    for _ in range(MAX_CHUNKS):
        yield draw(rng, CHUNK_SIZE, teacher)


# %%
# A held-out set to watch the stream
# ----------------------------------
#
# A small validation set for monitoring and a separate test set, drawn from
# the same distribution as the stream with seeds of their own.

teacher = make_teacher()
X_val, y_val = draw(np.random.default_rng(2), 2000, teacher)
X_test, y_test = draw(np.random.default_rng(3), 5000, teacher)

# %%
# Training chunk by chunk
# -----------------------
#
# Each ``partial_fit(X, y, classes=..., X_val=X_val, y_val=y_val)`` call runs
# one epoch over the chunk, then scores the held-out set (appending to
# ``validation_scores_`` and ``validation_loss_curve_``) and keeps the best
# weights seen so far. Once the score has not improved by more than ``tol``
# for ``n_iter_no_change`` calls in a row, it restores the best weights and
# sets ``early_stopped_``, and the loop stops reading the stream.

model = BackpropClassifier(
    hidden_layer_sizes=(32,),
    learning_rate_init=0.01,
    # Patience: stop once 5 chunks in a row have not raised the validation
    # accuracy by more than tol (0.1 percentage points).
    n_iter_no_change=5,
    tol=1e-3,
    random_state=0,
)

n_chunks = 0
for X_chunk, y_chunk in stream(teacher):
    # classes is needed on the first call, since a chunk may lack some.
    model.partial_fit(X_chunk, y_chunk, classes=CLASSES, X_val=X_val, y_val=y_val)
    n_chunks += 1
    if model.early_stopped_:
        # The best weights are already restored; stop reading the stream.
        break

# %%
# Where the stream was cut
# ------------------------

best_chunk = int(np.argmax(model.validation_scores_)) + 1
if model.early_stopped_:
    print(
        f"Stopped early after {n_chunks} of {MAX_CHUNKS} chunks "
        f"({n_chunks * CHUNK_SIZE:,} rows)."
    )
else:
    print(f"Used all {n_chunks} chunks without early stopping.")
print(
    f"Best validation accuracy: {model.best_validation_score_:.4f} "
    f"(after chunk {best_chunk}; those weights are kept)"
)
print("Validation accuracy after each chunk:")
scores = model.validation_scores_
for start in range(0, len(scores), 10):
    print("  " + " ".join(f"{s:.3f}" for s in scores[start : start + 10]))
print(f"Test accuracy on 5,000 unseen rows: {model.score(X_test, y_test):.4f}")
