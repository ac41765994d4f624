"""Robustness: the attacks (noise, FGSM, PGD, the boundary attack), their evaluation per run and the frequency analyses."""
