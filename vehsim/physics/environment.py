"""Ambient conditions: air density from altitude and temperature.

Reference: ISO 2533:1975 Standard Atmosphere (troposphere, up to 11 km).
"""

from vehsim.constants import (
    GAS_CONSTANT_AIR_JPKGK,
    GRAVITY_MPS2,
    LAPSE_RATE_KPM,
    PRESSURE_ISA_PA,
    TEMPERATURE_ISA_K,
    ZERO_C_IN_K,
)
from vehsim.physics._jit import jit


@jit
def air_pressure_pa(altitude_m):
    """ISA static pressure at ``altitude_m`` [Pa] (ISO 2533, troposphere)."""
    exponent = GRAVITY_MPS2 / (GAS_CONSTANT_AIR_JPKGK * LAPSE_RATE_KPM)
    return PRESSURE_ISA_PA * (1.0 - LAPSE_RATE_KPM * altitude_m / TEMPERATURE_ISA_K) ** exponent


@jit
def air_density_kgpm3(altitude_m, ambient_temp_c):
    """Dry-air density [kg/m³] from the ISA pressure at altitude and the actual temperature."""
    return air_pressure_pa(altitude_m) / (GAS_CONSTANT_AIR_JPKGK * (ambient_temp_c + ZERO_C_IN_K))
