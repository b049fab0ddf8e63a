"""skbp.show_versions reports what a bug report needs, and what is missing."""

import sys

import pytest

import skbp
from skbp import _show_versions


def test_sections_and_versions(capsys):
    skbp.show_versions()
    report = capsys.readouterr().out
    for section in (
        "System:",
        "Python dependencies:",
        "Optional dependencies:",
        "Compiled kernels:",
        "(threadpoolctl):",
    ):
        assert section in report
    assert f"skbp: {skbp.__version__}" in report
    import numpy

    assert f"numpy: {numpy.__version__}" in report


def test_a_missing_distribution_is_reported_as_none():
    versions = _show_versions._distribution_versions(["no-such-distribution-skbp"])
    assert versions == {"no-such-distribution-skbp": None}


@pytest.mark.parametrize("module", ["skbp._kernels", "skbp._sgd_loop"])
def test_a_compiled_module_that_does_not_import_is_reported(module, monkeypatch):
    # A None entry in sys.modules makes importing the module raise ImportError,
    # as on an install whose build could not compile it.
    monkeypatch.setitem(sys.modules, module, None)
    status = _show_versions._compiled_kernels()
    assert status[module].startswith("not built: the NumPy path runs")
    others = [name for name in status if name != module]
    assert all(status[name].startswith("in use") for name in others)


def test_torch_devices_are_listed_where_torch_is_installed(capsys):
    torch = pytest.importorskip("torch")
    skbp.show_versions()
    report = capsys.readouterr().out
    assert "torch devices:" in report
    assert "cpu: available" in report
    if not torch.cuda.is_available():
        assert "cuda: not available" in report


def test_no_torch_section_without_torch(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    skbp.show_versions()
    assert "torch devices:" not in capsys.readouterr().out


def test_the_kernels_threads_are_reported():
    from threadpoolctl import threadpool_limits

    from skbp._kernels import openmp_enabled

    status = _show_versions._compiled_kernels()["skbp._kernels"]
    if not openmp_enabled():
        assert status.endswith("built without OpenMP: one thread")
        return
    with threadpool_limits(limits=1, user_api="openmp"):
        limited = _show_versions._compiled_kernels()["skbp._kernels"]
    assert limited.endswith("OpenMP, up to 1 thread")
