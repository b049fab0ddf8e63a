"""Build skbp's optional compiled kernels; everything else is in pyproject.toml.

Two Cython modules, ``skbp._kernels`` and ``skbp._sgd_loop``, replace NumPy
expressions that skbp also keeps (and runs wherever these are missing). So the
build never fails for them: where Cython or a C compiler is missing, or a
compilation fails, the install goes on without the module, with a one-line
warning, and skbp runs its NumPy path (``skbp.show_versions()`` tells which).

Both cimport the codes and constants they share with Python from
``skbp/_kernel_codes.pxd``, which this file writes first from their one
declaration, ``skbp/_kernel_codes.py``.
"""

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ("skbp._kernels", "skbp._sgd_loop")

# The kernels must round exactly as the NumPy expressions they replace: no
# fast-math, and no contraction of a * b + c into one fused multiply-add
# (clang contracts by default; GCC does with -O3 on machines with FMA).
PORTABLE_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math"]
OPTIONAL_FLAGS = [
    # sqrt may then be vectorised (errno is never read; NumPy does not set it
    # either), which changes no result.
    "-fno-math-errno",
    # GCC only: vectorise loops over many arrays (the Adam step reads and
    # writes six), versioned on run-time checks that they do not overlap.
    "--param=vect-max-version-for-alias-checks=64",
]
# MSVC: /fp:precise neither contracts nor reorders floating-point arithmetic.
MSVC_FLAGS = ["/O2", "/fp:precise"]
# skbp._kernels splits large calls across threads where the compiler has
# OpenMP (GCC; clang with libomp); elsewhere its loops run serially.
OPENMP_MODULES = ("skbp._kernels",)
OPENMP_FLAGS = {"msvc": ["/openmp"]}
OPENMP_PROBE = """
#include <omp.h>
int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
"""

NO_KERNELS = (
    "skbp: the compiled kernels were not built ({reason}); "
    "skbp will run its NumPy path, which gives the same results more slowly."
)


def _warn(reason):
    print("WARNING: " + NO_KERNELS.format(reason=reason), file=sys.stderr)


def _sources(name):
    """The module's .pyx where Cython is installed, else a shipped .c file."""
    stem = Path("skbp", name.split(".")[-1])
    try:
        import Cython  # noqa: F401
    except ImportError:
        c_file = stem.with_suffix(".c")
        return [str(c_file)] if c_file.exists() else None
    return [str(stem.with_suffix(".pyx"))]


def _write_kernel_codes():
    """Write skbp/_kernel_codes.pxd from skbp/_kernel_codes.py, if it changed.

    The module is loaded from its file, not imported as ``skbp._kernel_codes``:
    importing the package would need its run-time dependencies, which the
    build environment lacks. An unchanged file keeps its timestamp, so that
    Cython does not recompile the modules that cimport it.
    """
    source = Path("skbp", "_kernel_codes.py")
    spec = importlib.util.spec_from_file_location("_skbp_kernel_codes", source)
    codes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(codes)
    text = codes.pxd_source()
    target = source.with_suffix(".pxd")
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def _extensions():
    _write_kernel_codes()
    extensions = []
    for name in MODULES:
        sources = _sources(name)
        if sources is None:
            _warn(f"Cython is not installed and {name} has no generated C file")
            continue
        extensions.append(Extension(name, sources))
    if any(ext.sources[0].endswith(".pyx") for ext in extensions):
        from Cython.Build import cythonize

        extensions = cythonize(extensions, compiler_directives={"language_level": 3})
    return extensions


class OptionalBuildExt(build_ext):
    """``build_ext`` that picks flags this compiler knows and survives failures."""

    def run(self):
        self._failures = []
        try:
            super().run()
        except Exception as error:  # no compiler at all (DistutilsPlatformError)
            self._failures.append(f"no C compiler ({type(error).__name__})")
        if self._failures:
            _warn("; ".join(self._failures))

    def build_extensions(self):
        flags = self._accepted_flags()
        openmp = self._openmp_flags()
        for extension in self.extensions:
            extension.extra_compile_args = list(flags)
            if extension.name in OPENMP_MODULES:
                extension.extra_compile_args += openmp
                extension.extra_link_args = list(openmp)
        super().build_extensions()

    def build_extension(self, extension):
        try:
            super().build_extension(extension)
        except Exception as error:  # CompileError, LinkError, a missing compiler
            self._failures.append(
                f"compiling {extension.name} failed ({type(error).__name__})"
            )

    def _accepted_flags(self):
        if self.compiler.compiler_type == "msvc":
            return MSVC_FLAGS
        return PORTABLE_FLAGS + [
            flag for flag in OPTIONAL_FLAGS if self._compiler_accepts(flag)
        ]

    def _openmp_flags(self):
        """OpenMP's flags where a probe compiles and links with them, else none."""
        flags = OPENMP_FLAGS.get(self.compiler.compiler_type, ["-fopenmp"])
        with tempfile.TemporaryDirectory() as directory:
            source = os.path.join(directory, "openmp_probe.c")
            with open(source, "w") as file:
                file.write(OPENMP_PROBE)
            try:
                objects = self.compiler.compile(
                    [source], output_dir=directory, extra_postargs=flags
                )
                self.compiler.link_executable(
                    objects, "openmp_probe", output_dir=directory, extra_postargs=flags
                )
            except Exception:
                print("skbp: no OpenMP; the kernels run on one thread", file=sys.stderr)
                return []
        return flags

    def _compiler_accepts(self, flag):
        """Whether a trivial C file compiles with ``flag`` without a warning."""
        with tempfile.TemporaryDirectory() as directory:
            source = os.path.join(directory, "probe.c")
            with open(source, "w") as file:
                file.write("int main(void) { return 0; }\n")
            try:
                self.compiler.compile(
                    [source], output_dir=directory, extra_postargs=[flag, "-Werror"]
                )
            except Exception:
                return False
        return True


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
