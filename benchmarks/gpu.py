"""skbp on a torch device against a hand-written PyTorch loop and scikit-learn.

One configuration, three contenders, the same data and architecture, Adam,
float32, interleaved in this one process (skbp, torch loop, scikit-learn,
then again in the next order ...), reported as the median seconds per epoch
and as ratios:

- **skbp**: ``BackpropClassifier(solver="adam")`` fitted on torch tensors
  inside ``sklearn.config_context(array_api_dispatch=True)``;
- **torch loop**: what a PyTorch user writes by hand (``nn.Sequential`` of
  ``Linear`` and ``ReLU``, cross-entropy, ``torch.optim.Adam``, the same L2
  penalty on the weights, shuffled minibatches gathered on the device);
- **scikit-learn**: ``MLPClassifier`` on NumPy float32 arrays, on the CPU.

The default configuration on a CUDA device is the one of issue 10: 200,000
x 784, hidden layers (1024, 1024), 10 classes, batches of 1024.  Without a
GPU it runs on the CPU at a smaller size (``--rows``, ``--hidden``), where
the point is to exercise the script, not to race the hardware.

Run from the repository root (torch installed)::

    python benchmarks/gpu.py                  # CUDA if present, else CPU
    python benchmarks/gpu.py --device cpu --rows 20000 --hidden 256 256

Timings are not tests: nothing here asserts a speed.
"""

import os

# scikit-learn's array-API dispatch needs scipy's array-API mode, read when
# scipy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import skbp
from skbp import BackpropClassifier

N_FEATURES = 784
N_CLASSES = 10
ALPHA = 1e-4
LEARNING_RATE = 1e-3


def make_data(n_samples, seed=0):
    """Random float32 inputs and labels from a fixed random linear teacher."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, N_FEATURES), dtype=np.float32)
    teacher = rng.standard_normal((N_FEATURES, N_CLASSES), dtype=np.float32)
    y = np.argmax(X @ teacher, axis=1)
    return X, y


def _synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _estimator_settings(hidden, batch_size, epochs):
    return dict(
        hidden_layer_sizes=hidden,
        solver="adam",
        alpha=ALPHA,
        batch_size=batch_size,
        learning_rate_init=LEARNING_RATE,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,  # every epoch runs: the same work for all
        random_state=0,
    )


def time_skbp(X_device, y_device, hidden, batch_size, epochs):
    """Seconds per epoch of skbp's fit on the device tensors."""
    estimator = BackpropClassifier(**_estimator_settings(hidden, batch_size, epochs))
    _synchronize(X_device.device)
    start = time.perf_counter()
    with sklearn.config_context(array_api_dispatch=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_device, y_device)
    _synchronize(X_device.device)
    return (time.perf_counter() - start) / estimator.n_iter_, estimator.loss_


def _torch_network(n_features, hidden, n_classes, device):
    layers, fan_in = [], n_features
    for width in hidden:
        layers += [torch.nn.Linear(fan_in, width), torch.nn.ReLU()]
        fan_in = width
    layers.append(torch.nn.Linear(fan_in, n_classes))
    return torch.nn.Sequential(*layers).to(device=device, dtype=torch.float32)


def time_torch_loop(X_device, y_device, hidden, batch_size, epochs):
    """Seconds per epoch of a hand-written PyTorch training loop."""
    device = X_device.device
    torch.manual_seed(0)
    network = _torch_network(X_device.shape[1], hidden, N_CLASSES, device)
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    weights = [p for name, p in network.named_parameters() if name.endswith("weight")]
    n_samples = X_device.shape[0]
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n_samples, device=device)
        total = torch.zeros((), device=device)
        for begin in range(0, n_samples, batch_size):
            rows = order[begin : begin + batch_size]
            X_batch, y_batch = X_device[rows], y_device[rows]
            loss = torch.nn.functional.cross_entropy(network(X_batch), y_batch)
            # scikit-learn's penalty: alpha / (2 n_batch) * sum of squared weights
            penalty = sum((w * w).sum() for w in weights)
            loss = loss + ALPHA / (2 * X_batch.shape[0]) * penalty
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * X_batch.shape[0]
        last_loss = float(total) / n_samples  # one sync per epoch, as skbp's
    _synchronize(device)
    return (time.perf_counter() - start) / epochs, last_loss


def time_sklearn(X, y, hidden, batch_size, epochs):
    """Seconds per epoch of scikit-learn's MLP on the CPU."""
    estimator = MLPClassifier(**_estimator_settings(hidden, batch_size, epochs))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return (time.perf_counter() - start) / estimator.n_iter_, estimator.loss_


def _describe(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--hidden", type=int, nargs="+", default=None)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    on_gpu = device.type != "cpu"
    rows = args.rows or (200_000 if on_gpu else 20_000)
    hidden = tuple(args.hidden or ((1024, 1024) if on_gpu else (256, 256)))

    X, y = make_data(rows)
    X_device = torch.asarray(X, device=device)
    y_device = torch.asarray(y, device=device)
    contenders = {
        "skbp": lambda: time_skbp(
            X_device, y_device, hidden, args.batch_size, args.epochs
        ),
        "torch loop": lambda: time_torch_loop(
            X_device, y_device, hidden, args.batch_size, args.epochs
        ),
    }
    if not args.skip_sklearn:
        contenders["scikit-learn (CPU)"] = lambda: time_sklearn(
            X, y, hidden, args.batch_size, args.epochs
        )

    print(
        f"skbp {skbp.__version__}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}; device: {_describe(device)}; "
        f"torch CPU threads {torch.get_num_threads()}, os.cpu_count {os.cpu_count()}"
    )
    print(
        f"data {rows} x {N_FEATURES} float32, hidden {hidden}, batch "
        f"{args.batch_size}, Adam, {args.epochs} epochs per fit, "
        f"{args.repeats} interleaved repeats; load before: {os.getloadavg()}"
    )
    contenders["skbp"]()  # warm up: CUDA context, kernels, allocator
    seconds = {name: [] for name in contenders}
    losses = {}
    names = list(contenders)
    for repeat in range(args.repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for name in order:
            per_epoch, losses[name] = contenders[name]()
            seconds[name].append(per_epoch)
    print(f"load after: {os.getloadavg()}\n")
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    print(f"{'':20s} {'s / epoch':>10s} {'vs torch loop':>14s} {'last loss':>10s}")
    for name in names:
        ratio = medians[name] / medians["torch loop"]
        print(f"{name:20s} {medians[name]:10.3f} {ratio:13.2f}x {losses[name]:10.4f}")


if __name__ == "__main__":
    main()
