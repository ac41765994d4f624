"""The package's import graph: no module imports a module that imports it back, only the command line
imports the command line, and no ``except ImportError`` hides a broken module of the package.

Read from the source (every ``import`` statement, in functions too), so a cycle through a lazy import counts.
An ``if __name__ == "__main__":`` block is an entry point, not an import of the module (``python -m
pixelreg.book`` calls the command line from there), and ``TYPE_CHECKING`` blocks never run.
"""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "pixelreg"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _is_skipped_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    src = ast.unparse(node.test)
    return src in ("__name__ == '__main__'", "TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports anywhere (resolved, package roots dropped)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_skipped_block(node):
            return
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "pixelreg":
                    found.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "pixelreg":
                return
            for a in node.names:  # ``from . import stats`` imports the module pixelreg.analysis.stats
                found.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    # the package roots run no code of their modules at import (pixelreg's names load lazily)
    return {m for m in found if m in modules and m not in ("pixelreg", name)}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {n: _imports(n, p, set(mods)) for n, p in mods.items()}


def test_no_import_cycles():
    full = _graph()
    cycles, state = [], {}

    def dfs(n, stack):
        state[n] = "open"
        for d in sorted(full.get(n, ())):
            if state.get(d) == "open":
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                dfs(d, stack + [d])
        state[n] = "done"

    for n in sorted(full):
        if n not in state:
            dfs(n, [n])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_the_command_line_imports_the_command_line():
    graph = _graph()
    importers = sorted(n for n, deps in graph.items() if "pixelreg.cli" in deps)
    assert importers == [], importers


def test_no_import_error_fallbacks_for_own_modules():
    bad = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Try):
                continue
            catches = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if not any("ImportError" in c or "ModuleNotFoundError" in c for c in catches):
                continue
            for stmt in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                own = (isinstance(stmt, ast.ImportFrom) and (stmt.level or (stmt.module or "").startswith("pixelreg"))) \
                    or (isinstance(stmt, ast.Import) and any(a.name.startswith("pixelreg") for a in stmt.names))
                if own:
                    bad.append(f"{path.relative_to(PKG.parent)}:{stmt.lineno}")
    assert not bad, "ImportError fallbacks around the package's own modules: " + ", ".join(bad)


# The layers, bottom to top: a module may import its own layer and the layers below, never one above.
LAYERS = [
    ("pixelreg.errors", "pixelreg.device", "pixelreg.hashing", "pixelreg.kernel_log"),  # foundation
    ("pixelreg.similarity", "pixelreg.models", "pixelreg.regularizer"),      # the method a practitioner imports
    ("pixelreg.neural",),                                                    # simulated V1, neural targets
    ("pixelreg.experiment",),                                                # configs, data, runs, training
    ("pixelreg.robustness", "pixelreg.analysis"),                            # evaluations; statistics
    ("pixelreg.figures",),                                                   # the book's pages
    ("pixelreg.book", "pixelreg.sphinxext"),                                  # the book builds (make book; jupyter-book)
    ("pixelreg.cli",),
]
SIBLINGS_APART = {4}  # robustness and analysis never import each other


def _layer(module: str) -> tuple[int, str]:
    for i, group in enumerate(LAYERS):
        for prefix in group:
            if module == prefix or module.startswith(prefix + "."):
                return i, prefix
    raise AssertionError(f"{module} is in no layer of LAYERS")


def test_layers_import_downwards_only():
    bad = []
    for mod, deps in _graph().items():
        if mod == "pixelreg":
            continue
        (lm, pm) = _layer(mod)
        for d in deps:
            (ld, pd) = _layer(d)
            if ld > lm or (ld == lm and pd != pm and lm in SIBLINGS_APART):
                bad.append(f"{mod} -> {d}")
    assert not bad, "imports against the layering:\n" + "\n".join(sorted(bad))


# Libraries a page rendered from its records never calls: attacks (foolbox, eagerpy) and torchvision (datasets,
# image transforms). Importing them costs seconds per notebook (torchvision alone about 4 s of CPU here), so
# the modules that need them import them inside the functions that train, attack or corrupt images. torch itself
# is still imported: the configs (the method's vocabulary in pixelreg.models), the run store and every
# robustness module import it at the top.
RECORDS_PATH_UNUSED = ("foolbox", "eagerpy", "torchvision")


def test_the_records_path_of_a_page_imports_no_attack_or_dataset_library(tmp_path):
    """In a fresh interpreter: importing every page (pixelreg.figures) and rendering Fig. 5 at the published
    profile from its records (PIXELREG_TRAIN=0, a private run store the records are imported into) imports none
    of RECORDS_PATH_UNUSED."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import pixelreg.figures as F\n"
        f"heavy = {RECORDS_PATH_UNUSED!r}\n"
        "print('import:', sorted(m for m in heavy if m in sys.modules))\n"
        "F.FIGURES['fig5'](profile='full').data()\n"
        "print('records:', sorted(m for m in heavy if m in sys.modules))\n")
    env = dict(os.environ, PIXELREG_TRAIN="0", PIXELREG_RUNS_DIR=str(tmp_path / "runs"), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                         cwd=PKG.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith(("import:", "records:"))]
    assert lines == ["import: []", "records: []"], out.stdout[-2000:]
