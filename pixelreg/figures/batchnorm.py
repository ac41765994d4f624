"""BatchNorm and the regularization pool: how much of the regularizer's effect is the pair images' share of the
BatchNorm running statistics?

In the reference code (and in ``pair_bn="update"``, the default) the pair images go through the network in
training mode, so every BatchNorm layer's running statistics, which the model uses at test time, are partly
estimated on the regularization pool. For a Fashion-MNIST model regularized on natural photographs that is a
different image distribution. The page separates the two effects three ways, paired by seed:

- **training mode vs evaluation mode**: the accuracy of the last epoch's training batches (batch statistics) vs
  the selected epoch's test accuracy (running statistics);
- **re-estimation**: the same trained weights with every BatchNorm layer's running statistics recomputed from
  task training images (``pixelreg.robustness.evaluate.reestimate_batchnorm``: 50 batches of 64), nothing
  else changed;
- **the alternative**: the same run trained with ``pair_bn="task-only"``, where the pairs are normalised with
  their own batch statistics but leave the running statistics to the task images.

Robustness is the area under the Gaussian-noise curve over ε > 0 (the mean of the piecewise-linear accuracy curve over the noisy points);
clean accuracy is the ε = 0 point.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from pixelreg.analysis import stats
from pixelreg.experiment.config import TrainConfig
from pixelreg.robustness.evaluate import BN_BATCH_SIZE, BN_BATCHES, bn_reestimated, robust_accuracy
from pixelreg.figures.common import FigureData, TrainedFigure, as_tuple, ensure_runs, fmt, positive_int, runs_table
from pixelreg.figures.sentences import too_few_to_judge

__all__ = ["BatchNorm", "auc_noisy"]

# Seeds per profile where they differ from the profile's own: at `full` the runs of seeds 5-9, trained in the
# round that added this page, still have their checkpoints (needed for re-estimation); the records of seeds
# 0-4 hold no weights.
SEEDS = {"full": tuple(range(5, 10))}

TREATMENTS = ("as trained", "re-estimated", "task-only BN")


def auc_noisy(curves: pd.DataFrame, keys=("run",)) -> pd.DataFrame:
    """Per ``keys``: clean accuracy (ε = 0) and the area under the curve over ε > 0 (the mean accuracy over the
    noisy part of the grid, :func:`pixelreg.analysis.stats.auc` on the ε > 0 points)."""
    rows = []
    for k, g in curves.groupby(list(keys)):
        g = g.sort_values("epsilon")
        clean = g.loc[g.epsilon == 0, "accuracy"]
        noisy = g[g.epsilon > 0]
        rows.append(dict(zip(keys, k if isinstance(k, tuple) else (k,)),
                         clean=float(clean.iloc[0]) if len(clean) else np.nan,
                         auc=stats.auc(noisy.epsilon, noisy.accuracy) if len(noisy) > 1 else np.nan))
    return pd.DataFrame(rows)


@dataclass(frozen=True, kw_only=True)
class BatchNorm(TrainedFigure):
    """Clean accuracy and Gaussian AUC per pool and condition: as trained, after BatchNorm re-estimation on task
    images, and trained with ``pair_bn="task-only"``; plus training-mode vs evaluation-mode accuracy."""

    name: ClassVar[str] = "batchnorm"
    interim_fields: ClassVar[dict[str, int]] = {"seeds": 2}  # records mode: the seeds published so far
    # the plan: the task and its pools (the foreign pool first)
    PLANS: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "analogue": ("fashion-mnist", ("natural", "fashion-mnist")),
        "paper": ("cifar10", ("imagenet", "cifar10")),
    }

    plan: str | None = None  # "paper" or "analogue"; None: the profile's
    task: str | None = None  # None: the plan's
    reg_data: tuple[str, ...] | None = None  # pools; None: the plan's (a foreign pool and the task's own)
    seeds: tuple[int, ...] | None = None  # None: SEEDS of the profile, else the profile's seeds
    bn_batches: int | None = None  # batches of 64 task training images for re-estimation; None: 50 (fewer
    # where the profile trains on a subset too small for 50: smoke 4)
    n_images: int | None = None  # test images per curve; None: the profile's

    def profile_defaults(self, prof):
        task, pools = self.PLANS[self.plan]
        t = self.task or task
        subset = prof.value("train_subset")  # a profile on a training subset has fewer batches to draw
        batches = BN_BATCHES if subset is None else max(1, min(BN_BATCHES, subset // BN_BATCH_SIZE))
        return dict(task=t, reg_data=pools if t == task else (t,), seeds=SEEDS.get(prof.name, prof.seeds),
                    bn_batches=batches, n_images=prof.eval_images)

    def check(self) -> None:
        self._set("reg_data", as_tuple("reg_data", self.reg_data, str))
        positive_int("bn_batches", self.bn_batches)

    def conditions(self, pool: str) -> list[tuple[str, str]]:
        """(target, pair_bn) of the regularized runs of a pool: S^Th both ways, and S^pixel both ways for a
        pool other than the task's own images."""
        targets = ["thresholded"] + (["pixel"] if pool != self.task else [])
        return [(t, bn) for t in targets for bn in ("update", "task-only")]

    def configs(self) -> list[TrainConfig]:
        out = []
        for seed in self.seeds:
            out.append(self.unreg(seed))
            for pool in self.reg_data:
                a, th = self.reg_params(pool)
                for target, bn in self.conditions(pool):
                    out.append(self.cfg(reg_data=pool, alpha=a, th=th, target=target, seed=seed, pair_bn=bn))
        return out

    def held(self, configs, runs_dir=None):
        """A run published without weights serves the page only if its record has both of the page's Gaussian
        curves: as trained, and after re-estimation from :attr:`bn_batches` batches. A record published with
        its metrics only, before its seed's evaluations, leaves its seed out."""
        from pixelreg.experiment.sweep import held_runs

        return held_runs(configs, runs_dir, (("acc-gaussian", bn_reestimated(None)),
                                             ("acc-gaussian", bn_reestimated(self.bn_batches))))

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        """Tables: ``modes`` (per run: training-mode accuracy of the last epoch, evaluation-mode test accuracy of
        the selected epoch), ``curves`` (Gaussian noise, as trained and re-estimated), ``points`` (per run and
        treatment: clean accuracy, AUC over ε > 0), ``effects`` (paired by seed: re-estimated - as trained,
        task-only - reference, and each treatment - unregularized; paired t, 95% CI)."""
        configs = self.configs()
        runs = ensure_runs(configs, runs_dir, progress)
        ok = self.usable(runs)
        keep = {r.id for r in ok}
        modes = []
        for r in dict.fromkeys(runs):
            m, best = r.metrics, r.provenance.get("best_epoch")
            modes.append(dict(run=r.id, seed=r.config.seed, **self._labels(r.config),
                              train_mode_acc=m[-1].get("train_acc"),
                              eval_mode_acc=m[best]["test_acc"] if best is not None and best < len(m) else None,
                              eval_mode_acc_last=m[-1].get("test_acc"), selected_epoch=best,
                              failed=r.id not in keep))
        modes = pd.DataFrame(modes)
        trained = self.curves(ok, ["gaussian"], self.n_images)
        reest = robust_accuracy(ok, "gaussian", n_images=self.n_images, precision=self.precision,
                                bn_batches=self.bn_batches)
        curves = pd.concat([trained, reest], ignore_index=True)
        labels = pd.DataFrame([dict(run=r.id, **self._labels(r.config)) for r in ok])
        curves = curves.drop(columns=["target"]).merge(labels, on="run", how="left")
        pts = auc_noisy(curves, keys=("run", "seed", "pool", "target", "pair_bn", "bn"))
        pts["treatment"] = np.where(pts.pair_bn == "task-only",
                                    np.where(pts.bn == "as trained", "task-only BN", "task-only BN, re-estimated"),
                                    np.where(pts.bn == "as trained", "as trained", "re-estimated"))
        effects = self._effects(pts)
        return self.figure_data(dict(modes=modes, curves=curves, points=pts, effects=effects), runs_table(runs))

    def _labels(self, c: TrainConfig) -> dict:
        return dict(pool=c.pool_source if c.regularized else "-",
                    target={"thresholded": "S^Th", "pixel": "S^pixel"}.get(c.target, c.target)
                    if c.regularized else "unregularized",
                    pair_bn=c.pair_bn if c.regularized else "-")

    @staticmethod
    def _effects(pts: pd.DataFrame) -> pd.DataFrame:
        rows = []
        unreg = pts[(pts.target == "unregularized") & (pts.treatment == "as trained")].set_index("seed")
        unreg_re = pts[(pts.target == "unregularized") & (pts.treatment == "re-estimated")].set_index("seed")

        def add(pool, target, pairs):
            for what, a, b in pairs:
                if a is None or b is None:
                    continue
                seeds = sorted(set(a.index) & set(b.index))
                for metric in ("clean", "auc"):
                    c = stats.paired_test(a.loc[seeds, metric].to_numpy(float), b.loc[seeds, metric].to_numpy(float),
                                          permutation=False)
                    rows.append(dict(pool=pool, target=target, comparison=what, metric=metric, n=len(seeds),
                                     mean_a=float(a.loc[seeds, metric].mean()) if seeds else np.nan,
                                     mean_b=float(b.loc[seeds, metric].mean()) if seeds else np.nan,
                                     diff=c.estimate, ci_low=c.ci_low, ci_high=c.ci_high, p=c.p))

        for (pool, target), g in pts[pts.target != "unregularized"].groupby(["pool", "target"]):
            by = {t: gg.set_index("seed") for t, gg in g.groupby("treatment")}
            add(pool, target, [("re-estimated - as trained", by.get("as trained"), by.get("re-estimated")),
                               ("task-only BN - as trained", by.get("as trained"), by.get("task-only BN")),
                               ("task-only BN re-estimated - task-only BN", by.get("task-only BN"),
                                by.get("task-only BN, re-estimated"))]
                + [(f"{t} - unregularized", unreg, by.get(t)) for t in ("as trained", "re-estimated", "task-only BN")])
        # the unregularized runs' own re-estimation: one comparison, not repeated under every pool and target
        if len(unreg) and len(unreg_re):
            add("-", "unregularized", [("unregularized re-estimated - as trained", unreg, unreg_re)])
        return pd.DataFrame(rows)

    def what_we_see(self, data: FigureData) -> str:
        e, modes = data["effects"], data["modes"]
        if not len(e):
            return "No numbers to summarise (empty tables)."
        lines = []
        m = modes[~modes.failed]
        for (pool, target), g in m[m.target != "unregularized"].groupby(["pool", "target"]):
            for bn, gg in g.groupby("pair_bn"):
                lines.append(f"- **{target} <- {pool}, pair_bn {bn}**: training-mode accuracy "
                             f"{fmt(gg.train_mode_acc.mean())} vs evaluation-mode test accuracy "
                             f"{fmt(gg.eval_mode_acc.mean())} ({len(gg)} runs).")
        u = m[m.target == "unregularized"]
        if len(u):
            lines.append(f"- **unregularized**: training mode {fmt(u.train_mode_acc.mean())}, evaluation mode "
                         f"{fmt(u.eval_mode_acc.mean())} ({len(u)} runs).")

        def row(pool, target, comp, metric):
            r = e[(e.pool == pool) & (e.target == target) & (e.comparison == comp) & (e.metric == metric)]
            return None if not len(r) else r.iloc[0]

        def say(r, unit):
            if r is None or not np.isfinite(r["diff"]):
                return "n/a"
            return (f"{r['diff']:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] ({unit}, {int(r.n)} seed pairs)"
                    if np.isfinite(r.ci_low) else f"{r['diff']:+.3f} ({int(r.n)} seed pairs, no interval)")

        for pool in self.reg_data:
            for target in ("S^Th", "S^pixel"):
                if row(pool, target, "as trained - unregularized", "clean") is None:
                    continue
                parts = []
                for comp in ("as trained - unregularized", "re-estimated - unregularized",
                             "task-only BN - unregularized"):
                    c, a = row(pool, target, comp, "clean"), row(pool, target, comp, "auc")
                    parts.append(f"{comp.split(' - ')[0]}: clean {say(c, 'accuracy')}, Gaussian AUC {say(a, 'AUC')}")
                lines.append(f"- **{target} <- {pool} minus unregularized**, paired by seed: " + "; ".join(parts) + ".")
        twins = same_training(modes)
        if twins:
            lines.append(twins)
        lines.append(self._meaning(row))
        return "\n".join(lines)

    def _meaning(self, row) -> str:
        return bn_meaning(row, self.reg_data[0])


def _ci(r) -> str:
    return f"{r['diff']:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"


def bn_meaning(row, pool: str) -> str:
    """What the BatchNorm page's numbers mean for the paper's clean-cost claim, per regularized target on the
    foreign ``pool``, decided by the 95% paired intervals of ``row(pool, target, comparison, metric)``.

    The BatchNorm share of the clean cost is measured directly, on the same weights: re-estimated − as trained
    clean accuracy (``d_clean``).

    - BatchNorm's share: re-estimation raises clean accuracy (interval above 0), lowers it (below 0), or does
      not change it beyond its interval (undecided at this number of seeds, not evidence of no effect); then
      whether a cost against the unregularized model remains after re-estimation (interval below 0), or none
      that its interval can tell from zero (again undecided, not evidence of none).
    - The robustness gain after re-estimation: remains (interval above 0; then smaller than as trained when the
      re-estimated − as trained AUC interval is below 0, larger when it is above, as large when it lies within
      ±SESOI_AUC, else undecided), reversed (below 0), taken away (the change is below 0 and nothing is left that
      the interval can tell from zero), or undecided.
    """
    out = []
    for target in ("S^Th", "S^pixel"):
        c_tr, c_re = (row(pool, target, f"{t} - unregularized", "clean") for t in ("as trained", "re-estimated"))
        a_tr, a_re = (row(pool, target, f"{t} - unregularized", "auc") for t in ("as trained", "re-estimated"))
        d_clean, d_auc = (row(pool, target, "re-estimated - as trained", m) for m in ("clean", "auc"))
        need = (c_tr, c_re, a_tr, a_re, d_clean, d_auc)
        if all(r is None for r in need):
            continue
        if any(r is None or not np.isfinite(r.ci_low) for r in need):
            out.append(f"for {target} <- {pool}, too few seed pairs for intervals: the question stays open.")
            continue
        n = int(d_clean.n) if "n" in d_clean and np.isfinite(d_clean.n) else None
        at_n = f" at {n} seed pairs" if n else ""
        few = too_few_to_judge(n, n) if n is not None else None
        if few:
            out.append(f"for {target} <- {pool}, {few}: clean accuracy re-estimated − as trained {_ci(d_clean)}, "
                       f"re-estimated − unregularized {_ci(c_re)} (as trained {_ci(c_tr)}); Gaussian AUC "
                       f"re-estimated − as trained {_ci(d_auc)}, re-estimated − unregularized {_ci(a_re)} (as "
                       f"trained {_ci(a_tr)}).")
            continue
        if d_clean.ci_low > 0:
            cost = (f"re-estimating its BatchNorm statistics on task images, same weights, raises its clean "
                    f"accuracy by {_ci(d_clean)}: that much of its clean difference as trained ({_ci(c_tr)}) is "
                    f"the pool's share of the running statistics")
        elif d_clean.ci_high < 0:
            cost = (f"re-estimating its BatchNorm statistics on task images lowers its clean accuracy "
                    f"({_ci(d_clean)}): its clean difference as trained ({_ci(c_tr)}) is not a BatchNorm artefact")
        else:
            cost = (f"re-estimating its BatchNorm statistics does not change its clean accuracy beyond its interval "
                    f"({_ci(d_clean)}): undecided{at_n} whether any of its clean difference as trained "
                    f"({_ci(c_tr)}) is BatchNorm's")
        if c_re.ci_high < 0:
            cost += f"; a clean cost remains after re-estimation ({_ci(c_re)})"
        else:
            cost += (f"; after re-estimation no clean cost is left that its interval can tell from zero "
                     f"({_ci(c_re)}; undecided{at_n}, not evidence of no cost)")
        if a_re.ci_low > 0:
            gain = f"a Gaussian-AUC gain remains after re-estimation ({_ci(a_re)})"
            if d_auc.ci_high < 0:
                gain += (f", smaller than as trained ({_ci(a_tr)}): re-estimation takes {_ci(d_auc)} of it, so "
                         "part of the gain was BatchNorm's too")
            elif d_auc.ci_low > 0:
                gain += f", larger than as trained ({_ci(a_tr)}): re-estimation adds {_ci(d_auc)}"
            elif -SESOI_AUC < d_auc.ci_low and d_auc.ci_high < SESOI_AUC:
                gain += (f", as large as trained ({_ci(a_tr)}): the change, {_ci(d_auc)}, lies within "
                         f"±{SESOI_AUC:g} AUC")
            else:
                gain += (f"; whether it is smaller than as trained ({_ci(a_tr)}) is undecided{at_n}: a change of "
                         f"{_ci(d_auc)}")
        elif a_re.ci_high < 0:
            gain = f"after re-estimation it is less robust than the unregularized model ({_ci(a_re)})"
        elif d_auc.ci_high < 0:
            gain = (f"re-estimation takes {_ci(d_auc)} of its Gaussian AUC, and no gain over the unregularized "
                    f"model is left that its interval can tell from zero ({_ci(a_re)}, against {_ci(a_tr)} as "
                    f"trained): the gain went with the BatchNorm statistics")
        elif a_tr.ci_low > 0:
            gain = (f"whether its Gaussian-AUC gain survives re-estimation is undecided{at_n}: "
                    f"{_ci(a_tr)} as trained, {_ci(a_re)} re-estimated, a change of {_ci(d_auc)}")
        else:
            gain = (f"no Gaussian-AUC gain over the unregularized model is shown, as trained or re-estimated "
                    f"(undecided{at_n}, not evidence of no gain): {_ci(a_tr)} as trained, {_ci(a_re)} re-estimated, "
                    f"a change of {_ci(d_auc)}")
        out.append(f"for {target} <- {pool}, {cost}; {gain}.")
    if not out:
        return "**What this means:** no regularized run on this pool; nothing to say about the clean-cost claim."
    return ("**What this means for the paper's clean-cost claim** (95% paired intervals; 'as trained' is the "
            "reference protocol, which the paper used): " + " And ".join(out))


def same_training(modes: pd.DataFrame) -> str:
    """One sentence from the ``modes`` table: do the reference and task-only runs of each regularized condition
    reach the same training-mode accuracy in their last epoch, seed by seed? The running statistics never enter a
    training-mode forward pass, so the two train the same weights unless something else differs; they then
    differ only in their running statistics and, through the validation loss computed in evaluation mode, in
    the epoch that model selection keeps."""
    m = modes[~modes.failed & (modes.target != "unregularized")]
    pairs = equal = same_epoch = 0
    for _, g in m.groupby(["pool", "target", "seed"]):
        g = g.set_index("pair_bn")
        acc = g["train_mode_acc"]
        if {"update", "task-only"} <= set(acc.index):
            pairs += 1
            equal += int(np.isclose(float(acc["update"]), float(acc["task-only"]), rtol=0, atol=1e-12))
            if "selected_epoch" in g:
                same_epoch += int(g.loc["update", "selected_epoch"] == g.loc["task-only", "selected_epoch"])
    if not pairs:
        return ""
    if equal == pairs:
        kept = (f" Model selection kept the same epoch for both twins in {same_epoch} of the {pairs} pairs; in the "
                "others the two are the same trajectory's weights at different epochs." if "selected_epoch" in m
                else "")
        return (f"- **The alternative trains the same weights.** In all {pairs} pairs of a reference run and its "
                "task-only twin (same condition and seed), the last epoch's training-mode accuracy is equal to the "
                "last digit. In training mode every BatchNorm layer normalises with the batch's own statistics, so "
                "the running statistics never reach the loss: the twins differ only in their running statistics "
                "and, through the validation loss (computed in evaluation mode), in the epoch model selection "
                "keeps." + kept + " Task-only BN is a running-average re-estimation on the task batches, not "
                "another training.")
    return (f"- **The alternative changes training:** the last epoch's training-mode accuracy differs in "
            f"{pairs - equal} of {pairs} pairs of a reference run and its task-only twin (same condition and seed).")


PAGE = BatchNorm


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
# Exploratory (declared after the confirmatory family was fixed): whether the natural pool's clean cost and
# robustness gain survive taking the pair images out of the BatchNorm running statistics.
from pixelreg.analysis.verdicts import Rule, compare_by_seed  # noqa: E402
from pixelreg.figures.claimrows import AUC_SUMMARY, SESOI_AUC, SESOI_AUC_WHY, SLIGHT_LOSS_MARGIN, Claim, NoData  # noqa: E402

BN_SESOI_CLEAN = SLIGHT_LOSS_MARGIN
BN_SESOI_CLEAN_WHY = ("2 points of clean accuracy, the margin of a 'slight' loss: a recovery smaller than that "
                      "would leave the clean-cost verdict where it is")


def _foreign_pool(points: pd.DataFrame) -> str:
    pools = [p for p in points["pool"].unique() if p not in ("-",)]
    foreign = [p for p in pools if p in ("natural", "imagenet")]
    if not foreign:
        raise NoData("no S^Th run regularized on a foreign (natural-image) pool")
    return foreign[0]


def bn_summary(points: pd.DataFrame, metric: str, treatments: dict[str, str], target: str = "S^Th") -> pd.DataFrame:
    """Per (condition, seed) the page's ``metric`` ("clean" or "auc"), for the conditions named by
    ``treatments`` (condition label -> treatment of ``target`` on the foreign pool, or "unregularized" for the
    unregularized runs as trained)."""
    pool = _foreign_pool(points)
    rows = []
    for label, treat in treatments.items():
        if treat == "unregularized":
            sel = points[(points.target == "unregularized") & (points.treatment == "as trained")]
        else:
            sel = points[(points.target == target) & (points.pool == pool) & (points.treatment == treat)]
        rows.append(sel.assign(condition=label)[["condition", "seed", metric]].rename(columns={metric: "value"}))
    out = pd.concat(rows, ignore_index=True)
    if out["condition"].nunique() < len(treatments):
        raise NoData(f"the batchnorm page has no runs for {sorted(set(treatments) - set(out['condition']))}")
    return out


def _bn_compare(metric: str, a: tuple[str, str], b: tuple[str, str]):
    def compare(d, ctx):
        s = bn_summary(d["batchnorm"]["points"], metric, dict((a, b)))
        return compare_by_seed(s, a[0], b[0], value="value")
    return compare


CLAIMS = (
    Claim("bn-clean", "S^Th <- natural images loses clean accuracy because the pair images enter the BatchNorm "
          "running statistics (not a claim of the paper: the artefact check of the BatchNorm page)",
          "beyond the paper", ("batchnorm",),
          "S^Th <- natural images, the same weights with BatchNorm statistics re-estimated on task images vs as "
          "trained (the reference protocol)", "clean accuracy per run; re-estimated − as trained",
          Rule(sesoi=BN_SESOI_CLEAN, unit="accuracy", why=BN_SESOI_CLEAN_WHY),
          _bn_compare("clean", ("as trained", "as trained"), ("re-estimated", "re-estimated")), "accuracy"),
    Claim("bn-gain-reestimated", "S^Th <- natural images keeps a Gaussian-noise robustness gain once its BatchNorm "
          "statistics come from task images only (not a claim of the paper)", "beyond the paper", ("batchnorm",),
          "S^Th <- natural images, BatchNorm re-estimated on task images, vs the unregularized runs",
          f"{AUC_SUMMARY}; S^Th re-estimated − unregularized", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          _bn_compare("auc", ("unregularized", "unregularized"), ("S^Th re-estimated", "re-estimated")), "AUC"),
    Claim("bn-gain-task-only", "S^Th <- natural images trained with task-only BatchNorm statistics (the pairs "
          "leave the running statistics alone) is more robust to Gaussian noise than the unregularized model "
          "(not a claim of the paper)", "beyond the paper", ("batchnorm",),
          "S^Th <- natural images trained with pair_bn task-only vs the unregularized runs",
          f"{AUC_SUMMARY}; S^Th task-only BN − unregularized", Rule(sesoi=SESOI_AUC, unit="AUC", why=SESOI_AUC_WHY),
          _bn_compare("auc", ("unregularized", "unregularized"), ("S^Th task-only BN", "task-only BN")), "AUC"),
)
