"""The book's pages: one module per figure, each with one frozen dataclass of its parameters.

Each page module defines ``PAGE``, a :class:`~pixelreg.figures.common.Page` subclass whose fields are the
page's parameters with their defaults (checked once, on construction), with ``.configs()`` (the training runs
it needs; nothing is trained), ``.data(runs_dir)`` (finds or trains the runs, evaluates them with cached
attacks, returns a :class:`~pixelreg.figures.common.FigureData` of tidy tables) and ``.what_we_see(data)``::

    from pixelreg.figures import Fig2
    data = Fig2(profile="smoke", th=0.6).data()
    data["tests"]

:data:`FIGURES` (page name -> class) is built from the modules of this package, so adding a page is one
module here, one notebook in ``book/`` and its line in ``book/_toc.yml``. ``common`` holds what the pages
share (tables, tests, footer); ``claims`` judges the paper's claims from the figures' tables.
"""
from __future__ import annotations

import importlib
import pkgutil

from pixelreg.figures.common import FigureData, Page, footer


def _pages() -> dict[str, type[Page]]:
    pages = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        page = getattr(module, "PAGE", None)
        if page is not None:
            pages[page.name] = page
    return pages


FIGURES: dict[str, type[Page]] = _pages()
globals().update({cls.__name__: cls for cls in FIGURES.values()})

__all__ = ["FIGURES", "FigureData", "Page", "footer", *(cls.__name__ for cls in FIGURES.values())]
