"""Analysis: statistics over seeds and the verdict rules of the claims page."""
