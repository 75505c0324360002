"""The submodel option table: codes the kernel branches on match the names files use."""

import pytest

from vehsim.errors import ParameterError
from vehsim.layout import PARAM_COLUMNS, STATE_COLUMNS
from vehsim.physics import options


@pytest.mark.parametrize(
    ("submodel", "name", "code"),
    [
        ("gearbox", "automatic", options.GEARBOX_AUTOMATIC),
        ("gearbox", "manual", options.GEARBOX_MANUAL),
        ("gearbox", "cvt", options.GEARBOX_CVT),
        ("thermal", "lumped", options.THERMAL_LUMPED),
        ("thermal", "three_node", options.THERMAL_THREE_NODE),
        ("hybrid", "none", options.HYBRID_NONE),
        ("hybrid", "belt_starter_generator", options.HYBRID_BSG),
    ],
)
def test_codes_are_the_positions_in_the_table(submodel, name, code):
    assert options.option_code(submodel, name) == code


def test_every_variant_has_its_code_column_parameters_and_state():
    for submodel in options.SUBMODELS:
        assert options.code_column(submodel) in PARAM_COLUMNS
    for _, key, *_ in options.variant_param_fields():
        assert key in PARAM_COLUMNS
    for column in options.variant_state_columns():
        assert column in STATE_COLUMNS


def test_unknown_variant_is_named_with_the_allowed_ones():
    with pytest.raises(ParameterError, match=r"gearbox\.type must be one of \['automatic'"):
        options.option_code("gearbox", "dct", "vehicle x")
