"""Physical constants and standard conditions, in one place (no inline 9.81 or 1.225)."""

#: Standard gravity [m/s²] (CGPM 1901; ISO 80000-3).
GRAVITY_MPS2 = 9.80665

#: Air density at ISA sea level, 15 °C [kg/m³] (ISO 2533:1975).
AIR_DENSITY_ISA_KGPM3 = 1.225
#: ISA sea-level pressure [Pa] and temperature [K] (ISO 2533:1975).
PRESSURE_ISA_PA = 101_325.0
TEMPERATURE_ISA_K = 288.15
#: ISA troposphere lapse rate [K/m] (ISO 2533:1975).
LAPSE_RATE_KPM = 0.0065
#: Specific gas constant of dry air [J/(kg K)].
GAS_CONSTANT_AIR_JPKGK = 287.053
#: Offset between °C and K.
ZERO_C_IN_K = 273.15

#: EPA Tier 3 E10 certification gasoline: density [kg/L] and lower heating value [J/kg]
#: (40 CFR 1065.710 test fuel; typical certificates: 0.743 kg/L, 41.9 MJ/kg).
GASOLINE_DENSITY_KGPL = 0.743
GASOLINE_LHV_JPKG = 41.9e6
#: The same density in g/L (the kernel counts fuel in grams) [g/L].
GASOLINE_DENSITY_GPL = GASOLINE_DENSITY_KGPL * 1e3

#: Unit conversions used at the edges.
MPS_PER_MPH = 0.44704
MPS_PER_KPH = 1.0 / 3.6
M_PER_MILE = 1609.344
L_PER_GALLON = 3.785411784
KG_PER_LB = 0.45359237
N_PER_LBF = 4.4482216152605
W_PER_HP = 745.699872
