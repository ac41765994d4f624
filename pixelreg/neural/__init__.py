"""The neural side: a simulated V1 population and a response predictor (Fig. 1)."""
