"""Fig. 3: FGSM transferred from an independent unregularized model (the paper's black-box attack), and
white-box FGSM and white-box L∞ PGD beside it (the paper ran no white-box attack)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from pixelreg.analysis import stats
from pixelreg.robustness.attacks import PGD
from pixelreg.experiment.config import DEFAULT_TASK, TrainConfig, check_value
from pixelreg.errors import ConfigError
from pixelreg.experiment.config import condition_label
from pixelreg.robustness.evaluate import robust_accuracy
from pixelreg.figures.common import (FigureData, TrainedFigure, ensure_runs, gain_sentence, parse_panels, positive_int,
                     resolve_panels, runs_table, split_panel, tests)
from pixelreg.figures.fig2 import Fig2, default_pools, plan_caption

__all__ = ["Fig3", "PLANS", "PGD_PANEL", "check_source_seed", "source_configs"]

# The figure's plan: panels "task<-pool" and the paper panel each stands for; alpha and Th from the paper's table
# (unless the profile or the page sets them); transferred and white-box FGSM on the reference's FGSM grid of
# the task (CIFAR-10: 0 to 0.02; Fashion-MNIST: 0 to 0.5); white-box PGD on its own grid (pixelreg.robustness.evaluate).
PLANS: dict[str, dict[str, str]] = {
    # CCN paper Fig. 3: ResNet18 on CIFAR-10 regularized on (a) ImageNet and (b) CIFAR-10, alpha 10, Th 0.8
    "paper": {"cifar10<-imagenet": "Fig. 3a", "cifar10<-cifar10": "Fig. 3b"},
    "analogue": {f"{DEFAULT_TASK}<-{DEFAULT_TASK}": "Fig. 3b (CIFAR-10 <- CIFAR-10)",
                 f"{DEFAULT_TASK}<-natural": "Fig. 3a (CIFAR-10 <- ImageNet)"},
}
# The panel whose unregularized and S^Th runs PGD attacks (its cost is the scale's: Profile.pgd_steps and
# pgd_images): the ImageNet panel, Fig. 3a, or its stand-in.
PGD_PANEL = {"paper": "cifar10<-imagenet", "analogue": f"{DEFAULT_TASK}<-natural"}
PGD_CONDITIONS = ("unregularized", "S^Th")
MODES = ("transferred", "white-box", "white-box PGD")  # the ``mode`` column: FGSM transferred / white-box, PGD


# The transfer attack, shared with the combinations page (pixelreg.figures.combos): the source of each task is
# its unregularized run with the page's ``source_seed``, a seed that is never evaluated.

def check_source_seed(source_seed: int, seeds: tuple[int, ...]) -> None:
    """A transfer source's seed: a valid seed not among the evaluated ``seeds`` (ConfigError naming source_seed)."""
    check_value("seed", source_seed, name="source_seed")
    if source_seed in seeds:
        raise ConfigError("source_seed", source_seed, f"a seed not among the evaluated seeds {list(seeds)}")


def source_configs(page: TrainedFigure, tasks: list[str]) -> list[TrainConfig]:
    """The transfer source of each task: its unregularized run with the page's ``source_seed``."""
    return [page.unreg(page.source_seed, task=t) for t in tasks]


@dataclass(frozen=True, kw_only=True)
class Fig3(TrainedFigure):
    """Accuracy under FGSM transferred from an independent unregularized model, under white-box FGSM, and under
    white-box L∞ PGD (the unregularized and S^Th runs of one panel).

    The transfer source of each task is its unregularized run with seed ``source_seed``; white-box attacks (each
    model attacked through its own gradient) are shown beside it because the paper reports black-box attacks
    only. PGD is foolbox's LinfPGD with ``pgd_steps`` iterations of step 2.5·ε/``pgd_steps`` from a random start
    (:class:`pixelreg.robustness.attacks.PGD`), on the first ``pgd_images`` test images.
    """

    name: ClassVar[str] = "fig3"

    plan: str | None = None  # "paper" or "analogue"; None: the profile's (paper at the paper profile)
    panels: tuple[str, ...] | None = None  # "task<-pool" pairs; None: from task and reg_data if given, else the plan's
    task: str | None = None  # None: the plan's (paper: cifar10; analogue: fashion-mnist)
    reg_data: tuple[str, ...] | None = None  # None: the plan's pools (analogue: the task's own images, natural)
    alpha: float | None = None  # None: the profile's alpha, else the paper's table
    th: float | None = None  # None: the paper's Th for each dataset pair
    seeds: tuple[int, ...] | None = None  # None: the profile's seeds
    source_seed: int = 1000  # seed of the unregularized transfer source; never an evaluated seed
    n_images: int | None = None  # FGSM test images per curve; None: the profile's
    pgd_panel: str | None = None  # "task<-pool" whose unregularized and S^Th runs PGD attacks; None: the
    # plan's ImageNet panel (Fig. 3a) if shown, else the first panel
    pgd_steps: int | None = None  # PGD iterations; None: the profile's (cpu and full 10, paper 40)
    pgd_images: int | None = None  # PGD test images per curve; None: the profile's (paper: the full test set)

    def profile_defaults(self, prof):
        d = resolve_panels(tuple(PLANS[self.plan]), lambda t: default_pools(self.plan, t), self.task,
                           self.reg_data, self.panels)
        pgd = PGD_PANEL[self.plan] if PGD_PANEL[self.plan] in d["panels"] else d["panels"][0]
        return dict(**d, seeds=prof.seeds, n_images=prof.eval_images, pgd_panel=pgd, pgd_steps=prof.pgd_steps,
                    pgd_images=prof.pgd_images or prof.eval_images)

    def check(self) -> None:
        check_source_seed(self.source_seed, self.seeds)
        self._set("panels", parse_panels("panels", self.panels))
        panel = parse_panels("pgd_panel", self.pgd_panel)
        if len(panel) != 1 or panel[0] not in self.panels:
            raise ConfigError("pgd_panel", self.pgd_panel, f"one of the page's panels: {', '.join(self.panels)}")
        self._set("pgd_panel", panel[0])
        positive_int("pgd_steps", self.pgd_steps)
        positive_int("pgd_images", self.pgd_images)

    def fig2(self) -> Fig2:
        """Fig. 2's page with the same panels and seeds: the runs attacked here."""
        return Fig2(profile=self.profile, plan=self.plan, panels=self.panels, alpha=self.alpha, th=self.th,
                    seeds=self.seeds, n_images=self.n_images)

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(split_panel(p)[0] for p in self.panels))

    def configs(self) -> list[TrainConfig]:
        """Fig. 2's runs (the same conditions and seeds), then the transfer source of each task."""
        return self.fig2().configs() + source_configs(self, self.tasks())

    def plan_text(self) -> str:
        return (plan_caption(self.plan, self.panels, PLANS, "Fig. 3") + f" White-box PGD ({self.pgd_steps} steps "
                f"of 2.5·ε/{self.pgd_steps}, random start, {self.pgd_images} test images) attacks the "
                f"unregularized and S^Th runs of {self.pgd_panel.replace('<-', ' <- ')}; the paper ran no "
                "white-box attack.")

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``curves`` (per run, mode and ε; ``mode`` is "transferred" or "white-box" FGSM, or "white-box
        PGD"), ``summary`` (mean and SEM over seeds), ``tests`` (S^pixel and S^Th against unregularized per mode
        and ε, Welch's t with Holm correction over ε)."""
        configs = self.configs()
        n_src = len(self.tasks())
        runs = ensure_runs(configs, runs_dir, progress)
        sources = dict(zip(self.tasks(), runs[-n_src:]))
        evaluated = runs[:-n_src]
        by_cfg = dict(zip(configs, runs))
        pgd = PGD(steps=self.pgd_steps)
        panels = []
        for p, (t, r) in zip(self.panels, (split_panel(p) for p in self.panels)):
            sel = list(dict.fromkeys(by_cfg[c] for c in configs[:-n_src]
                                     if c.task == t and ((not c.regularized) or c.pool_source == r)))
            parts = [("transferred", "fgsm", sources[t], sel, self.n_images),
                     ("white-box", "fgsm", None, sel, self.n_images)]
            if p == self.pgd_panel:
                parts.append(("white-box PGD", pgd, None,
                              [run for run in sel if condition_label(run.config) in PGD_CONDITIONS], self.pgd_images))
            for mode, attack, src, attacked, n in parts:
                cur = robust_accuracy(self.usable(attacked), attack, n_images=n, source=src, precision=self.precision)
                cur.insert(0, "panel", self.panel(r, t))
                cur.insert(1, "reg_data", r)
                cur.insert(2, "paper_panel", PLANS[self.plan].get(p, "not in the paper"))
                cur["mode"] = mode
                panels.append(cur)
        curves = pd.concat(panels, ignore_index=True)
        summary = stats.mean_sem(curves, by=("panel", "mode", "condition", "epsilon"))
        tst = pd.concat([tests(g, "unregularized", ["S^pixel", "S^Th"], by=("mode",)).assign(panel=k)
                         for k, g in curves.groupby("panel")], ignore_index=True)
        data = self.figure_data(dict(curves=curves, summary=summary, tests=tst),
                                runs_table(evaluated + list(sources.values())),
                                source_run=",".join(s.id for s in sources.values()))
        return data

    def what_we_see(self, data: FigureData) -> str:
        s = data["summary"]
        lines = []
        for (panel, mode), g in data["tests"].groupby(["panel", "mode"]):
            attack = mode if "PGD" in mode else f"{mode} FGSM"
            for b, gb in g.groupby("b"):
                lines.append(gain_sentence(f"**{panel}, {attack}, {b}**", gb, s, dict(panel=panel, mode=mode)))
        if "white-box PGD" in set(data["tests"]["mode"]):
            lines.append(f"- **Reading the white-box PGD rows:** a regularizer can raise PGD accuracy by making "
                         "gradients less useful to the attack (gradient masking; Athalye, Carlini & Wagner 2018) "
                         f"rather than by moving the decision boundary. This page runs PGD with "
                         f"{data.params.get('pgd_steps', self.pgd_steps)} steps and one random start, and none of the "
                         "checks that would rule masking out (more steps and restarts until accuracy stops falling, "
                         "a gradient-free attack at the same ε); until they are run, read a PGD gain as an upper "
                         "bound on the robustness it shows. PGD scores the first "
                         f"{data.params.get('pgd_images', self.pgd_images)} test images and FGSM "
                         f"{data.params.get('n_images', self.n_images)}, so their clean accuracy (ε = 0) and its "
                         "difference between conditions differ a little between the two.")
        return "\n".join(lines) if lines else "No numbers to summarise (empty tables)."


PAGE = Fig3


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
from pixelreg.analysis.verdicts import Rule, compare_by_seed  # noqa: E402
from pixelreg.figures.claimrows import AUC_SUMMARY, SESOI_AUC, SESOI_AUC_WHY, Claim, NoData, noisy_auc, pair_name  # noqa: E402


def _transferred(d, ctx):
    """Per dataset pair of fig3, S^Th − unregularized AUC over ε > 0 under FGSM transferred from the
    unregularized source."""
    if not ctx["all_pairs"]:
        raise NoData("fig3 has no dataset pair")
    out = {pair_name(t, r): compare_by_seed(noisy_auc(d["fig3"]["curves"], attack="fgsm", mode="transferred",
                                                      task=t, reg_data=r), "unregularized", "S^Th")
           for t, r in ctx["all_pairs"]}
    return out if len(out) > 1 else next(iter(out.values()))


CLAIMS = (
    Claim("fgsm-transfer", "Regularized models are more robust to FGSM transferred from an unregularized model, "
          "with ImageNet and with the task's own images", "Fig. 3a, 3b", ("fig3",),
          "{pairs}, S^Th vs unregularized, transferred FGSM (fig3); every pair must pass",
          f"{AUC_SUMMARY}; S^Th − unregularized", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          _transferred, "AUC", across=True),
)
