"""The codes and constants shared with the compiled kernels, declared once.

``skbp/_kernel_codes.py`` declares them; setup.py writes the ``.pxd`` that
both compiled modules cimport from it.  These tests check that the compiled
modules hold what the Python side declares (a module built before a change
of the declaration fails here), that each kernel implements exactly the
codes the Python side hands it, and that each activation and output layer
carries the code of its own name.
"""

import importlib
from pathlib import Path

import numpy as np
import pytest

from skbp import _kernel_codes
from skbp._activations import ACTIVATIONS
from skbp._kernel_codes import (
    BIAS_ACTIVATION_CODES,
    DERIVATIVE_CODES,
    ELU_ALPHA,
    LEAKY_RELU_SLOPE,
    OUTPUT_DELTA_CODES,
    ActivationCode,
    OutputCode,
)
from skbp._kernels import bias_activation, multiply_derivative, output_delta_and_loss
from skbp._losses import OUTPUT_LAYER_NAMES, get_output_layer

PXD = Path(__file__).resolve().parents[1] / "skbp" / "_kernel_codes.pxd"


@pytest.mark.parametrize("module", ["skbp._kernels", "skbp._sgd_loop"])
def test_each_compiled_module_holds_the_declared_codes(module):
    compiled = importlib.import_module(module).KERNEL_CODES
    assert compiled == _kernel_codes.declaration()
    # Exactly: the C macros read back as the same doubles.
    assert compiled["LEAKY_RELU_SLOPE"].hex() == LEAKY_RELU_SLOPE.hex()
    assert compiled["ELU_ALPHA"].hex() == ELU_ALPHA.hex()


def test_the_generated_pxd_is_the_declaration():
    if not PXD.exists():
        pytest.skip("setup.py has not built this checkout")
    assert PXD.read_text(encoding="utf-8") == _kernel_codes.pxd_source()


def test_the_declaration_lists_every_member_and_constant():
    declared = _kernel_codes.declaration()
    assert declared["ActivationCode"] == {m.name: m.value for m in ActivationCode}
    assert declared["OutputCode"] == {m.name: m.value for m in OutputCode}
    assert declared["LEAKY_RELU_SLOPE"] == 0.01
    assert declared["ELU_ALPHA"] == 1.0
    source = _kernel_codes.pxd_source()
    for member in [*ActivationCode, *OutputCode]:
        assert f"    {member.name} = {member.value}\n" in source


def test_each_activation_carries_the_code_of_its_name():
    for name, activation in ACTIVATIONS.items():
        if name in ("gelu", "silu"):  # no kernel computes them
            assert activation.kernel_code is None
        else:
            assert activation.kernel_code is ActivationCode[name.upper()]
    codes = [a.kernel_code for a in ACTIVATIONS.values() if a.kernel_code is not None]
    assert sorted(codes) == sorted(ActivationCode)


def test_each_output_layer_carries_the_code_of_its_pair():
    codes = []
    for loss, link in OUTPUT_LAYER_NAMES:
        code = get_output_layer(loss, link).kernel_code
        if code is not None:  # None: no kernel computes it
            assert code is OutputCode[f"{link}_{loss}".upper()]
            codes.append(code)
    assert sorted(codes) == sorted(OutputCode)


def test_the_core_computes_with_the_declared_constants():
    z = np.array([[-2.0, -np.inf, 3.0]])
    leaky = ACTIVATIONS["leaky_relu"].forward(z.copy())
    assert leaky[0, 0] == -2.0 * LEAKY_RELU_SLOPE
    elu = ACTIVATIONS["elu"].forward(z.copy())
    assert elu[0, 1] == -ELU_ALPHA  # alpha (exp(z) - 1) at z = -inf


def _accepts(call):
    try:
        call()
    except ValueError as error:
        assert "code" in str(error)
        return False
    return True


@pytest.mark.parametrize("code", [*ActivationCode, -1, 99])
def test_the_layer_kernels_implement_exactly_their_declared_codes(code):
    rng = np.random.default_rng(0)
    z, bias = rng.normal(size=(5, 4)), rng.normal(size=4)
    accepted = _accepts(lambda: bias_activation(z.copy(), bias, int(code)))
    assert accepted == (code in BIAS_ACTIVATION_CODES)
    accepted = _accepts(lambda: multiply_derivative(z.copy(), z, int(code)))
    assert accepted == (code in DERIVATIVE_CODES)


@pytest.mark.parametrize("code", [*OutputCode, -1, 99])
def test_the_output_kernel_implements_exactly_its_declared_codes(code):
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)]
    accepted = _accepts(
        lambda: output_delta_and_loss(raw, raw, y, None, 5.0, np.empty_like(raw), code)
    )
    assert accepted == (code in OUTPUT_DELTA_CODES)


def test_the_numpy_elu_follows_another_alpha(monkeypatch):
    # ELU_ALPHA is 1, where the forward pass skips the product by it: the
    # other branch, with the derivative through the output checked against
    # finite differences of the forward pass.
    import skbp._activations as activations

    monkeypatch.setattr(activations, "ELU_ALPHA", 0.5)
    elu = ACTIVATIONS["elu"]
    z = np.array([[-np.inf, -2.0, -0.5, 0.0, 0.7]])
    output = elu.forward(z.copy())
    np.testing.assert_allclose(
        output, [[-0.5, 0.5 * np.expm1(-2.0), 0.5 * np.expm1(-0.5), 0.0, 0.7]]
    )
    step = 1e-6
    z = np.array([[-2.0, -0.5, 0.7]])
    numeric = (elu.forward(z + step) - elu.forward(z - step)) / (2 * step)
    analytic = elu.multiply_derivative(elu.forward(z.copy()), np.ones_like(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)
