"""Fits at scale: time and peak memory of skbp, scikit-learn and a PyTorch loop.

Three fits, each on two data sets of float32 inputs and 10 classes, hidden
layer (128,), ``random_state=0``:

- **adam-early-stopping**: one epoch of Adam, ``batch_size=512``,
  ``early_stopping=True`` (10% of the rows held out, scored after the epoch);
- **lbfgs**: five L-BFGS iterations over the full batch (``max_iter=5``);
- **sgd-per-example**: one epoch of SGD with ``batch_size=1`` (Nesterov
  momentum 0.9, scikit-learn's defaults) over the first 20,000 rows only;

for three contenders: ``BackpropClassifier``, scikit-learn's
``MLPClassifier`` with the same parameters, and what a PyTorch user writes
by hand on the CPU (``nn.Linear``-``ReLU``-``nn.Linear``, cross-entropy,
``torch.optim.Adam`` / ``LBFGS`` / ``SGD`` with scikit-learn's
hyperparameters and L2 penalty, batches gathered by index from
``torch.from_numpy(X)``, which shares the array's memory).

The data sets are 1,000,000 x 100 (381 MiB) and an MNIST-sized 200,000 x
784 (598 MiB), random normal inputs labelled by a fixed random linear map
(the argmax of ``X @ teacher``): cheap to make, deterministic, learnable.

Every fit runs in a fresh process of its own (this script with
``--worker``), so that its peak memory is its own: the worker makes the
data, fits a copy of its first 1,000 rows (200 for per-example SGD) so that
the libraries' one-off lazy set-up is not counted (torch's is about 80 MiB),
resets the kernel's peak-RSS counter (``/proc/self/clear_refs``), fits once
on all the rows and records the peak growth of the resident set over what it was
before the fit (VmHWM after - VmRSS before), as a multiple of the size of X
and in MiB, and the time of that first fit; then it fits again in the same
process and reports that warm time as the time.  (On a virtual machine the
first touch of fresh memory can be slow: one Adam epoch on 200,000 rows took
6.4 s first and 0.18 s next in one process.)  The contenders are
interleaved, skbp, scikit-learn, torch, then torch, scikit-learn, skbp, ...;
the table reports the median warm time of each, the medians of the
repeat-by-repeat ratios skbp / scikit-learn and skbp / torch, the median
peak growth over the data's size, and the accuracy and loss each fit
reached (the speed must not come from doing less).  BLAS and torch threads
are left at their defaults and printed (``--torch-threads`` sets torch's:
on a machine loaded by other work, torch's default pool of one thread a core
made its small per-example steps over ten times slower).

Run from the repository root (torch installed)::

    python benchmarks/scale.py                  # the full run: long, a quiet machine
    python benchmarks/scale.py --quick          # a smoke run at a small size
    python benchmarks/scale.py --cases lbfgs --datasets mnist --repeats 5

Timings are not tests: nothing here asserts a speed.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import sklearn
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import skbp
from skbp import BackpropClassifier

N_CLASSES = 10
HIDDEN = (128,)
ALPHA = 1e-4  # scikit-learn's default L2 penalty
ADAM_BATCH = 512
LBFGS_ITERATIONS = 5
MIB = 2**20

# name: (rows, features), full size and --quick
DATASETS = {"1m": (1_000_000, 100), "mnist": (200_000, 784)}
QUICK_DATASETS = {"1m": (20_000, 100), "mnist": (5_000, 784)}
SGD_ROWS, QUICK_SGD_ROWS = 20_000, 1_000

CASES = {
    "adam-early-stopping": dict(
        solver="adam",
        batch_size=ADAM_BATCH,
        max_iter=1,
        early_stopping=True,
    ),
    "lbfgs": dict(solver="lbfgs", max_iter=LBFGS_ITERATIONS),
    "sgd-per-example": dict(solver="sgd", batch_size=1, max_iter=1),
}
LIBRARIES = ("skbp", "sklearn", "torch")
LABELS = {"skbp": "skbp", "sklearn": "scikit-learn", "torch": "torch loop"}


# ------------------------------------------------------------------ data


def make_data(n_samples, n_features, seed=0):
    """Random normal float32 inputs labelled by a fixed random linear map."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features), dtype=np.float32)
    teacher = rng.standard_normal((n_features, N_CLASSES), dtype=np.float32)
    y = np.argmax(X @ teacher, axis=1)
    return X, y


def worker_data(case, dataset, quick):
    rows, features = (QUICK_DATASETS if quick else DATASETS)[dataset]
    X, y = make_data(rows, features)
    if case == "sgd-per-example":
        # The first rows only, copied so that the rest of the data set is freed.
        keep = QUICK_SGD_ROWS if quick else SGD_ROWS
        X, y = X[:keep].copy(), y[:keep].copy()
    return X, y


# ------------------------------------------------------------ the fits
#
# Each fit function does the timed work once and returns a function giving
# (metric name, accuracy, loss, iterations), called after the timings.


def fit_estimator(lib, case, X, y):
    cls = BackpropClassifier if lib == "skbp" else MLPClassifier
    model = cls(hidden_layer_sizes=HIDDEN, random_state=0, **CASES[case]).fit(X, y)

    def quality():
        if case == "adam-early-stopping":
            accuracy = ("validation accuracy", float(model.validation_scores_[-1]))
        else:
            accuracy = ("training accuracy", float(model.score(X, y)))
        return (*accuracy, float(model.loss_), int(model.n_iter_))

    return quality


def _torch_network(n_features):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, HIDDEN[0]),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN[0], N_CLASSES),
    )


def _weights_and_biases(network):
    weights = [p for name, p in network.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in network.named_parameters() if name.endswith("bias")]
    return weights, biases


def _squared_weights(weights):
    return sum(float((w.detach() ** 2).sum()) for w in weights)


def _torch_accuracy(network, X_t, y_t, rows=None, chunk=65_536):
    """Accuracy on ``rows`` of the tensors (all by default), a chunk at a time."""
    import torch

    n = X_t.shape[0] if rows is None else rows.shape[0]
    correct = 0
    with torch.no_grad():
        for begin in range(0, n, chunk):
            index = slice(begin, begin + chunk)
            if rows is not None:
                index = rows[index]
            X_chunk, y_chunk = X_t[index], y_t[index]
            correct += int((network(X_chunk).argmax(dim=1) == y_chunk).sum())
    return correct / n


def fit_torch_adam(X, y):
    """One epoch of Adam, 10% held out and scored after the epoch."""
    import torch

    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)  # no copies
    network = _torch_network(X.shape[1])
    weights, biases = _weights_and_biases(network)
    # scikit-learn's penalty alpha / (2 n_batch) * ||W||^2 on the weights (not
    # the biases) adds alpha / n_batch * W to their gradient, before Adam's
    # moments: torch's (coupled) weight_decay, per parameter group.
    optimizer = torch.optim.Adam(
        [
            {"params": weights, "weight_decay": ALPHA / ADAM_BATCH},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    n_samples = X.shape[0]
    n_validation = -(-n_samples // 10)  # ceil, as train_test_split(test_size=0.1)
    order = torch.randperm(n_samples)
    validation, train = order[:n_validation], order[n_validation:]
    total = torch.zeros(())
    for begin in range(0, train.shape[0], ADAM_BATCH):
        rows = train[begin : begin + ADAM_BATCH]
        loss = torch.nn.functional.cross_entropy(network(X_t[rows]), y_t[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * rows.shape[0]
    accuracy = _torch_accuracy(network, X_t, y_t, validation)
    # scikit-learn's loss_: the epoch's mean loss, its L2 term included.
    penalty = ALPHA / (2 * ADAM_BATCH) * _squared_weights(weights)
    loss = float(total) / train.shape[0] + penalty
    return lambda: ("validation accuracy", accuracy, loss, 1)


def fit_torch_lbfgs(X, y):
    """torch.optim.LBFGS over the full batch, set as scipy's L-BFGS-B in sklearn."""
    import torch

    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    network = _torch_network(X.shape[1])
    weights, _ = _weights_and_biases(network)
    optimizer = torch.optim.LBFGS(
        network.parameters(),
        lr=1.0,
        max_iter=LBFGS_ITERATIONS,
        max_eval=15_000,  # scikit-learn's max_fun: the iterations bound the work
        tolerance_grad=1e-4,  # scikit-learn's tol, passed to scipy as gtol
        history_size=10,  # scipy's maxcor
        line_search_fn="strong_wolfe",  # scipy's line search, not a fixed step
    )
    n_samples = X.shape[0]

    def objective():
        # scikit-learn's full-batch objective: mean cross-entropy plus
        # alpha / (2 n) * ||W||^2 on the weights.
        loss = torch.nn.functional.cross_entropy(network(X_t), y_t)
        return loss + ALPHA / (2 * n_samples) * sum((w * w).sum() for w in weights)

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = objective()
        loss.backward()
        return loss

    optimizer.step(closure)
    state = optimizer.state[next(iter(network.parameters()))]

    def quality():
        with torch.no_grad():
            loss = float(objective())
        accuracy = _torch_accuracy(network, X_t, y_t)
        return "training accuracy", accuracy, loss, int(state["n_iter"])

    return quality


def fit_torch_sgd(X, y):
    """One epoch of per-example SGD with Nesterov momentum, as scikit-learn's."""
    import torch

    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    network = _torch_network(X.shape[1])
    weights, biases = _weights_and_biases(network)
    # With batches of one row, scikit-learn's L2 gradient is alpha * W.
    optimizer = torch.optim.SGD(
        [
            {"params": weights, "weight_decay": ALPHA},
            {"params": biases, "weight_decay": 0.0},
        ],
        lr=1e-3,
        momentum=0.9,
        nesterov=True,
    )
    total = torch.zeros(())
    for row in torch.randperm(X.shape[0]).tolist():
        loss = torch.nn.functional.cross_entropy(
            network(X_t[row : row + 1]), y_t[row : row + 1]
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    penalty = ALPHA / 2 * _squared_weights(weights)
    loss = float(total) / X.shape[0] + penalty

    def quality():
        return "training accuracy", _torch_accuracy(network, X_t, y_t), loss, 1

    return quality


TORCH_FITS = {
    "adam-early-stopping": fit_torch_adam,
    "lbfgs": fit_torch_lbfgs,
    "sgd-per-example": fit_torch_sgd,
}


# ------------------------------------------------------------ the worker


def _memory_kib():
    """VmRSS and VmHWM (the peak since the last reset) of this process, KiB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(value.split()[0])
    return values["VmRSS"], values["VmHWM"]


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _measured_fit(fit):
    """Run ``fit()``: its seconds, its peak RSS growth in bytes, its quality."""
    gc.collect()
    _reset_peak()
    before, _ = _memory_kib()
    start = time.perf_counter()
    quality = fit()
    seconds = time.perf_counter() - start
    _, peak = _memory_kib()
    return seconds, (peak - before) * 1024, quality


def worker(lib, case, dataset, quick, torch_threads=None):
    """One fit, then the same fit again, in this fresh process; JSON to stdout."""
    warnings.simplefilter("ignore", ConvergenceWarning)
    if lib == "torch":
        import torch  # imported before the measurements

        if torch_threads:
            torch.set_num_threads(torch_threads)
        fit = TORCH_FITS[case]
    else:
        fit = lambda X, y: fit_estimator(lib, case, X, y)  # noqa: E731
    X, y = worker_data(case, dataset, quick)
    # A small fit first, on copies of a few rows: the libraries' one-off lazy
    # set-up (torch's is about 80 MiB) is then not counted in the first fit.
    # (More rows than a batch of Adam; fewer steps of per-example SGD.)
    rows = 200 if case == "sgd-per-example" else 1_000
    fit(X[:rows].copy(), y[:rows].copy())
    first, peak, quality = _measured_fit(lambda: fit(X, y))
    del quality
    warm, peak_warm, quality = _measured_fit(lambda: fit(X, y))
    metric, accuracy, loss, n_iter = quality()
    result = dict(
        lib=lib,
        case=case,
        dataset=dataset,
        rows=X.shape[0],
        features=X.shape[1],
        data_mib=X.nbytes / MIB,
        first_s=first,
        warm_s=warm,
        peak_mib=peak / MIB,
        peak_over_data=peak / X.nbytes,
        peak_warm_mib=peak_warm / MIB,
        metric=metric,
        accuracy=accuracy,
        loss=loss,
        n_iter=n_iter,
    )
    print(json.dumps(result))


def run_worker(lib, case, dataset, quick, torch_threads=None):
    command = [sys.executable, __file__, "--worker", lib, case, dataset]
    if quick:
        command.append("--quick")
    if torch_threads:
        command += ["--torch-threads", str(torch_threads)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"worker {lib} {case} {dataset} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------ reporting


def machine_description():
    import torch  # after it, threadpoolctl sees torch's thread pools too

    pools = [
        f"{info['internal_api']} {info.get('version')} ({info['num_threads']} threads)"
        for info in threadpoolctl.threadpool_info()
    ]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(ln for ln in cpuinfo if ln.startswith("model name"))
            cpu = cpu.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as meminfo:
        memory = int(next(meminfo).split()[1]) * 1024 / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.1f} GiB; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, skbp {skbp.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); thread pools: {', '.join(pools)}"
    )


def _load():
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)"


def _progress(result):
    return (
        f"{result['case']:20s} {result['dataset']:6s} {result['lib']:8s} "
        f"first {result['first_s']:8.3f} s, warm {result['warm_s']:8.3f} s, "
        f"peak +{result['peak_mib']:7.1f} MiB ({result['peak_over_data']:.2f}x data; "
        f"warm +{result['peak_warm_mib']:.1f} MiB), {result['metric']} "
        f"{result['accuracy']:.4f}, loss {result['loss']:.4f}, "
        f"{result['n_iter']} iteration(s)"
    )


def _median(results, lib, key):
    return statistics.median(r[key] for r in results[lib])


def _ratio(results, lib, other):
    """Median (and range) of ``lib``'s warm time over ``other``'s, repeat by repeat.

    The runs of a repeat are adjacent in time, so they see the same machine.
    """
    ratios = [
        ours["warm_s"] / theirs["warm_s"]
        for ours, theirs in zip(results[lib], results[other], strict=True)
    ]
    text = f"{statistics.median(ratios):.3g}"
    if len(ratios) > 1:
        text += f" ({min(ratios):.3g}-{max(ratios):.3g})"
    return text


def _per_library(results, libs, key, spec):
    return " / ".join(format(_median(results, lib, key), spec) for lib in libs)


def report(table, libs):
    names = " / ".join(LABELS[lib] for lib in libs)
    header = ["case", "data"]
    header += [f"{LABELS[lib]} (s)" for lib in libs]
    header += [f"skbp / {LABELS[lib]}" for lib in libs if lib != "skbp"]
    header += [
        f"first fit (s), {names}",
        f"peak growth / data, {names}",
        f"accuracy, {names}",
        f"loss, {names}",
    ]
    print("| " + " | ".join(header) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in header[2:]) + " |")
    for (case, _), results in table.items():
        sample = results[libs[0]][0]
        data = (
            f"{sample['rows']:,} x {sample['features']} ({sample['data_mib']:.3g} MiB)"
        )
        row = [case, data]
        row += [f"{_median(results, lib, 'warm_s'):.3f}" for lib in libs]
        row += [_ratio(results, "skbp", lib) for lib in libs if lib != "skbp"]
        row += [
            _per_library(results, libs, "first_s", ".3f"),
            _per_library(results, libs, "peak_over_data", ".2f"),
            _per_library(results, libs, "accuracy", ".3f"),
            _per_library(results, libs, "loss", ".4f"),
        ]
        print("| " + " | ".join(row) + " |")
    print(
        "\nTimes: the warm (second) fit in each process. Accuracy: on the 10% held "
        "out for adam-early-stopping, on the training rows otherwise. Peak growth: "
        "the first fit's, over the size of X."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (1)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument(
        "--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS)
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch.set_num_threads in the torch loop's processes (default: "
        "torch's own default)",
    )
    parser.add_argument(
        "--worker", nargs=3, metavar=("LIB", "CASE", "DATASET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        lib, case, dataset = args.worker
        worker(lib, case, dataset, args.quick, args.torch_threads)
        return
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = QUICK_DATASETS if args.quick else DATASETS
    sgd_rows = QUICK_SGD_ROWS if args.quick else SGD_ROWS
    print(machine_description())
    if args.torch_threads:
        print(f"torch loop: torch.set_num_threads({args.torch_threads})")
    print(
        f"float32, {N_CLASSES} classes, hidden {HIDDEN}, random_state=0; data sets "
        + ", ".join(f"{name} = {r:,} x {f}" for name, (r, f) in sizes.items())
        + f"; Adam batches of {ADAM_BATCH}; L-BFGS {LBFGS_ITERATIONS} iterations; "
        f"per-example SGD on the first {sgd_rows:,} rows. Each fit in a process of "
        f"its own, timed warm (its second fit); {repeats} interleaved repeat(s); "
        f"medians.\nLoad average before: {_load()}\n",
        flush=True,
    )
    table = {}
    for dataset in args.datasets:
        for case in args.cases:
            results = table[case, dataset] = {lib: [] for lib in LIBRARIES}
            for repeat in range(repeats):
                order = LIBRARIES if repeat % 2 == 0 else LIBRARIES[::-1]
                for lib in order:
                    result = run_worker(
                        lib, case, dataset, args.quick, args.torch_threads
                    )
                    results[lib].append(result)
                    print(_progress(result), flush=True)
    print(f"\nLoad average after: {_load()}\n")
    report(table, LIBRARIES)


if __name__ == "__main__":
    main()
