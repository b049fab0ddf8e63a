"""Examples and modules with optional dependencies behave when those are missing.

tests/test_examples.py runs every example with whatever is installed; where
Dask (or torch) is installed, that never takes the example's "not installed"
path, so these tests hide the library from a fresh interpreter and run the
example there.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A None entry in sys.modules makes ``import name`` raise ImportError.
_RUN_WITHOUT = """
import runpy, sys
for name in sys.argv[2:]:
    sys.modules[name] = None
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def _run_without(example, *modules):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_WITHOUT,
            str(ROOT / "examples" / example),
            *modules,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dask_example_exits_cleanly_without_dask():
    completed = _run_without(
        "dask_scale_out.py", "dask", "dask.array", "distributed", "dask_ml"
    )
    assert completed.returncode == 0, completed.stderr
    assert "pip install" in completed.stdout
    assert "dask-ml" in completed.stdout


def test_gpu_example_exits_cleanly_without_torch():
    completed = _run_without("gpu.py", "torch")
    assert completed.returncode == 0, completed.stderr
    assert "pip install torch" in completed.stdout


def test_skbp_dask_without_dask_says_how_to_install_it():
    code = (
        "import sys\n"
        "for name in ('dask', 'dask.array', 'distributed'):\n"
        "    sys.modules[name] = None\n"
        "try:\n"
        "    import skbp.dask\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert 'pip install "skbp[dask]"' in completed.stdout


def test_onnx_example_exits_cleanly_without_skl2onnx():
    completed = _run_without("onnx_export.py", "skl2onnx", "onnxruntime")
    assert completed.returncode == 0, completed.stderr
    assert 'pip install "skbp[onnx]"' in completed.stdout
