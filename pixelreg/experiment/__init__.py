"""Experiment machinery: run configuration and profiles, datasets, the run store, training, sweeps, published records and preflight checks."""
