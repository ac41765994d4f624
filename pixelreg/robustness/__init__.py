"""Robustness: the attacks (noise, FGSM, PGD, the boundary attack), their evaluation per run and the frequency analyses.

The attack registry is :data:`pixelreg.robustness.attacks.ATTACKS`; importing the package imports the modules
that register attacks next to their classes (:mod:`~pixelreg.robustness.spectra`: the band-limited noise), so the
registry is complete whichever module is imported first.
"""
from pixelreg.robustness import attacks, spectra  # noqa: F401  (spectra registers its attacks)
