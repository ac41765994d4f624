"""The claims page: every claim of the paper (reference spec §13) with this reproduction's number, its
uncertainty and a verdict from the explicit rules in :data:`CLAIM_RULES`.

The page reads the figures' tables with their default parameters (their runs and evaluations are cached, so
this is cheap once the figures have run). The paper's datasets (MNIST, CIFAR, ImageNet) are replaced by the
``task`` and the offline natural-image pool; each row says which analogue was tested. The verdict logic is
kept apart from the figures so that it can be replaced as a whole.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from .. import stats
from ..config import DEFAULT_TASK, TrainConfig
from .common import FigureData, Page, fmt, gain_summary, msem, pfmt, white_low_share
from .fig1 import Fig1
from .fig2 import Fig2
from .fig3 import Fig3
from .fig4 import Fig4
from .fig5 import Fig5
from .fig6 import Fig6

__all__ = ["Claims", "CLAIM_RULES", "VERDICTS"]

VERDICTS = ("reproduced", "partly", "not reproduced", "not testable here")

CLAIM_RULES = {
    "gain": "reproduced: the regularized mean is higher with Holm-corrected Welch p <= 0.05 at one or more ε > 0, "
            "and (when the paper claims no clean loss) no significant drop at ε = 0; partly: a significant gain "
            "but with a clean loss the paper says does not happen, or no significant gain while the difference is "
            "positive at most ε; not reproduced: otherwise.",
    "sth_vs_pixel": "reproduced: S^pixel gains significantly for at least one attack and S^Th for more attacks "
                    "than S^pixel; partly: S^Th gains significantly for at least one attack and for at least as "
                    "many as S^pixel; not reproduced: otherwise.",
    "combos": "reproduced: a significant gain in every (dataset pair, attack) combination tested; partly: in some; "
              "not reproduced: in none.",
    "lowfreq": "reproduced: in every condition the mean share of perturbation power below the cutoff exceeds 50% "
               "and exceeds the white-noise share; partly: it exceeds the white-noise share only; "
               "not reproduced: otherwise.",
    "highfreq": "reproduced: the regularized model is significantly more accurate than the unregularized one under "
                "high-pass noise at some ε (Holm) and loses less accuracy to high-pass than to low-pass noise; "
                "partly: one of the two; not reproduced: neither.",
    "efficiency": "reproduced: the smallest k and the smallest N tested each give an AUC gain over unregularized "
                  "that exceeds 2 SEM of the unregularized AUC (so at least 2 seeds) and is at least half the gain "
                  "of the largest k / N; partly: positive gains only; not reproduced: otherwise (few ablation "
                  "seeds: a direction check, not a test).",
    "tradeoff": "reproduced: some (α, Th) has ΔR > 2 SEM of R_N with clean cost ΔC < 0.02; partly: ΔR > 0 with a "
                "larger clean cost; not reproduced: no ΔR > 0.",
    "fig1": "partly: Pearson r > 0 with its 95% bootstrap CI above 0 (a simulated V1 population, never real "
            "recordings, so at best partly); not reproduced: otherwise.",
    "none": "needs data, hardware or code this reproduction does not have.",
}


def _verdict_gain(g: dict, no_clean_loss: bool) -> str:
    if g["gain_eps"] and not (no_clean_loss and g["clean_loss"]):
        return "reproduced"
    if g["gain_eps"] or (g["positive_share"] > 0.5):
        return "partly"
    return "not reproduced"


def _gain_numbers(tests: pd.DataFrame) -> tuple[str, str]:
    g = gain_summary(tests)
    if g["best"] is None:
        return "n/a", "n/a"
    b = g["best"]
    return (f"Δacc = {b['diff']:+.3f} at ε = {b.epsilon:.3g} (clean Δ = {g['clean_diff']:+.3f})",
            f"Hedges g = {fmt(b.g, 2)} [{fmt(b.g_low, 2)}, {fmt(b.g_high, 2)}], p_holm = {pfmt(b.p_holm)}, "
            f"n = {g['n'][1]} vs {g['n'][0]} seeds")


@dataclass(frozen=True, kw_only=True)
class Claims(Page):
    """The claims table, judged on the figures' default runs at this profile."""

    name: ClassVar[str] = "claims"

    task: str = DEFAULT_TASK

    def pages(self) -> dict[str, Page]:
        """The figures the claims are judged on, with their default parameters."""
        kw = dict(profile=self.profile, task=self.task)
        return dict(fig1=Fig1(profile=self.profile), fig2=Fig2(**kw), fig3=Fig3(**kw), fig4=Fig4(**kw),
                    fig5=Fig5(**kw), fig6=Fig6(**kw))

    def configs(self) -> list[TrainConfig]:
        return list(dict.fromkeys(c for p in self.pages().values() for c in p.configs()))

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        task, profile = self.task, self.profile
        pages = self.pages()
        f1, f2, f3, f4, f5, f6 = (pages[k].data(runs_dir, progress)
                                  for k in ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6"))
        rows: list[dict] = []

        def add(claim, paper, tested, number, uncertainty, verdict, rule):
            rows.append(dict(claim=claim, paper=paper, tested_here=tested, number=number, uncertainty=uncertainty,
                             verdict=verdict, rule=rule))

        # Fig. 1
        c = f1["correlations"]
        pr = c[(c.source == "predictor") & (c.reference == "pixel") & (c.method == "pearson")]
        if len(pr):
            r = pr.iloc[0]
            add("Similarities from a V1 response predictor correlate with pixel similarity", "Fig. 1",
                "simulated V1 population + CNN predictor (fig1)", f"Pearson r = {fmt(r.r)}",
                f"95% CI [{fmt(r.ci_low)}, {fmt(r.ci_high)}], {int(r.n_pairs)} pairs",
                "partly" if r.ci_low > 0 else "not reproduced", CLAIM_RULES["fig1"])
        t2 = f2["tests"]
        same = f2["tests"][(f2["tests"].panel.str.contains(f"<- {task} ")) & (t2.b == "S^Th") & (t2.attack == "gaussian")]
        nat = t2[(t2.panel.str.contains("<- natural")) & (t2.b == "S^Th") & (t2.attack == "gaussian")]
        if len(same):
            add("S^Th (MNIST <- MNIST, α=4, Th=0.2) is significantly more robust to Gaussian noise at high noise, "
                "with no loss on clean images", "Fig. 2a", f"{task} <- {task}, S^Th vs unregularized, Gaussian (fig2)",
                *_gain_numbers(same), _verdict_gain(gain_summary(same), True), CLAIM_RULES["gain"])
        if len(nat):
            add("Regularizing with ImageNet (α=10, Th=0.8) gives a large Gaussian-noise robustness gain at a slight "
                "clean-accuracy cost (CIFAR-10, CIFAR-100)", "Fig. 2b, 2c",
                f"{task} <- natural photographs (ImageNet stand-in), S^Th, Gaussian (fig2)",
                *_gain_numbers(nat), _verdict_gain(gain_summary(nat), False), CLAIM_RULES["gain"])
        t3 = f3["tests"]
        for r_src, label in ((task, "CIFAR-10"), ("natural", "ImageNet")):
            sel = t3[(t3.panel.str.contains(f"<- {r_src} ")) & (t3.b == "S^Th") & (t3["mode"] == "transferred")]
            if len(sel):
                add(f"Regularized with {label}, the model is more robust to FGSM transferred from an unregularized "
                    "model", "Fig. 3" + ("a" if label == "ImageNet" else "b"),
                    f"{task} <- {r_src}, S^Th, transferred FGSM (fig3)", *_gain_numbers(sel),
                    _verdict_gain(gain_summary(sel), False), CLAIM_RULES["gain"])
        # S^pixel helps for some attacks, S^Th further for more
        nsig = {}
        for b in ("S^pixel", "S^Th"):
            sel = t2[t2.b == b]
            nsig[b] = sum(bool(gain_summary(g)["gain_eps"]) for _, g in sel.groupby(["panel", "attack"]))
        total = t2.groupby(["panel", "attack"]).ngroups
        v = ("reproduced" if nsig["S^Th"] > nsig["S^pixel"] >= 1 else
             "partly" if nsig["S^Th"] >= max(1, nsig["S^pixel"]) else "not reproduced")
        add("Raw S^pixel as target helps for some attacks; S^Th helps further, across a wider range", "Figs. 2-3 text",
            "fig2: (panel, attack) families with a significant gain", f"S^pixel {nsig['S^pixel']}/{total}, "
            f"S^Th {nsig['S^Th']}/{total}", "Welch + Holm per family", v, CLAIM_RULES["sth_vs_pixel"])
        # across combinations and attacks
        fams = [(k, g) for k, g in t2[t2.b == "S^Th"].groupby(["panel", "attack"])]
        fams += [(k, g) for k, g in t3[(t3.b == "S^Th") & (t3["mode"] == "transferred")].groupby(["panel"])]
        won = sum(bool(gain_summary(g)["gain_eps"]) for _, g in fams)
        bnd = f4["boundary"]
        bu = bnd[bnd.condition == "unregularized"]["mean_median_mse"].to_numpy(float)
        br = bnd[bnd.condition != "unregularized"]["mean_median_mse"].to_numpy(float)
        bsig = False
        if len(bu) > 1 and len(br) > 1 and not (np.isnan(bu).any() or np.isnan(br).any()):
            _, p = stats.two_sample_test(bu, br)
            bsig = bool(p <= 0.05 and br.mean() > bu.mean())
        won += bsig
        n_f = len(fams) + 1
        add("Robustness gains hold across classification/regularization combinations and black-box attacks "
            "(Gaussian, salt-and-pepper, uniform, transferred FGSM, boundary)", "Results §3, conclusion",
            "S^Th: fig2 noise families, fig3 transferred FGSM, fig4 boundary MSE", f"{won}/{n_f} families significant",
            f"boundary: median MSE {fmt(np.nanmean(br), 5)} vs {fmt(np.nanmean(bu), 5)} unregularized",
            "reproduced" if won == n_f else "partly" if won else "not reproduced", CLAIM_RULES["combos"])
        # boundary spectra
        lf = f4["lowfreq"]
        if len(lf):
            cut = float(lf.cutoff.iloc[0])
            share = lf.groupby("condition")["low_fraction"].mean()
            white = white_low_share(cut)
            v = ("reproduced" if (share > 0.5).all() and (share > white).all() else
                 "partly" if (share > white).all() else "not reproduced")
            add("Minimal boundary-attack perturbations are mostly low-frequency", "poster ii",
                f"fig4: share of power below {cut:g} cycles/pixel",
                ", ".join(f"{k}: {v_:.2f}" for k, v_ in share.items()), f"white noise: {white:.2f}", v,
                CLAIM_RULES["lowfreq"])
        bt = f4["band_tests"]
        if len(bt):
            hp = bt[bt.attack == "high-pass"]
            hp_gain = bool(gain_summary(hp)["gain_eps"]) if len(hp) else False
            bs = f4["band_summary"]
            emax = float(bs.epsilon.max())
            reg = [c_ for c_ in bs.condition.unique() if c_ != "unregularized"][0]
            drop = {a: msem(bs, dict(attack=a, epsilon=0.0), reg)[0] - msem(bs, dict(attack=a, epsilon=emax), reg)[0]
                    for a in ("low-pass", "high-pass")}
            less = drop["high-pass"] < drop["low-pass"]
            add("Regularized models are insensitive to high-frequency perturbations", "poster ii",
                "fig4: accuracy under high- vs low-pass Gaussian noise of equal energy",
                f"regularized accuracy drop at ε = {emax:g}: high-pass {drop['high-pass']:.3f}, "
                f"low-pass {drop['low-pass']:.3f}", _gain_numbers(hp)[1] if len(hp) else "n/a",
                "reproduced" if hp_gain and less else "partly" if hp_gain or less else "not reproduced",
                CLAIM_RULES["highfreq"])
        # efficiency
        pts = f5["points"]
        base = pts[pts.alpha == 0]["auc"].mean()
        reg = pts[pts.alpha > 0]
        dflt_n, dflt_k = pages["fig5"].fixed_pool_size, pages["fig5"].fixed_pairs
        ks = reg[reg.pool_size == dflt_n].groupby("pairs")["auc"].mean() - base
        ns = reg[reg.pairs == dflt_k].groupby("pool_size")["auc"].mean() - base
        if len(ks) and len(ns):
            small_k, big_k = ks.iloc[0], ks.iloc[-1]
            small_n, big_n = ns.iloc[0], ns.iloc[-1]
            base_sem = float(pts[pts.alpha == 0]["auc"].sem()) if (pts.alpha == 0).sum() > 1 else math.nan
            ok = small_k > 0 and small_n > 0
            clear = not math.isnan(base_sem) and min(small_k, small_n) > 2 * base_sem
            v = ("reproduced" if ok and clear and small_k >= 0.5 * big_k and small_n >= 0.5 * big_n else
                 "partly" if ok else "not reproduced")
            add("A small regularization batch k and a small pool N suffice", "poster iii",
                "fig5: AUC gain over unregularized (Gaussian) at the smallest and largest k and N",
                f"k={ks.index[0]}: {small_k:+.3f}, k={ks.index[-1]}: {big_k:+.3f}; "
                f"N={ns.index[0]}: {small_n:+.3f}, N={ns.index[-1]}: {big_n:+.3f}",
                f"{int(pts.seed.nunique())} seed(s) per cell; unregularized AUC SEM {fmt(base_sem)}", v,
                CLAIM_RULES["efficiency"])
        # trade-off
        g6 = f6["grid"]
        g6g = g6[g6.attack == "gaussian"] if (g6.attack == "gaussian").any() else g6
        if len(g6g):
            best = g6g.loc[g6g.delta_R.idxmax()]
            good = g6g[(g6g.delta_R > 2 * g6g.R_N_sem.fillna(np.inf)) & (g6g.delta_C < 0.02)]
            v = "reproduced" if len(good) else "partly" if (g6g.delta_R > 0).any() else "not reproduced"
            add("(α, Th) can be chosen so that the accuracy-robustness trade-off is small", "poster 5",
                "fig6: C_0, R_0, C_N, R_N over the (α, Th) grid (Gaussian)",
                f"best ΔR = {best.delta_R:+.3f} at α={best.alpha:g}, Th={best.th:g} with ΔC = {best.delta_C:+.3f}",
                f"R_N SEM {fmt(best.R_N_sem)}; {len(good)} grid point(s) meet the rule", v, CLAIM_RULES["tradeoff"])
        # not testable
        rt = f2.runs
        wall = rt["wall_time_s"].astype(float)
        add("Training a ResNet18/34 on CIFAR takes 34 / 48 min on an A100", "Setup", "no GPU, no CIFAR here",
            f"{wall.mean() / 60:.1f} min per run at profile '{profile}'", "", "not testable here", CLAIM_RULES["none"])
        add("Li et al. (2019): regularizing with mouse-V1 similarities keeps clean accuracy and gains robustness",
            "Li et al. 2019", "no neural recordings", "", "", "not testable here", CLAIM_RULES["none"])
        claims = pd.DataFrame(rows)[["claim", "verdict", "number", "uncertainty", "tested_here", "paper", "rule"]]
        runs = pd.concat([f.runs for f in (f2, f3, f4, f5, f6)], ignore_index=True).drop_duplicates("run")
        return FigureData("claims", dict(profile=profile, task=task), dict(claims=claims), runs,
                          "pixelreg.figures.claims.Claims.data", self)

    def what_we_see(self, data: FigureData) -> str:
        counts = data["claims"].verdict.value_counts()
        return "Verdicts at this profile: " + ", ".join(f"{v}: {int(k)}" for v, k in counts.items()) + "."


PAGE = Claims
