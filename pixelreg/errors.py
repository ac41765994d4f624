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


class MissingDataError(DataNotFoundError):
    """Data a batch of runs needs is missing (:func:`pixelreg.experiment.preflight.check_datasets`). One message covers
    every missing dataset: what it is, what provides it (apt package, download) and where we looked.
    ``missing`` holds one :class:`pixelreg.experiment.preflight.Missing` per missing piece."""

    def __init__(self, missing: list, message: str):
        self.missing = list(missing)
        self.dataset = ", ".join(dict.fromkeys(m.dataset for m in self.missing))
        self.looked = [p for m in self.missing for p in m.looked]
        self.how = "; ".join(dict.fromkeys(w for m in self.missing
                                           for w in ([m.how] if isinstance(m.how, str) else m.how)))
        FileNotFoundError.__init__(self, message)


class StorageError(ConfigError):
    """A file could not be written for a reason outside the program (disk full, read-only, no permission).

    A ``ConfigError`` so that the command line prints it as one message and exits 2; ``param`` names the
    parameter that chooses the location (e.g. ``runs_dir``), ``path`` the file or folder, ``reason`` the cause.
    """

    def __init__(self, param: str, path, reason: str, fix: str):
        super().__init__(param, str(path), fix)
        self.path, self.reason = str(path), reason
        self.args = (f"cannot write {path}: {reason}. {fix}",)


class RecordOnlyRunError(ConfigError):
    """A run imported from a record has no checkpoint, and an evaluation not in the record needs the model."""

    def __init__(self, run_id: str, evaluation: str | None, message: str):
        self.run_id, self.evaluation = run_id, evaluation
        self.param, self.value, self.allowed = "run", run_id, "a run with a checkpoint (retrain it)"
        ValueError.__init__(self, message)

    def __reduce__(self):  # picklable across processes (the base class's args are the message only)
        return (type(self), (self.run_id, self.evaluation, str(self)))


class MissingRunsError(RuntimeError):
    """Training is switched off (``PIXELREG_TRAIN=0``, the book's records mode) and a page needs runs that the
    run store does not hold: a page built from published records whose runs have not been trained yet."""

    def __init__(self, run_ids: list[str], commands: list[str], message: str | None = None):
        self.run_ids, self.commands = list(run_ids), list(commands)
        if message is None:
            shown = "; ".join(commands[:3]) + (f"; ... ({len(commands) - 3} more)" if len(commands) > 3 else "")
            message = (f"{len(run_ids)} run(s) needed here are neither trained nor in the published records "
                       f"({', '.join(run_ids[:6])}{', ...' if len(run_ids) > 6 else ''}), and training is "
                       f"switched off (PIXELREG_TRAIN=0). Train them with: {shown}; or build the book with --train.")
        RuntimeError.__init__(self, message)

    def __reduce__(self):
        return (type(self), (self.run_ids, self.commands, str(self)))
