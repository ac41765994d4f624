"""What every page of the book shares, by stage (issue 21); this module re-exports the public names so that
``from pixelreg.figures.common import ...`` keeps working in pages, notebooks and tests.

- :mod:`pixelreg.figures.pages`: page classes and plan parsing (:class:`Page`, :class:`TrainedFigure`,
  :class:`OnePoolFigure`, :class:`FigureData`, the plans and panels);
- :mod:`pixelreg.figures.tables`: run checks and tables (the runs a page needs, the failed-run rule, the runs
  table, curves, per-ε tests, per-run AUCs);
- :mod:`pixelreg.figures.sentences`: the statistics sentences of "What we see" (one p-value format);
- :mod:`pixelreg.figures.prose`: the page footer (rerun box, caption, CSV downloads, "What we see").

A page's parameters are one frozen dataclass (a subclass of :class:`Page`). Every field's default is written
on the field; ``None`` given for a field means that default (the notebooks pass ``None`` for every parameter
nobody set). Defaults that depend on the profile (seeds, image counts, attack steps) or on the task (the
regularization pools) are filled in by the page's ``profile_defaults``. Then every value is normalised (a
comma-separated string becomes a tuple) and checked once, by the rule of the TrainConfig field it feeds
(:func:`pixelreg.experiment.config.check_value`); a bad value raises ``ConfigError`` naming the parameter.
"""
from __future__ import annotations

from pixelreg.figures.pages import (NOISE_ATTACKS, PLAN_NAMES, FigureData, OnePoolFigure, Page, TrainedFigure,
                                    as_tuple, imagenet_dir, parse_panels, positive_int, resolve_panels, split_panel)
from pixelreg.figures.prose import book_dir, footer, publish_tables, rerun_box
from pixelreg.figures.sentences import (dirty_sentence, failures_sentence, fmt, gain_sentence, gain_summary, msem,
                                        pfmt, pstate, ranking_sentences, sem)
from pixelreg.figures.tables import FAILED_RUN_RULE, aucs, curves, ensure_runs, runs_table, tests, usable

__all__ = ["NOISE_ATTACKS", "PLAN_NAMES", "OnePoolFigure", "imagenet_dir", "parse_panels", "split_panel", "resolve_panels",
           "FigureData", "Page", "TrainedFigure", "footer", "publish_tables", "book_dir", "rerun_box",
           "ensure_runs", "runs_table", "curves", "tests", "aucs", "gain_summary", "gain_sentence", "fmt", "pfmt", "pstate",
           "as_tuple", "positive_int", "sem", "msem", "ranking_sentences", "failures_sentence", "dirty_sentence",
           "usable", "FAILED_RUN_RULE"]
