"""Out-of-core learning: partial_fit over a stream, with stream early stopping.

A data set too large to hold in memory is simulated by a generator that
draws it lazily, one chunk of rows at a time (up to 400 chunks of 500 rows,
200,000 rows in all; only one chunk exists at any moment). The labels come
from a fixed random "teacher" network, so every chunk follows the same
distribution.

``BackpropClassifier.partial_fit`` trains on each chunk in turn (one epoch
over the chunk). Passing a small held-out set, ``partial_fit(X, y,
classes=..., X_val=X_val, y_val=y_val)``, monitors the stream: after each
call the held-out set is scored (appended to ``validation_scores_`` and
``validation_loss_curve_``) and the best weights are kept. Once the score
has not improved by more than ``tol`` for ``n_iter_no_change`` consecutive
calls, the best weights are restored and ``early_stopped_`` becomes True, and
the loop stops reading the stream.

Prints how many chunks were used, the best validation accuracy and the
accuracy on a separate test set.

Run with ``python examples/out_of_core.py``.
"""

import numpy as np

from skbp import BackpropClassifier

N_FEATURES = 20
CLASSES = np.array([0, 1, 2])
CHUNK_SIZE = 500
MAX_CHUNKS = 400


def make_teacher(seed=0):
    """Fixed random weights of the network whose outputs label the data."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(N_FEATURES, 8)) / np.sqrt(N_FEATURES)
    W2 = rng.normal(size=(8, len(CLASSES)))
    return W1, W2


def draw(rng, n_rows, teacher):
    """``n_rows`` fresh samples of the data set, labelled by the teacher."""
    W1, W2 = teacher
    X = rng.normal(size=(n_rows, N_FEATURES))
    scores = np.tanh(X @ W1) @ W2 + rng.normal(scale=0.3, size=(n_rows, len(CLASSES)))
    return X, CLASSES[np.argmax(scores, axis=1)]


def stream(teacher, seed=1):
    """Yield the chunks of the large data set, generated only when asked for."""
    rng = np.random.default_rng(seed)
    for _ in range(MAX_CHUNKS):
        yield draw(rng, CHUNK_SIZE, teacher)


def main():
    teacher = make_teacher()
    # A small held-out set for monitoring and a separate test set, drawn from
    # the same distribution as the stream with seeds of their own.
    X_val, y_val = draw(np.random.default_rng(2), 2000, teacher)
    X_test, y_test = draw(np.random.default_rng(3), 5000, teacher)

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


if __name__ == "__main__":
    main()
