"""The README's code and every script in examples/ run as a user would run them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _readme_python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.parametrize("block", _readme_python_blocks())
def test_readme_python_block_runs(block):
    if "import torch" in block:
        pytest.importorskip("torch")  # the GPU section's block; CI installs torch
    # skbp.dask's and skbp.onnx's blocks need the test extra's dask and onnx
    # libraries: where they are missing, the block fails, as a broken install.
    # Run in a fresh interpreter: the block must work as pasted.
    completed = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script):
    # The gallery's scripts end their figures with plt.show(); on a machine
    # with a screen that would open windows and wait for them to be closed.
    # Agg draws them off screen, as on a headless machine.
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip(), "an example should print its results"


def test_readme_commands_are_what_ci_runs():
    # .ci/run must run the README's test command exactly as written there.
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.DOTALL)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def _run_benchmark(*arguments):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare_sklearn.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_benchmark_script_runs_in_quick_mode():
    # A smoke run of the README's benchmark command (a subset of its cases, one
    # repeat): it must produce its table. Nothing here looks at the times.
    output = _run_benchmark("--quick", "--repeats", "1", "--only", "predict_proba")
    rows = [line for line in output.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| case | skbp (s) | scikit-learn (s) | ratio |")
    assert [row.split(" | ")[0] for row in rows[2:]] == [
        "| predict_proba, one row",
        "| predict_proba, 10,000 rows",
    ]


def test_benchmark_memory_worker_reports_a_peak():
    output = _run_benchmark("--quick", "--memory-worker", "skbp")
    assert float(output.strip().splitlines()[-1]) > 0


def test_gpu_benchmark_runs_on_the_cpu():
    # A smoke run of benchmarks/gpu.py at a tiny size: its table, no times read.
    pytest.importorskip("torch")
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu.py"),
            *("--device", "cpu", "--rows", "2000", "--hidden", "16"),
            *("--batch-size", "256", "--epochs", "1", "--repeats", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    rows = completed.stdout.splitlines()[-3:]
    assert [row.split("  ")[0] for row in rows] == [
        "skbp",
        "torch loop",
        "scikit-learn (CPU)",
    ]


def test_scale_benchmark_runs_in_quick_mode():
    # A smoke run of benchmarks/scale.py --quick, one case on one data set (the
    # whole --quick run takes minutes): a fresh process per fit, each reporting
    # its JSON, and the Markdown table. Nothing here looks at the times.
    pytest.importorskip("torch")
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "scale.py"),
            *("--quick", "--cases", "adam-early-stopping", "--datasets", "1m"),
            # One torch thread: on a loaded machine torch's default thread pool
            # made this smoke run several times slower.
            *("--torch-threads", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    rows = [line for line in completed.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| case | data | skbp (s) | scikit-learn (s) |")
    assert [row.split(" | ")[0] for row in rows[2:]] == ["| adam-early-stopping"]
