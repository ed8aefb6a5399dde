"""The agencies of the adapter tests: a district and two of its communes."""

DISTRICT, COMMUNE, COMMUNE_B = "000.00.29.H40", "000.04.29.H40", "000.05.29.H40"
