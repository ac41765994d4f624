"""Exceptions with messages a user can act on."""
from __future__ import annotations


class ConfigError(ValueError):
    """A parameter is out of range or unknown. The message names the parameter and what is allowed."""

    def __init__(self, param: str, value, allowed: str):
        self.param, self.value, self.allowed = param, value, allowed
        super().__init__(f"invalid {param}={value!r}: {allowed}")


class DataNotFoundError(FileNotFoundError):
    """A dataset is not available. The message names it, where we looked and how to get it."""

    def __init__(self, dataset: str, looked: list[str], how: str):
        self.dataset, self.looked, self.how = dataset, list(looked), how
        where = "\n  ".join(str(p) for p in looked) or "(nowhere)"
        super().__init__(f"dataset {dataset!r} not found. Looked in:\n  {where}\nTo get it: {how}")
