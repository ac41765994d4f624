"""The claims page (issue 13): every claim row on synthetic figure tables built with a known strong effect, a null
effect, a reversed effect and too little power, and the verdict each must give; rows of figures whose runs are
missing (records mode); Holm across the page; no verdict outside the four.

Synthetic tables have the columns the figures' ``data()`` returns; seeds share an offset across conditions (as
shared initial weights would), so the paired design matters. Effects are given in units of each row's SESOI
(or margin), so one set of cases serves every row.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from pixelreg.errors import MissingRunsError, RecordOnlyRunError
from pixelreg.figures import claims as cl
from pixelreg.figures.claims import CLAIMS, Claims, claims_table
from pixelreg.figures.common import FigureData
from pixelreg.analysis.verdicts import EXPLORATORY_LABELS, VERDICTS

TASK = "fashion-mnist"
POOLS = (TASK, "natural")
EPS = (0.0, 0.1, 0.2, 0.3)
NOISE = ("gaussian", "uniform", "salt-pepper")
POINT = (1.0, 0.8)  # the trade-off point judged on fig6
BY_KEY = {c.key: c for c in CLAIMS}


class World:
    """Synthetic figure tables. ``effects`` maps a claim key to the difference its comparison should see
    (b − a in the summary's units); everything else is null. ``seeds`` and ``noise`` (run-level SD in the
    summary's units) set the power."""

    def __init__(self, effects: dict[str, float], seeds: int, noise: float, rng: int = 0, antithetic: bool = False):
        """``antithetic``: the second half of the seeds replays the first half's run noise negated, so every
        paired difference's sample mean is exactly the effect (a null is exactly null, whatever the draws)."""
        self.e, self.n, self.noise = effects, seeds, noise
        self.g = np.random.default_rng(rng)
        self.off = self.g.normal(0, 0.03, size=seeds)  # per-seed offsets shared by all conditions of a seed
        self.anti = antithetic and seeds % 2 == 0
        self._k: dict[int, int] = {}
        self._draws: dict[tuple[int, int], float] = {}

    def eps_noise(self, seed: int) -> float:
        k = self._k[seed] = self._k.get(seed, -1) + 1
        half = self.n // 2
        if self.anti and seed >= half:
            return -self._draws[(seed - half, k)]
        v = self._draws[(seed, k)] = float(self.g.normal(0, self.noise))
        return v

    def curve(self, seed, cond, noisy_shift=0.0, clean_shift=0.0, **labels) -> list[dict]:
        run_noise = self.eps_noise(seed)  # one draw per run: the AUC and the clean point move together
        labels = {"task": TASK, **labels}  # the figures' curves name their task
        return [dict(run=f"{cond}-{seed}-{'-'.join(map(str, labels.values()))}", seed=seed, condition=cond,
                     epsilon=e, accuracy=0.9 - e + self.off[seed] + run_noise + (noisy_shift if e > 0 else clean_shift),
                     **labels) for e in EPS]

    # -- figures ---------------------------------------------------------------------------------------
    def fig2(self) -> FigureData:
        e, rows = self.e, []
        for s in range(self.n):
            unreg = {a: self.curve(s, "unregularized", attack=a) for a in NOISE}
            for pool in POOLS:
                tag = "task" if pool == TASK else "natural"
                for a in NOISE:  # one unregularized run, shown in both panels
                    rows += [dict(r, reg_data=pool, panel=pool) for r in unreg[a]]
                    th = e.get("across", 0.0) + e.get("sth-vs-pixel", 0.0) + (
                        e.get(f"gain-{tag}", 0.0) if a == "gaussian" else 0.0)
                    px = e.get("pixel-gain", 0.0)
                    rows += self.curve(s, "S^Th", th, e.get(f"clean-{tag}", 0.0), attack=a, reg_data=pool,
                                       panel=pool)
                    rows += self.curve(s, "S^pixel", px, attack=a, reg_data=pool, panel=pool)
        return FigureData("fig2", {}, dict(curves=pd.DataFrame(rows)))

    def fig3(self) -> FigureData:
        e, rows = self.e, []
        for s in range(self.n):
            for pool in POOLS:
                for mode in ("transferred", "white-box"):
                    lab = dict(attack="fgsm", reg_data=pool, panel=pool, mode=mode)
                    th = (e.get("fgsm-transfer", 0.0) + e.get("across", 0.0)) if mode == "transferred" else 0.0
                    rows += self.curve(s, "unregularized", **lab) + self.curve(s, "S^Th", th, **lab)
        return FigureData("fig3", {}, dict(curves=pd.DataFrame(rows)))

    def combos(self) -> FigureData:
        e, rows = self.e, []
        for s in range(self.n):
            for pool in POOLS:
                for a in (*NOISE, "fgsm"):
                    lab = dict(attack=a, reg_data=pool, pair=f"{TASK}<-{pool}")
                    rows += self.curve(s, "unregularized", **lab) + self.curve(s, "S^Th", e.get("across", 0.0), **lab)
        return FigureData("combos", {}, dict(curves=pd.DataFrame(rows)))

    def fourier(self) -> FigureData:
        """The Fourier-map evaluation's band table (run, seed, condition, band, error): the effect is added to
        the regularized model's high-band error."""
        rows = []
        for s in range(self.n):
            for cond in ("unregularized", "S^Th"):
                base = 0.3 + self.off[s] + self.eps_noise(s)
                for band, extra in (("low", 0.0), ("high", 0.1 + (self.e.get("fourier-band", 0.0) if cond == "S^Th"
                                                                  else 0.0))):
                    rows.append(dict(run=f"{cond}-{s}", seed=s, condition=cond, band=band,
                                     error=base + extra + (self.eps_noise(s) if band == "high" else 0.0)))
        return FigureData("fourier", {}, dict(bands=pd.DataFrame(rows)))

    def beyond(self) -> FigureData:
        rows = []
        for s in range(self.n):
            rows += self.curve(s, "noise-aug", attack="gaussian")
            rows += self.curve(s, "shuffled", -self.e.get("sth-vs-shuffled", 0.0), attack="gaussian")
            rows += self.curve(s, "S^Th", self.e.get("sth-vs-noise-aug", 0.0), attack="gaussian")
        return FigureData("beyond", {}, dict(curves=pd.DataFrame(rows)))

    def controls(self) -> FigureData:
        """Transferred-FGSM curves of S^Th and the two controls: S^Th's noisy accuracy is shifted by the
        'transfer-specific' effect."""
        rows = []
        for s in range(self.n):
            rows += self.curve(s, "noise-aug", attack="fgsm") + self.curve(s, "shuffled", attack="fgsm")
            rows += self.curve(s, "S^Th", self.e.get("transfer-specific", 0.0), attack="fgsm")
        return FigureData("controls", {}, dict(curves=pd.DataFrame(rows)))

    def batchnorm(self) -> FigureData:
        """The BatchNorm page's points (per run and treatment: clean accuracy, AUC over ε > 0) on the natural
        pool: S^Th as trained, re-estimated and trained task-only, and the unregularized runs."""
        e, rows = self.e, []
        for s in range(self.n):
            base = dict(seed=s, clean=0.9 + self.off[s], auc=0.5 + self.off[s])
            rows.append(dict(base, run=f"u-{s}", pool="-", target="unregularized", treatment="as trained"))
            rows.append(dict(base, run=f"u-{s}", pool="-", target="unregularized", treatment="re-estimated"))
            for treat, dc, da in (("as trained", 0.0, 0.0),
                                  ("re-estimated", e.get("bn-clean", 0.0), e.get("bn-gain-reestimated", 0.0)),
                                  ("task-only BN", 0.0, e.get("bn-gain-task-only", 0.0))):
                n = self.eps_noise(s)
                rows.append(dict(run=f"th-{treat}-{s}", seed=s, pool="natural", target="S^Th", treatment=treat,
                                 clean=0.9 + self.off[s] + n + dc, auc=0.5 + self.off[s] + n + da))
        return FigureData("batchnorm", {}, dict(points=pd.DataFrame(rows)))

    def fig4(self, with_start: bool = True, converged: bool = True) -> FigureData:
        e, rows, bnd, sh = self.e, [], [], []
        for s in range(self.n):
            for cond in ("unregularized", "S^Th"):
                reg = cond == "S^Th"
                rows += self.curve(s, cond, e.get("highfreq", 0.0) if reg else 0.0, attack="high-pass")
                rows += self.curve(s, cond, attack="low-pass")
                log_mse = math.log(1e-3) + self.off[s] + self.eps_noise(s) + (e.get("boundary", 0.0) if reg else 0)
                bnd.append(dict(run=f"{cond}-{s}", seed=s, condition=cond, mean_median_mse=math.exp(log_mse)))
                start = 0.4 + self.off[s] + self.eps_noise(s)
                attack = start + self.eps_noise(s)  # the longer boundary attack: no row reads it any more
                for i in range(4):  # images: per-image scatter around the run's share
                    jitter = 0.01 * (i - 1.5)
                    sh.append(dict(image=i, share=attack + jitter, seed=s, condition=cond, source="attack"))
                    if with_start:
                        sh.append(dict(image=i, share=start + jitter, seed=s, condition=cond, source="start"))
        conv = self.converged_shares() if converged else pd.DataFrame(
            columns=["image", "share", "cutoff", "run", "seed", "condition", "source"])
        note = "" if converged else "not run: no run of seeds 5-9 has the converged attack's evaluation"
        tables = dict(band=pd.DataFrame(rows), boundary=pd.DataFrame(bnd), shares=pd.DataFrame(sh),
                      converged_shares=conv)
        if converged:  # per run: the converged attack's median L2, log of its square = base + effect + noise
            tables["converged"] = pd.DataFrame([dict(
                run=f"{cond}-{s}", seed=s, condition=cond, converged=True, steps_run=32,
                median_l2=math.exp(0.5 * (math.log(0.25) + self.off[s] + self.eps_noise(s)
                                          + (e.get("boundary-converged", 0.0) if cond == "S^Th" else 0.0))))
                for s in range(self.n) for cond in ("unregularized", "S^Th")])
        return FigureData("fig4", {"converged_note": note}, tables)

    def converged_shares(self) -> pd.DataFrame:
        """The converged attack's per-image shares (and their starts'): a run's share is 0.5 plus the effects plus
        run noise, from a generator of its own (the other figures' draws stay as they were); antithetic like
        :meth:`eps_noise`."""
        g, half, drawn, rows = np.random.default_rng(4242 + self.n), self.n // 2, {}, []
        for s in range(self.n):
            for cond in ("unregularized", "S^Th"):
                z = -drawn[(s - half, cond)] if self.anti and s >= half else float(g.normal(0, self.noise))
                drawn[(s, cond)] = z
                share = 0.5 + z + self.e.get("lowfreq-mostly", 0.0) + (self.e.get("lowfreq-reg", 0.0)
                                                                        if cond == "S^Th" else 0.0)
                for i in range(4):
                    jitter = 0.01 * (i - 1.5)
                    rows.append(dict(image=i, share=share + jitter, cutoff=0.1, run=f"{cond}-{s}", seed=s,
                                     condition=cond, source="converged"))
                    rows.append(dict(image=i, share=0.3 + jitter, cutoff=0.1, run=f"{cond}-{s}", seed=s,
                                     condition=cond, source="start"))
        return pd.DataFrame(rows)

    def fig5(self) -> FigureData:
        e, rows, pts = self.e, [], []
        cells = [("unregularized", 0, 0, 0.0)] + [("S^Th", k, 200, 1.0) for k in (4, 16, 64)] + \
                [("S^Th", 16, n, 1.0) for n in (50, 2000)]
        for s in range(self.n):
            for cond, k, n, alpha in cells:
                shift = (e.get("efficiency-k", 0.0) if (k, n) == (4, 200) else 0.0) + \
                        (e.get("efficiency-N", 0.0) if (k, n) == (16, 50) else 0.0)
                run = f"{cond}-{k}-{n}-{s}"
                rows += [dict(r, run=run) for r in self.curve(s, cond, shift, attack="gaussian")]
                pts.append(dict(run=run, seed=s, condition=cond, pairs=k, pool_size=n, alpha=alpha))
        return FigureData("fig5", dict(fixed_pairs=16, fixed_pool_size=200),
                          dict(points=pd.DataFrame(pts), curves=pd.DataFrame(rows)))

    def fig6(self) -> FigureData:
        e, rows = self.e, []
        for s in range(self.n):
            for attack in ("gaussian", "salt-pepper"):
                base_c, base_r = 0.9 + self.off[s], 0.5 + self.off[s]
                rows.append(dict(run=f"u-{s}-{attack}", seed=s, condition="unregularized", alpha=0.0, th=0.8,
                                 attack=attack, C=base_c + self.eps_noise(s), R=base_r + self.eps_noise(s)))
                for a in (0.3, 1.0, 10.0):
                    for t in (0.4, 0.8):
                        at = (a, t) == POINT and attack == "gaussian"
                        rows.append(dict(run=f"r-{a}-{t}-{s}-{attack}", seed=s, condition="S^Th", alpha=a, th=t,
                                         attack=attack,
                                         C=base_c + self.eps_noise(s) + (e.get("tradeoff-C", 0.0) if at else 0.0),
                                         R=base_r + self.eps_noise(s) + (e.get("tradeoff-R", 0.0) if at else 0.0)))
        return FigureData("fig6", {}, dict(points=pd.DataFrame(rows)))

    def fig1(self, r: dict[str, tuple[float, float]]) -> FigureData:
        rows = [dict(source="predictor", reference="pixel", method="pearson", r=v, ci_low=v - h, ci_high=v + h,
                     n_images=500, n_pairs=124750, simulation=sim) for sim, (v, h) in r.items()]
        return FigureData("fig1", {}, dict(correlations=pd.DataFrame(rows)))

    def figures(self, fig1=None) -> dict[str, FigureData]:
        r = fig1 or {"with mean-luminance response": (0.0, 0.5)}
        return dict(fig1=self.fig1(r), fig2=self.fig2(), fig3=self.fig3(), fig4=self.fig4(), fig5=self.fig5(),
                    fig6=self.fig6(), combos=self.combos(),  # combos late: the others' draws stay as they were
                    fourier=self.fourier(), beyond=self.beyond(), batchnorm=self.batchnorm(),
                    controls=self.controls())  # last: the others' draws stay as they were


def _row(key: str, figures, **kw) -> pd.Series:
    t = claims_table(figures, claims=(BY_KEY[key],), **kw)
    assert len(t) == 1
    return t.iloc[0]


def _scale(claim) -> float:
    """The row's SESOI (margin for no-loss rows), signed by its claimed direction."""
    r = claim.rule
    return (r.margin if r.kind == "no_loss" else r.sesoi) * r.direction


TESTED = [c.key for c in CLAIMS if c.rule is not None and c.key != "fig1"]
EFFECT_ROWS = [k for k in TESTED if BY_KEY[k].rule.kind == "effect"]
NO_LOSS_ROWS = [k for k in TESTED if BY_KEY[k].rule.kind == "no_loss"]


# ---- "effect" rows: strong, null, reversed, no power --------------------------------------------------------

@pytest.mark.parametrize("key", EFFECT_ROWS)
def test_effect_row_strong_effect_is_reproduced(key):
    s = _scale(BY_KEY[key])
    row = _row(key, World({key: 8 * s}, seeds=6, noise=0.3 * abs(s)).figures())
    assert row.verdict == "reproduced", row.rule
    lo, hi = (float(x) for x in row.interval.strip("[]").split(","))
    assert (lo > 0 if s > 0 else hi < 0) and row.estimate == pytest.approx(8 * s, rel=0.25)
    assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), abs=1e-3)
    if BY_KEY[key].confirmatory:  # the interval shown is the Bonferroni one that decided
        assert "p_bonferroni" in row.test and row.confidence == pytest.approx(1 - 0.05 / len(cl.CONFIRMATORY))
        assert row.label == "reproduced"
    else:
        assert row.confidence == 0.95 and row.label == "supported (exploratory)"
    assert row.power and row.bound == abs(s) and row.sesoi_why


@pytest.mark.parametrize("key", EFFECT_ROWS)
def test_effect_row_null_effect_with_power_is_not_reproduced(key):
    s = _scale(BY_KEY[key])
    row = _row(key, World({}, seeds=30, noise=0.2 * abs(s), antithetic=True).figures())
    assert row.verdict == "not reproduced (negligible)", row.rule
    assert "inside ±" in row.rule


@pytest.mark.parametrize("key", EFFECT_ROWS)
def test_effect_row_reversed_effect_is_contradicted(key):
    s = _scale(BY_KEY[key])
    row = _row(key, World({key: -8 * s}, seeds=6, noise=0.3 * abs(s)).figures())
    assert row.verdict == "contradicted", row.rule
    assert row.estimate * s < 0


@pytest.mark.parametrize("key", EFFECT_ROWS)
def test_effect_row_without_power_is_inconclusive(key):
    s = _scale(BY_KEY[key])
    # 4 seeds, the second pair replaying the first's noise negated: the estimate is exactly 2 SESOI (so TOST cannot
    # rule the SESOI out), and the noise leaves it far from significant
    row = _row(key, World({key: 2 * s}, seeds=4, noise=10 * abs(s), antithetic=True).figures())
    assert row.verdict == "inconclusive", row.rule
    assert row.estimate == pytest.approx(2 * s, abs=1e-9)
    assert "detect ±" in row.power  # 4 seeds: the seeds needed are stated
    assert _row(key, World({key: 2 * s}, seeds=3, noise=10 * abs(s)).figures()).power.startswith("too few seeds")


def test_a_seed_missing_one_family_loses_its_pair_in_the_family_mean():
    """A failed run of one pool leaves its seed out of the per-seed family mean, instead of averaging that seed
    over fewer families than its pair partner (known answer: seed 1 of S^Th lacks the natural family)."""
    from pixelreg.figures.claimrows import compare_by_seed, mean_auc

    def fam(values):  # one family: {(condition, seed): auc}
        return pd.DataFrame([dict(condition=c, seed=s, auc=v) for (c, s), v in values.items()])
    task = fam({("S^Th", 0): 0.7, ("S^Th", 1): 0.9, ("S^Th", 2): 0.8,
                ("S^pixel", 0): 0.6, ("S^pixel", 1): 0.6, ("S^pixel", 2): 0.6})
    natural = fam({("S^Th", 0): 0.5, ("S^Th", 2): 0.6,  # S^Th seed 1 failed on this pool
                   ("S^pixel", 0): 0.4, ("S^pixel", 1): 0.4, ("S^pixel", 2): 0.4})
    m = mean_auc([task, natural])
    assert ("S^Th", 1) not in set(zip(m.condition, m.seed)) and len(m) == 5
    assert m.set_index(["condition", "seed"]).auc[("S^Th", 0)] == pytest.approx(0.6)
    cmp = compare_by_seed(m, "S^pixel", "S^Th")
    # seeds 0 and 2 only: 0.6 − 0.5 and 0.7 − 0.5; with seed 1 averaged over the task family alone (0.9 − 0.5)
    # the estimate would have been the mean of 0.1, 0.4 and 0.2
    assert cmp.test == "paired t" and cmp.n == 2 and cmp.estimate == pytest.approx(0.15)


def test_a_head_to_head_row_without_a_complete_seed_has_no_data_instead_of_crashing():
    """Every S^Th run of one pool failed: no seed of S^Th has every family, so sth-vs-pixel says why it has no
    number; the page still renders its other rows."""
    f = World({"sth-vs-pixel": 0.15}, seeds=6, noise=0.002).figures()
    d = f["fig2"]
    c = d["curves"]
    natural = sorted(set(c["reg_data"]))[-1]
    gone = (c["condition"] == "S^Th") & (c["reg_data"] == natural)
    f["fig2"] = FigureData(d.name, d.params, {**d.tables, "curves": c[~gone]}, d.runs)
    t = claims_table(f).set_index("key")
    assert "no seed of S^Th has a run in every" in t.at["sth-vs-pixel", "verdict"]
    assert t.at["gain-natural", "verdict"] == "inconclusive (no data: no usable run of S^Th here)"
    assert t.at["pixel-gain", "category"] in VERDICTS and t.at["gain-task", "category"] in VERDICTS


def test_sth_vs_pixel_is_head_to_head():
    """Both regularizers gain equally over unregularized: S^Th vs S^pixel is null, S^pixel's own gain is real."""
    w = World({"sth-vs-pixel": 0.15}, seeds=30, noise=0.002)  # S^Th: +0.15, S^pixel: 0
    w2 = World({"pixel-gain": 0.15}, seeds=30, noise=0.002, antithetic=True)
    w2.e["across"] = 0.15  # S^Th +0.15 everywhere fig2 shows, like S^pixel
    assert _row("sth-vs-pixel", w.figures()).verdict == "reproduced"
    assert _row("sth-vs-pixel", w2.figures()).verdict == "not reproduced (negligible)"
    assert _row("pixel-gain", w2.figures()).verdict == "reproduced"


def test_across_is_an_intersection_union_not_a_mean():
    """A strong gain in every family but one, where it is unclear: the mean passes, the row does not."""
    w = World({"across": 0.2}, seeds=6, noise=0.003)
    f = w.figures()
    c = f["combos"]["curves"]
    weak = (c.attack == "salt-pepper") & (c.reg_data == TASK) & (c.condition == "S^Th") & (c.epsilon > 0)
    rng = np.random.default_rng(1)
    for run in c.loc[weak, "run"].unique():  # salt-and-pepper on the task pool: a noisy gain around 0.02
        c.loc[weak & (c.run == run), "accuracy"] += -0.18 + rng.normal(0, 0.2)
    row = _row("across", f)
    assert row.verdict == "inconclusive", row.rule
    assert "salt-and-pepper" in row.rule and "weakest interval: fashion-mnist <- fashion-mnist, salt-and-pepper" in row.number
    assert row.parts.count(";") == 7  # 8 families listed
    assert _row("across", w.figures()).verdict == "reproduced"


def test_fourier_band_row_reads_the_band_table_and_is_not_run_without_it():
    w = World({"fourier-band": -0.1}, seeds=6, noise=0.003)
    f = w.figures()
    assert _row("fourier-band", f).verdict == "reproduced"  # high-band error 10 points lower, relative to low
    f.pop("fourier")
    row = _row("fourier-band", f)
    assert row.verdict == "inconclusive (not run at this profile: no fourier page in this book yet)"
    assert row.status == "confirmatory" and not np.isfinite(row.estimate)


def test_confirmatory_family_is_fixed_and_small():
    from pixelreg.figures.claimrows import CONFIRMATORY, FAMILY_FIXED, TEN_SEED_ROWS

    assert len(CONFIRMATORY) <= 8 and FAMILY_FIXED == "2026-12-03"
    assert [c.key for c in CLAIMS[:len(CONFIRMATORY)]] == list(CONFIRMATORY)
    assert set(TEN_SEED_ROWS) <= set(CONFIRMATORY)
    # every row declared beside its figure, once
    assert len({c.key for c in CLAIMS}) == len(CLAIMS)
    assert {"tradeoff-R", "tradeoff-C", "combos"}.isdisjoint(BY_KEY)  # repeats of other rows are gone
    for c in CLAIMS:
        if c.rule is not None:
            assert c.rule.why, c.key  # each SESOI justified


def test_seeds_0_4_and_5_9_are_shown_beside_the_pooled_verdict():
    w = World({"gain-task": 0.2}, seeds=10, noise=0.003)
    row = _row("gain-task", w.figures())
    assert row.verdict == "reproduced" and row.replication.startswith("seeds 0-4: ")
    assert "seeds 5-9: " in row.replication and row.replication.count("reproduced") == 2
    # the planned half (seeds 5-9) for the intro: its verdict and its number, with unit and pairs
    assert row.planned_category == "reproduced"
    assert re.fullmatch(r"\+0\.\d{3} AUC \[-?\d\.\d{3}, -?\d\.\d{3}\], 5 pairs", row.planned_number), row.planned_number
    five = _row("gain-task", World({"gain-task": 0.2}, seeds=5, noise=0.003).figures())
    assert five.replication == "" and five.planned_category == "" and five.planned_number == ""


def test_planned_sentence_names_the_rows_whose_planned_half_differs():
    """Known answers: a row whose seeds 5-9 verdict differs from its pooled one is named with its number; rows
    that agree are listed together; no planned judgement, no sentence."""
    conf = pd.DataFrame(dict(key=["gain-task", "clean-task", "clean-natural", "fgsm-transfer"],
                             category=["reproduced", "contradicted", "contradicted", "reproduced"],
                             planned_category=["inconclusive", "contradicted", "contradicted", ""],
                             planned_number=["+0.135 AUC [-0.010, 0.281], 5 pairs", "x", "y", ""]))
    s = cl.planned_sentence(conf)
    assert s == ("Judged on seeds 5-9 alone, the test planned in advance (same rule and level): clean-task, "
                 "clean-natural keep their verdicts; the Gaussian-noise gain regularized with the task's own images is "
                 "inconclusive on them (+0.135 AUC [-0.010, 0.281], 5 pairs; pooled: reproduced).")
    assert cl.planned_sentence(conf.iloc[1:2]) == ("Judged on seeds 5-9 alone, the test planned in advance (same "
                                                   "rule and level): clean-task keeps its verdict.")
    assert cl.planned_sentence(conf.iloc[3:]) == "" and cl.planned_sentence(conf.drop(columns="planned_category")) == ""
    # and the intro carries it, right after the seeds sentence
    out = cl.findings(conf.assign(status="confirmatory", estimate=0.1, ci_low=0.0, ci_high=0.2, unit="AUC",
                                  interval="[0.000, 0.200]", n="5 pairs", verdict=conf.category, claim="c", bound=0.03,
                                  kind="effect"), seeds="SEEDS.")
    assert out[out.index("SEEDS.") + 1] == s


def test_small_effect_note_known_answers():
    """An effect shown (reproduced or contradicted) whose interval's end nearer 0 lies within ±SESOI gets the note;
    one whose near end is beyond it, an unclear row, a no-loss row or a missing number gets none."""
    from types import SimpleNamespace as NS

    row = lambda **kw: NS(**{**dict(kind="effect", category="reproduced", estimate=0.166, ci_low=0.004,
                                    ci_high=0.328, bound=0.03, unit="AUC"), **kw})
    note = cl.small_effect_note(row())
    assert note == ("its interval's end nearer 0 lies within the smallest effect of interest, ±0.03 AUC, so an "
                    "effect too small to matter is not ruled out")
    assert cl.small_effect_note(row(category="contradicted", estimate=-0.1, ci_low=-0.2, ci_high=-0.01)) == note
    assert cl.small_effect_note(row(ci_low=0.031)) == ""  # the near end beyond the SESOI: the size is shown too
    assert cl.small_effect_note(row(category="contradicted", estimate=-0.1, ci_low=-0.2, ci_high=-0.04)) == ""
    assert cl.small_effect_note(row(category="inconclusive", ci_low=-0.01)) == ""
    assert cl.small_effect_note(row(kind="no_loss")) == ""
    assert cl.small_effect_note(row(ci_low=float("nan"))) == ""


# ---- the paper plan: each row reads the panel its claim is about -----------------------------------------

# a distinct S^Th gain (AUC over ε > 0) and clean-accuracy change per figure and dataset pair: a known answer
PAPER_GAIN = {("fig2", "mnist<-mnist"): 0.011, ("fig2", "cifar10<-imagenet"): 0.022,
              ("fig2", "cifar100<-imagenet"): 0.033, ("fig3", "cifar10<-imagenet"): 0.044,
              ("fig3", "cifar10<-cifar10"): 0.055}
PAPER_CLEAN = {"mnist<-mnist": -0.001, "cifar10<-imagenet": -0.002, "cifar100<-imagenet": -0.003}


def paper_figures(w: World, panels: dict, gain: dict, clean: dict, combo_gain: dict) -> dict[str, FigureData]:
    """Figures at the paper plan: Fig. 2's three panels, Fig. 3's two (transferred and white-box FGSM), the
    combinations page's pairs, each with the gain given for it; Figs. 1, 4-6 as the analogue World's."""
    f2, f3, f5 = [], [], []
    for s in range(w.n):
        for p in panels["fig2"]:
            t, r = p.split("<-")
            for a in NOISE:
                lab = dict(task=t, reg_data=r, panel=p, attack=a)
                f2 += w.curve(s, "unregularized", **lab) + w.curve(s, "S^pixel", **lab)
                f2 += w.curve(s, "S^Th", gain[("fig2", p)], clean[p], **lab)
        for p in panels["fig3"]:
            t, r = p.split("<-")
            for mode in ("transferred", "white-box"):
                lab = dict(task=t, reg_data=r, panel=p, attack="fgsm", mode=mode)
                f3 += w.curve(s, "unregularized", **lab)
                f3 += w.curve(s, "S^Th", gain[("fig3", p)] if mode == "transferred" else -0.5, **lab)
        for p in panels["combos"]:
            t, r = p.split("<-")
            for a in (*NOISE, "fgsm"):
                lab = dict(task=t, reg_data=r, pair=p, attack=a)
                f5 += w.curve(s, "unregularized", **lab) + w.curve(s, "S^Th", combo_gain[p], **lab)
    figs = w.figures()
    figs.update(fig2=FigureData("fig2", {}, dict(curves=pd.DataFrame(f2))),
                fig3=FigureData("fig3", {}, dict(curves=pd.DataFrame(f3))),
                combos=FigureData("combos", {}, dict(curves=pd.DataFrame(f5))))
    return figs


def test_paper_plan_rows_read_the_papers_panels(monkeypatch):
    """At the paper plan Fig. 2a's rows read MNIST <- MNIST, Figs. 2b/2c's rows CIFAR-10 and CIFAR-100 <-
    ImageNet (judged each, one verdict only when they agree), Fig. 3a's CIFAR-10 <- ImageNet and Fig. 3b's
    CIFAR-10 <- CIFAR-10 (transferred FGSM only), the poster rows CIFAR-10 <- ImageNet, and the combinations row
    the average over every (pair, attack) family of the paper's table; every text names those pairs. Known
    answer: each panel carries its own gain, and antithetic seeds make every paired mean exactly that gain."""
    from pixelreg.experiment.config import PRESETS

    monkeypatch.setenv("PIXELREG_IMAGENET_DIR", "/data/imagenet")
    page = Claims(profile="paper")
    panels = page.panels()
    assert panels["fig2"] == ("mnist<-mnist", "cifar10<-imagenet", "cifar100<-imagenet")
    assert panels["fig3"] == ("cifar10<-imagenet", "cifar10<-cifar10")
    assert panels["fig4"] == panels["fig5"] == ("cifar10<-imagenet",)
    table_pairs = [f"{p['task']}<-{p['reg_data']}" for p in PRESETS.values() if p["reg_data"] != "natural"]
    assert panels["combos"] == tuple(table_pairs) and len(table_pairs) == 10
    combo_gain = {p: 0.002 * (i + 1) for i, p in enumerate(table_pairs)}
    w = World({}, seeds=6, noise=0.002, antithetic=True)
    t = claims_table(paper_figures(w, panels, PAPER_GAIN, PAPER_CLEAN, combo_gain), panels=panels)
    row = t.set_index("key")
    assert row.at["gain-task", "number"] == "0.011"
    assert row.at["gain-task", "tested_here"].startswith("mnist <- mnist, S^Th vs unregularized")
    assert row.at["clean-task", "number"] == "-0.001"
    # several pairs: every one must pass; the row shows the weakest and lists each
    assert row.at["gain-natural", "number"] == "0.022 (weakest interval: cifar10 <- ImageNet)"
    assert "cifar10 <- ImageNet: 0.022" in row.at["gain-natural", "parts"]
    assert "cifar100 <- ImageNet: 0.033" in row.at["gain-natural", "parts"]
    assert row.at["gain-natural", "tested_here"].startswith("cifar10 <- ImageNet and cifar100 <- ImageNet,")
    assert row.at["clean-natural", "number"].startswith("-0.003 (weakest interval: cifar100 <- ImageNet)")
    assert row.at["fgsm-transfer", "number"] == "0.044 (weakest interval: cifar10 <- ImageNet)"
    assert "cifar10 <- cifar10: 0.055" in row.at["fgsm-transfer", "parts"]
    gains = np.mean([PAPER_GAIN[("fig2", p)] for p in panels["fig2"]])  # S^Th − unregularized over fig2
    assert row.at["sth-vs-pixel", "number"] == f"{gains:.3f}"
    assert "(weakest interval: " in row.at["across", "number"]  # the family with the lowest interval end
    assert row.at["across", "parts"].count(";") == 4 * len(table_pairs) - 1  # every (pair, attack) family
    assert all(pair_text in row.at["across", "tested_here"] for pair_text in
               ("mnist <- fashion-mnist", "fashion-mnist <- mnist", "cifar100 <- cifar10", "cifar10 <- ImageNet"))
    for key in ("boundary", "highfreq", "efficiency-k"):
        assert row.at[key, "tested_here"].startswith("cifar10 <- ImageNet"), key
    for text in t.tested_here:
        assert "natural photographs" not in text and "{" not in text
    assert not t.tested_here.str.startswith("fashion-mnist").any()
    # one ImageNet panel reversed: the claim fails there
    gain = {**PAPER_GAIN, ("fig2", "cifar100<-imagenet"): -0.2}
    t = claims_table(paper_figures(w, panels, gain, PAPER_CLEAN, combo_gain), panels=panels,
                     claims=(BY_KEY["gain-natural"],))
    assert t.verdict.iloc[0] == "contradicted" and "cifar100 <- ImageNet" in t.rule.iloc[0]


def test_analogue_rows_read_the_analogue_pairs():
    """At the analogue plan the same rows read Fashion-MNIST <- Fashion-MNIST and <- natural photographs."""
    t = claims_table(World({}, seeds=6, noise=0.01).figures(), panels=Claims(profile="full").panels()
                     ).set_index("key")
    assert t.at["gain-task", "tested_here"].startswith("fashion-mnist <- fashion-mnist, S^Th")
    assert t.at["clean-natural", "tested_here"].startswith(
        "fashion-mnist <- natural photographs (ImageNet stand-in), S^Th")
    assert t.at["boundary", "tested_here"].startswith("fashion-mnist <- fashion-mnist, ")
    assert "fashion-mnist <- natural photographs" in t.at["across", "tested_here"]


# ---- "no loss" rows: non-inferiority with a margin --------------------------------------------------------

@pytest.mark.parametrize("key", NO_LOSS_ROWS)
def test_no_loss_row_without_a_loss_is_reproduced(key):
    m = _scale(BY_KEY[key])
    row = _row(key, World({key: -0.2 * m}, seeds=12, noise=0.1 * m).figures())
    assert row.verdict == "reproduced", row.rule
    assert "rules out a loss larger than" in row.rule and row.ci_low > -m


@pytest.mark.parametrize("key", NO_LOSS_ROWS)
def test_no_loss_row_with_a_loss_beyond_the_margin_is_contradicted(key):
    m = _scale(BY_KEY[key])
    row = _row(key, World({key: -8 * m}, seeds=6, noise=0.3 * m).figures())
    assert row.verdict == "contradicted", row.rule


@pytest.mark.parametrize("key", NO_LOSS_ROWS)
def test_no_loss_row_is_not_judged_by_absence_of_significance(key):
    m = _scale(BY_KEY[key])
    row = _row(key, World({}, seeds=3, noise=5 * m).figures())  # no drop in the mean, no power
    assert row.verdict == "inconclusive", row.rule
    # a loss right at the margin, measured precisely: neither ruled out nor shown
    row = _row(key, World({key: -m}, seeds=12, noise=0.1 * m, antithetic=True).figures())
    assert row.verdict == "inconclusive", row.rule


# ---- the ablation guard ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["efficiency-k", "efficiency-N"])
def test_ablation_rows_need_three_seeds(key):
    s = _scale(BY_KEY[key])
    effect = 8 * s if BY_KEY[key].rule.kind == "effect" else 0.0
    row = _row(key, World({key: effect}, seeds=2, noise=0.01 * s).figures())
    assert row.verdict == "inconclusive (2 seeds)", row.rule
    assert row.category == "inconclusive"


# ---- Fig. 1: both simulations ------------------------------------------------------------------------------

def test_fig1_is_not_testable_here_and_shows_both_simulations_as_context():
    """A simulated V1 population cannot test an observation on real recordings (its answer is set by the
    mean-luminance choice): whatever the correlations, the row is "not testable here", and its number shows both
    simulations with the page's own intervals."""
    w = World({}, seeds=2, noise=0.01)
    with_dc, without = "with mean-luminance response", "without mean-luminance response"
    for r in ({with_dc: (0.4, 0.04), without: (0.35, 0.04)}, {with_dc: (0.29, 0.03), without: (0.028, 0.0175)},
              {with_dc: (-0.4, 0.05), without: (-0.3, 0.05)}):
        row = _row("fig1", w.figures(r))
        assert row.verdict == "inconclusive (not testable here)" and row.status == "not judged"
        assert not math.isfinite(row.estimate) and row.label == row.verdict
        (a, ha), (b, hb) = r[with_dc], r[without]
        assert (f"{with_dc}: r = {a:.3f} [{a - ha:.3f}, {a + ha:.3f}]; {without}: r = {b:.3f} [{b - hb:.3f}, "
                f"{b + hb:.3f}]") in row.number


# ---- low frequencies: judged on the converged attack's perturbations -------------------------------------------

def test_lowfreq_rows_say_not_run_without_the_converged_attack():
    w = World({"lowfreq-mostly": 0.3, "lowfreq-reg": 0.3}, seeds=6, noise=0.005)
    f = w.figures()
    f["fig4"] = w.fig4(converged=False)
    for key in ("lowfreq-mostly", "lowfreq-reg"):
        row = _row(key, f)
        assert row.verdict == ("inconclusive (no data: not run: no run of seeds 5-9 has the converged attack's "
                               "evaluation)"), key


def test_lowfreq_mostly_is_the_absolute_share_against_one_half_in_both_conditions():
    """'Mostly low-frequency' is > 50% of the non-DC power, judged per condition; both must pass
    (intersection-union), and the start directions' shares play no part."""
    w = World({"lowfreq-mostly": 0.15}, seeds=6, noise=0.005)
    f = w.figures()
    row = _row("lowfreq-mostly", f)
    assert row.verdict == "reproduced" and "unregularized" in row.parts and "S^Th" in row.parts
    assert row.estimate == pytest.approx(0.15, abs=0.02)
    sh = f["fig4"]["converged_shares"]
    unreg = (sh["condition"] == "unregularized") & (sh["source"] == "converged")
    sh.loc[unreg, "share"] -= 0.25  # unregularized: 40%, not mostly low
    row = _row("lowfreq-mostly", f)
    assert row.verdict == "contradicted" and "weakest interval: unregularized" in row.number
    sh.loc[sh["source"] == "start", "share"] = 0.9  # very low-frequency starts change nothing
    assert _row("lowfreq-mostly", f).verdict == "contradicted"


def test_lowfreq_rows_need_two_seeds_and_both_conditions():
    w = World({"lowfreq-reg": 0.3}, seeds=6, noise=0.005)
    f = w.figures()
    sh = f["fig4"]["converged_shares"]
    f["fig4"].tables["converged_shares"] = sh[sh["condition"] != "unregularized"]
    row = _row("lowfreq-reg", f)
    assert row.verdict == "inconclusive (no data: no converged boundary perturbations for unregularized)"
    f["fig4"].tables["converged_shares"] = sh[sh["seed"] == 0]
    row = _row("lowfreq-mostly", f)
    assert row.verdict.startswith("inconclusive (no data: the converged attack has 1 seed(s) of")


def test_lowfreq_rows_leave_out_runs_that_reached_the_cap():
    """A run whose attack reached its cap unconverged has not found its minimal perturbation: the rows leave it out,
    and say so when no run converged."""
    w = World({"lowfreq-reg": 0.3}, seeds=6, noise=0.005)
    f = w.figures()
    sh = f["fig4"]["converged_shares"]
    runs = sorted(set(sh["run"]))
    summ = pd.DataFrame(dict(run=runs, converged=True, steps_run=32))
    f["fig4"].tables["converged"] = summ
    assert _row("lowfreq-reg", f).verdict == "reproduced"
    sh.loc[sh["run"] == "S^Th-0", "share"] -= 5.0  # an outlier ...
    assert _row("lowfreq-reg", f).verdict != "reproduced"
    summ.loc[summ["run"] == "S^Th-0", "converged"] = False  # ... from a run that did not converge: left out
    assert _row("lowfreq-reg", f).verdict == "reproduced"
    summ["converged"] = False
    for key in ("lowfreq-mostly", "lowfreq-reg"):
        assert _row(key, f).verdict == ("inconclusive (no data: unconverged: none of the 12 runs' attacks converged "
                                        "within the cap of 32 iterations)")


# ---- records mode: figures without runs --------------------------------------------------------------------

def test_missing_runs_and_record_only_runs_make_their_rows_inconclusive():
    w = World({}, seeds=6, noise=0.01)
    f: dict = w.figures()
    f["fig5"] = MissingRunsError(["a1", "b2", "c3"], ["pixelreg train ..."] * 3)
    f["fig4"] = RecordOnlyRunError("abc123", "boundary-start", "no checkpoint")
    t = claims_table(f)
    by = dict(zip(t.key, t.verdict))
    assert by["efficiency-k"] == by["efficiency-N"] == ("inconclusive (not judged at this profile: 3 of the fig5 "
                                                        "page's runs missing)")
    for key in ("boundary", "lowfreq-mostly", "lowfreq-reg", "highfreq"):
        assert by[key].startswith("inconclusive (not run at this profile: run abc123") and "boundary-start" in by[key]
    assert by["gain-task"] in VERDICTS  # the other rows are judged
    # an interim page's error carries its plan, counted as the page counts it (published with the evaluations
    # the page reads): the row quotes the page's count, not the runs that are missing outright
    f["fig5"].plan = (12, 30)
    by = dict(zip(*(lambda t: (t.key, t.verdict))(claims_table(f))))
    assert by["efficiency-k"] == ("inconclusive (plan not complete: 12 of the 30 runs of the fig5 page's plan "
                                  "are not published with the evaluations it reads)")


def test_claims_page_catches_both_errors_per_figure(monkeypatch, tmp_path):
    w = World({"gain-task": 0.2}, seeds=6, noise=0.003)
    figs = w.figures()
    page = Claims(profile="smoke")
    errors = dict(fig5=MissingRunsError(["r1", "r2"], ["cmd", "cmd"]),
                  fig4=RecordOnlyRunError("r9", "acc-gaussian", "record without a checkpoint"))

    def fake_data(self, runs_dir=None, progress=True):
        if self.name in errors:
            raise errors[self.name]
        return figs[self.name]

    for p in page.pages().values():
        monkeypatch.setattr(type(p), "data", fake_data)
        if hasattr(type(p), "claim_data"):  # the tables the rows read, without the per-ε tests
            monkeypatch.setattr(type(p), "claim_data", fake_data)
    data = page.data(runs_dir=tmp_path)
    t = data["claims"]
    by = dict(zip(t.key, t.verdict))
    assert by["efficiency-k"] == "inconclusive (not judged at this profile: 2 of the fig5 page's runs missing)"
    assert by["boundary"].startswith("inconclusive (not run at this profile: run r9")
    assert by["gain-task"] == "reproduced"
    assert "inconclusive" in data.what_we_see()
    # other errors are not swallowed
    errors["fig5"] = ValueError("a bug")
    with pytest.raises(ValueError, match="a bug"):
        page.data(runs_dir=tmp_path)


# ---- the page as a whole -----------------------------------------------------------------------------------

def test_every_row_shows_number_interval_test_power_verdict_and_rule():
    w = World({k: 8 * _scale(BY_KEY[k]) for k in EFFECT_ROWS}, seeds=6, noise=0.003)
    t = claims_table(w.figures({"with mean-luminance response": (0.4, 0.04),
                                "without mean-luminance response": (0.3, 0.04)}))
    assert list(t.key) == [c.key for c in CLAIMS]
    assert set(t.category) <= set(VERDICTS)
    tested = t[t.key.isin(TESTED)]
    for col in ("number", "interval", "test", "power", "sesoi_why", "rule", "label"):
        assert (tested[col].str.len() > 0).all(), col
    assert tested.test.str.contains("paired t").sum() >= len(TESTED) - 1
    assert t.loc[t.key == "timing", "verdict"].item() == "inconclusive (not testable here)"
    # the interval shown is the one that decided: confirmatory rows at 1 − 0.05/8, exploratory at 95%
    conf = t[t.status == "confirmatory"]
    assert np.allclose(conf.confidence.dropna(), 1 - 0.05 / len(cl.CONFIRMATORY))
    assert np.allclose(t[t.status == "exploratory"].confidence.dropna(), 0.95)
    assert set(t[t.status == "exploratory"].label) <= set(EXPLORATORY_LABELS.values())


SHORT_FGSM = "the gain against transferred FGSM"


def test_forest_plot_and_findings_come_from_the_table(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import matplotlib
    matplotlib.use("Agg")
    w = World({k: 8 * _scale(BY_KEY[k]) for k in EFFECT_ROWS}, seeds=6, noise=0.003)
    t = claims_table(w.figures())
    ax = cl.forest_plot(t)
    assert [x.get_text() for x in ax.get_yticklabels()] == list(cl.CONFIRMATORY)  # top to bottom
    text = " ".join(cl.findings(t))
    assert text.startswith(f"Of the paper's {len(cl.CONFIRMATORY)} core claims, tested in this book's setting (below)")
    assert "(99.4% intervals: Bonferroni for 8 claims at familywise level 0.05)" in text  # 1 - 0.05/8 = 0.99375
    assert cl.RE_ANALYSIS not in cl.findings(t)[0]
    pooled = cl.findings(t, seeds=cl.seeds_sentence("full"))  # full: seeds 0-9, 5-9 trained after the family
    assert pooled[0].startswith("Of the paper's") and cl.RE_ANALYSIS not in " ".join(pooled)
    monkeypatch.setattr(cl, "get_profile", lambda name: SimpleNamespace(main_comparison_seeds=(0, 1, 2, 3, 4)))
    seen = cl.findings(t, seeds=cl.seeds_sentence("full"))  # seeds 0-4 alone: seen before the family was fixed
    assert seen[0].startswith(f"For now the verdicts are {cl.RE_ANALYSIS} (below), not a test planned in advance. "
                              "Of the paper's")
    # the transfer gain carries its caveat until the controls page's specificity row is reproduced
    caveat = "; not yet shown specific to the similarity target: see transfer specificity, below)"
    fgsm = t.set_index("key").loc["fgsm-transfer"]
    spec = t["key"] == "transfer-specific"
    assert t.loc[spec, "category"].iloc[0] == "reproduced" and "specific to the similarity" not in " ".join(cl.findings(t))
    unclear = t.copy()
    unclear.loc[spec, "category"] = "inconclusive"  # judged, not separated: says at how many seed pairs
    n = t.loc[spec, "n"].iloc[0]
    assert n and (f"{SHORT_FGSM} (judged on its weaker pool) ({cl._num(fgsm)}; not shown specific to the similarity "
                  f"target at {n}: see transfer specificity, below)") in " ".join(cl.findings(unclear))
    unclear.loc[spec, "estimate"] = float("nan")  # its plan not complete: not judged yet
    assert f"{SHORT_FGSM} (judged on its weaker pool) ({cl._num(fgsm)}{caveat}" in " ".join(cl.findings(unclear))
    assert caveat in " ".join(cl.findings(t[~spec]))  # no controls row at all: not shown either
    against = t.copy()
    against.loc[spec, "category"] = "contradicted"  # a control ahead of S^Th
    assert ("; not specific to the similarity target: a control is as robust, or more (see transfer specificity, "
            "below))") in " ".join(cl.findings(against))
    r = t.set_index("key").loc["gain-task"]
    assert f"{r.estimate:+.3f} AUC {r.interval}, 6 pairs" in text  # the numbers of the table, not fixed words
    assert "**Noise augmentation** (σ = 0.2" in text
    md = cl.write_findings(t, tmp_path, "full").read_text()
    assert cl.FOREST_NOTE in md and md.index("forest.png") < md.index(cl.FOREST_NOTE)  # under the plot
    # the paper's claims first, then a sub-heading over the questions beyond them
    assert md.index("- Reproduced:") < md.index("\n### Beyond the paper's claims\n") < md.index("**Noise augmentation** ")
    assert cl.BEYOND not in cl.findings(t)
    assert "0.03 AUC; the no-loss rows: their margins, 0.01 and 0.02 accuracy" in cl.FOREST_NOTE
    # a row without a number shows a short reason, centred, not the whole verdict running off the axes
    t2 = t.copy()
    k = t2.index[t2.key == "fourier-band"][0]
    t2.loc[k, ["estimate", "ci_low", "verdict"]] = [float("nan"), float("nan"), "inconclusive (plan not complete: "
                                                    "11 of the 30 runs of the fourier page's plan are not published)"]
    ax = cl.forest_plot(t2)
    assert [x.get_text() for x in ax.texts] == ["not judged yet: plan not complete (see the table)"]



def test_findings_show_the_batchnorm_check_judged_or_why_not():
    def row(key, est, label, verdict):
        return dict(key=key, claim=key, status="exploratory", category="inconclusive", estimate=est, unit="accuracy",
                    interval="[0.100, 0.200]" if est == est else "", verdict=verdict, label=label)

    missing = "inconclusive (not judged at this profile: 21 of its runs missing)"
    t = pd.DataFrame([row(k, float("nan"), "unclear (exploratory; ...)", missing) for k in cl.FIRST_SCREEN_BN])
    line = [x for x in cl.findings(t) if x.startswith("**BatchNorm**")]
    assert len(line) == 1 and "not judged yet (not judged at this profile: 21 of its runs missing)" in line[0]
    assert line[0].endswith("one question asked twice, not two pieces of evidence.")  # the twins' note, after it
    t.loc[0, ["estimate", "interval", "label"]] = [0.15, "[0.100, 0.200]", "supported (exploratory)"]
    line = [x for x in cl.findings(t) if x.startswith("**BatchNorm**")][0]
    assert f"{cl.FIRST_SCREEN_BN['bn-clean']}: +0.150 accuracy [0.100, 0.200], supported" in line
    assert f"{cl.FIRST_SCREEN_BN['bn-gain-reestimated']}: not judged at this profile" in line
    # not judged, with interim estimates of the seeds trained so far: estimates and intervals, no label
    t.loc[0, ["estimate", "interval", "label"]] = [float("nan"), "", "unclear (exploratory; ...)"]
    early = pd.DataFrame([dict(key="bn-clean", estimate=0.124, ci_low=0.115, ci_high=0.134, unit="accuracy",
                               n="2 pairs", shown="5, 6 of the seeds 5, 6, 7, 8, 9 (7, 8, 9 not yet)")])
    line = [x for x in cl.findings(t, interim=early) if x.startswith("**BatchNorm**")][0]
    assert "not judged yet (not judged at this profile: 21 of its runs missing); so far, from 5, 6 of the seeds" in line
    assert f"{cl.FIRST_SCREEN_BN['bn-clean']}: +0.124 accuracy [+0.115, +0.134], 2 pairs." in line
    assert "supported" not in line and "unclear" not in line
    assert not [x for x in cl.findings(t[~t.key.isin(cl.FIRST_SCREEN_BN)]) if "BatchNorm" in x]
    # judged: one sentence per row; a gain shown whose near end lies within the SESOI says so
    t = pd.DataFrame([dict(row(k, e, "supported (exploratory)", "reproduced"), category="reproduced", kind="effect",
                           ci_low=lo, ci_high=0.3, bound=b, unit=u, interval=f"[{lo:.3f}, 0.300]")
                      for k, e, lo, b, u in (("bn-clean", 0.15, 0.1, 0.02, "accuracy"),
                                             ("bn-gain-reestimated", 0.17, 0.004, 0.03, "AUC"),
                                             ("bn-gain-task-only", 0.15, 0.004, 0.03, "AUC"))])
    line = [x for x in cl.findings(t) if x.startswith("**BatchNorm**")][0]
    assert ("+0.150 accuracy [0.100, 0.300], supported (exploratory). Gaussian AUC gain over unregularized after that "
            "re-estimation: +0.170 AUC [0.004, 0.300], supported (exploratory), though its interval's end nearer 0 "
            "lies within the smallest effect of interest, ±0.03 AUC,") in line
    assert ". The same gain when trained with task-only statistics: +0.150 AUC" in line
    assert line.count("though its interval") == 2  # not the clean row: its near end 0.1 is beyond ±0.02


def test_findings_say_where_the_transfer_control_stands():
    missing = "inconclusive (not judged at this profile: 16 of its runs missing)"
    base = dict(key="transfer-specific", claim="c", status="exploratory", category="inconclusive", unit="AUC",
                interval="", verdict=missing, label="unclear (exploratory; ...)", parts="")
    line = [x for x in cl.findings(pd.DataFrame([dict(base, estimate=float("nan"))]))
            if x.startswith("**Transfer specificity**")]
    assert len(line) == 1 and "not judged yet (not judged at this profile: 16 of its runs missing)" in line[0]
    judged = dict(base, estimate=0.106, interval="[0.044, 0.168]", verdict="reproduced", category="reproduced",
                  label="supported (exploratory)",
                  parts="noise-aug: 0.106 [0.044, 0.168] reproduced; shuffled: 0.100 [0.080, 0.119] reproduced")
    line = [x for x in cl.findings(pd.DataFrame([judged])) if x.startswith("**Transfer specificity**")][0]
    assert "supported (exploratory); S^Th − control in AUC, per control: noise-aug: 0.106" in line
    assert "[controls page](controls.ipynb)" in line
    assert not [x for x in cl.findings(pd.DataFrame([dict(judged, key="other")])) if "transfer gain" in x]


def test_counts_keep_unjudged_rows_apart_and_the_seeds_sentence_says_what_was_seen(monkeypatch):
    from types import SimpleNamespace

    conf = pd.DataFrame(dict(key=["a", "b", "c"], category=["reproduced", "inconclusive", "inconclusive"],
                             estimate=[0.1, 0.02, float("nan")]))
    assert cl._counts(conf) == "1 reproduced, 0 contradicted, 0 not reproduced (negligible), 1 inconclusive, 1 not judged yet"
    assert cl._counts(conf.iloc[:2]).endswith("1 inconclusive")
    assert cl.seeds_sentence("cpu") == "" and cl.seeds_sentence("smoke") == ""
    ten = cl.seeds_sentence("full")  # the full profile's main comparison: seeds 0-9
    monkeypatch.setattr(cl, "get_profile", lambda name: SimpleNamespace(main_comparison_seeds=(0, 1, 2, 3, 4)))
    assert "re-analysis of data already seen" in cl.seeds_sentence("full")  # seeds 0-4 alone, all seen
    assert ("The 5 rows on Fig. 2's main comparison (gain-task, gain-natural, sth-vs-pixel, clean-task, "
            "clean-natural) pool its seeds 0-9: seeds 0-4 were published before") in ten
    assert "The other rows rest on their own pages' seeds" in ten
    assert "seeds 5-9 were trained after it" in ten and "re-analysis" not in ten


# ---- Fig. 4: the start directions are the attack's starting points -----------------------------------------

def test_init_directions_replay_the_boundary_attacks_starts(monkeypatch):
    """For the first batch, the init replayed alone gives exactly the starting points the boundary attack used."""
    import pixelreg.robustness.attacks as attacks
    from pixelreg.figures.fig4 import init_directions

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)).eval()
    x = torch.rand(5, 1, 8, 8)
    seen = []
    real = attacks.blended_uniform_noise_init

    def spy(m, xb, yb, *a, **k):
        start, ok = real(m, xb, yb, *a, **k)
        seen.append((start - xb).clone())
        return start, ok

    monkeypatch.setattr(attacks, "blended_uniform_noise_init", spy)
    attacks.BoundaryAttack(steps=1, repeats=2, batch_size=100)(model, x, seed=3)
    monkeypatch.setattr(attacks, "blended_uniform_noise_init", real)
    delta, found = init_directions(model, x, seed=3, repeats=2, batch_size=100)
    assert delta.shape == (2, 5, 1, 8, 8) and len(seen) == 2
    for r in range(2):
        ok = found[r]
        assert torch.allclose(delta[r][ok], seen[r][ok])


# ---- Fig. 1 page: both simulations, end to end at the smoke scale ------------------------------------------

def test_fig1_page_computes_both_simulations_and_the_claim_reads_both(tmp_path):
    from pixelreg.figures.fig1 import SIMULATIONS, Fig1

    data = Fig1(profile="smoke").data(runs_dir=tmp_path)
    for name in ("pairs", "correlations", "predictor", "meta"):
        assert list(dict.fromkeys(data[name]["simulation"])) == list(SIMULATIONS), name
    meta = data["meta"]
    assert list(meta.loc[meta.parameter == "zero_dc", "value"]) == [False, True]
    nf = data["correlations"].query("source == 'noise_free' and reference == 'pixel' and method == 'pearson'")
    assert nf["r"].nunique() == 2  # the two populations respond differently
    assert "mean luminance" in data.what_we_see()
    row = _row("fig1", dict(fig1=data))
    for sim in SIMULATIONS:
        assert sim in row.number
    assert row.verdict == "inconclusive (not testable here)"


def test_wald_comparison_matches_the_normal_formulas():
    from scipy import stats as st

    from pixelreg.analysis import stats

    c = stats.wald_test(0.2, 0.05, 500, what="bootstrap SE")
    assert c.test == "Wald z (bootstrap SE)" and c.p == pytest.approx(2 * st.norm.sf(4.0))
    assert (c.ci_low, c.ci_high) == pytest.approx((0.2 - 1.959964 * 0.05, 0.2 + 1.959964 * 0.05))
    assert stats.shifted_p(c, 0.1, "greater") == pytest.approx(st.norm.sf(2.0))
    assert stats.tost(c, 0.3)[0] == pytest.approx(st.norm.cdf(-2.0))  # the upper test: (0.2 − 0.3)/0.05
    assert stats.mde(c, 0.05, 0.8) == pytest.approx((1.959964 + 0.841621) * 0.05, rel=1e-5)
    assert math.isnan(stats.wald_test(0.2, 0.0, 10).p)


def test_boundary_starts_are_a_separately_cached_evaluation(tmp_path):
    """The null is cached under its own name beside the run's other evaluations, and read back without the
    model (as from a published record)."""
    from types import SimpleNamespace

    from pixelreg.figures.fig4 import boundary_starts

    try:
        from pixelreg.experiment.data import load_dataset
        load_dataset("fashion-mnist", "test")
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"Fashion-MNIST not available: {e}")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    run = SimpleNamespace(config=SimpleNamespace(task="fashion-mnist", seed=0, alpha=0.0, rgb=False), dir=tmp_path,
                          load_model=lambda device=None: model)
    table, delta = boundary_starts(run, n_images=6)
    assert delta.shape == (1, 6, 1, 28, 28) and list(table.columns[:3]) == ["run", "seed", "condition"]
    assert table["found"].sum() == int(torch.isfinite(delta).flatten(2).all(2).sum())
    names = sorted(p.name for p in (tmp_path / "evals").iterdir() if not p.name.endswith(".lock"))
    assert [n.rsplit("-", 1)[0] for n in names] == ["boundary-start"] * 3
    assert {n.rsplit(".", 1)[1] for n in names} == {"csv", "json", "pt"}

    def no_model(device=None):
        raise RecordOnlyRunError("x", "boundary-start", "no checkpoint")

    run.load_model = no_model
    table2, delta2 = boundary_starts(run, n_images=6)
    assert torch.equal(delta.nan_to_num(), delta2.nan_to_num()) and table2.equals(table)
    with pytest.raises(RecordOnlyRunError):  # another setting is not in the cache: it needs the model
        boundary_starts(run, n_images=7)


def test_runs_from_a_dirty_tree_are_flagged_in_the_caption():
    from pixelreg.figures.common import dirty_sentence

    runs = pd.DataFrame(dict(run=["a", "b", "c"], condition=["unregularized", "S^Th", "S^Th"], seed=[0, 0, 1],
                             git_dirty=[True, False, None]))
    s = dirty_sentence(runs)
    assert s.startswith("**1 of 3 runs were trained from a working tree with uncommitted changes**")
    assert "a (unregularized, seed 0)" in s and "b (" not in s
    assert dirty_sentence(runs.assign(git_dirty=False)) == "" and dirty_sentence(runs.drop(columns="git_dirty")) == ""


def test_an_exploratory_row_without_data_says_why():
    """'unclear' is for data that do not decide; a row whose page has no runs yet says so in its label."""
    f = World({}, seeds=6, noise=0.01).figures()
    f["batchnorm"] = MissingRunsError(["abc123def456"], ["pixelreg train ..."])
    row = _row("bn-clean", f)
    assert row.verdict == "inconclusive (not judged at this profile: 1 of the batchnorm page's runs missing)"
    assert row.status == "exploratory" and row.label.startswith("unclear (exploratory; not judged at this profile")
    assert _row("bn-clean", World({}, seeds=6, noise=0.01).figures()).label in set(EXPLORATORY_LABELS.values())


def test_the_claims_page_states_each_attacks_eps_grid_of_its_aucs():
    from pixelreg.robustness.evaluate import EPSILON_GRIDS

    w = World({"gain-task": 0.2}, seeds=6, noise=0.003)
    t = claims_table(w.figures())
    runs = pd.DataFrame(dict(run=["a"], task=["fashion-mnist"]))
    text = Claims(profile="smoke").what_we_see(FigureData("claims", {}, dict(claims=t), runs))
    g = [e for e in EPSILON_GRIDS["fashion-mnist"]["salt-pepper"] if e > 0]
    assert f"salt-and-pepper noise ε {min(g):.3g}-{max(g):.3g} ({len(g)} values)" in text
    assert "fashion-mnist: Gaussian noise ε 0.0556-0.5 (9 values)" in text
    assert "AUC rows" not in Claims(profile="smoke").what_we_see(FigureData("claims", {}, dict(claims=t),
                                                                             pd.DataFrame()))


def test_a_rows_tested_text_names_its_pages_parameters():
    f = World({}, seeds=6, noise=0.01).figures()
    d = f["fig4"]
    f["fig4"] = FigureData(d.name, {**d.params, "converged_images": 7}, d.tables, d.runs)
    t = claims_table(f).set_index("key")
    assert "fig4: 7 images per run" in t.at["lowfreq-mostly", "tested_here"]
    assert "fig4: 7 images per run" in t.at["boundary-converged", "tested_here"]
    f["fig4"] = RecordOnlyRunError("abc123", "boundary-start", "no checkpoint")  # the page did not run
    assert "fig4: ? images per run" in claims_table(f).set_index("key").at["lowfreq-reg", "tested_here"]


def test_the_band_test_drops_a_seed_that_lost_one_pools_run():
    from pixelreg.figures.claimrows import band_test

    rows = []
    for seed in range(3):
        rows += [dict(run=f"u{seed}", seed=seed, condition="unregularized", band=b, error=e)
                 for b, e in (("high", 0.5), ("low", 0.3))]
        for pool, excess in (("task", -0.1), ("natural", -0.3)):
            if seed == 1 and pool == "natural":
                continue  # failed: left out of the tables
            rows += [dict(run=f"t{seed}{pool}", seed=seed, condition="S^Th", band=b, error=e)
                     for b, e in (("high", 0.5 + excess), ("low", 0.3))]
    c = band_test()({"fourier": {"bands": pd.DataFrame(rows)}}, {})
    # seeds 0 and 2 pool both pools (mean excess -0.2); seed 1 alone would be -0.1
    assert c.n == 2 and c.estimate == pytest.approx(-0.2)


def test_an_exploratory_rows_details_call_its_outcome_a_label_not_a_verdict():
    t = claims_table(World({"sth-vs-noise-aug": -0.15}, seeds=8, noise=0.002).figures())
    row = t.set_index("key").loc["sth-vs-noise-aug"]
    assert row.status == "exploratory" and row.rule.startswith("contradicted")
    html = cl.compact_html(t, status="exploratory")
    assert "<b>label and rule</b>: opposed (exploratory): the rule's outcome" in html
    assert "verdict and rule" not in html and "verdict and rule" in cl.compact_html(t)
    f = World({}, seeds=6, noise=0.01).figures()
    f["batchnorm"] = MissingRunsError(["abc123def456"], ["pixelreg train ..."])
    html = cl.compact_html(claims_table(f), status="exploratory")
    row = next(x for x in html.split("<tr") if "bn-clean" in x)
    assert "the rule's outcome" not in row and ". The rule: claim b &gt; a" in row


def test_findings_name_failed_runs_and_each_numbers_n():
    """The first screen names each failed run the rows read and what leaving it out costs, and gives each
    estimate its n (the pairs the test used), so a row that lost a seed pair says so where it is read."""
    w = World({k: 8 * _scale(BY_KEY[k]) for k in EFFECT_ROWS}, seeds=6, noise=0.003)
    t = claims_table(w.figures())
    runs = pd.DataFrame([dict(run="a1", condition="S^Th", task="fashion-mnist", reg_data="natural", seed=1,
                              failure="non-finite loss in epoch 2"),
                         dict(run="b2", condition="unregularized", task="fashion-mnist", reg_data=float("nan"),
                              seed=1, failure=float("nan")),
                         dict(run="b2", condition="unregularized", task="fashion-mnist", reg_data=float("nan"),
                              seed=1, failure=float("nan"))])
    lines = cl.findings(t, runs=runs)
    failed = [x for x in lines if x.startswith("Failed runs")]
    assert failed == [cl.failed_runs_sentence(runs)]
    assert ("Failed runs: 1 of the 2 runs the claims page reads (S^Th on fashion-mnist <- natural at seed 1, run a1: "
            "non-finite loss in epoch 2)") in failed[0]
    assert not cl.failed_runs_sentence(runs.iloc[1:]) and not [x for x in cl.findings(t) if "Failed runs" in x]
    row = t.set_index("key").loc["gain-task"]
    assert row["n"] == "6 pairs" and row["test"].startswith("paired t, 6 pairs: ")
    assert cl._num(row.rename("gain-task")).endswith(", 6 pairs")
    welch = row.copy()
    welch["n"] = "5 vs 4 runs"
    assert cl._num(welch.rename("gain-task")).endswith(", 5 vs 4 runs")
    assert (t[~t["status"].isin(["confirmatory", "exploratory"])]["n"] == "").all()


def test_the_shuffled_target_control_is_an_exploratory_row_and_a_first_screen_line():
    """S^Th against its shuffled-target control on Gaussian noise: a clear planted gain is "supported", none is not;
    the intro's line gives the number, its n and the label."""
    t = claims_table(World({"sth-vs-shuffled": 0.15}, seeds=8, noise=0.002).figures())
    row = t.set_index("key").loc["sth-vs-shuffled"]
    assert row.status == "exploratory" and row.label == "supported (exploratory)" and row.ci_low > 0
    line = [x for x in cl.findings(t) if x.startswith("**Shuffled target**")]
    assert len(line) == 1 and (f"S^Th − shuffled = {row.estimate:+.3f} AUC {row.interval}, 8 pairs, supported "
                               "(exploratory): S^Th is ahead.") in line[0]
    flat = claims_table(World({}, seeds=8, noise=0.002).figures()).set_index("key").loc["sth-vs-shuffled"]
    assert flat.label != "supported (exploratory)" and flat.ci_low < 0.03


def test_efficiency_rows_test_the_smallest_setting_against_the_unregularized_model():
    """The poster's "a small regularization batch size and dataset are sufficient to significantly increase
    robustness": the smallest k (and N) minus the unregularized runs, paired by seed. A planted gain of the smallest
    cell is reproduced; without one (that cell no better than unregularized) it is not."""
    w = World({"efficiency-k": 0.1, "efficiency-N": 0.1}, seeds=6, noise=0.002).figures()
    for key, lo in (("efficiency-k", "k=4"), ("efficiency-N", "N=50")):
        c = BY_KEY[key].compare(w, {})
        assert c.paired and c.estimate == pytest.approx(0.1, abs=0.01) and c.n == 6
        assert _row(key, w).verdict == "reproduced"
        assert "vs the unregularized runs" in BY_KEY[key].tested
    flat = World({}, seeds=6, noise=0.002).figures()
    assert BY_KEY["efficiency-k"].compare(flat, {}).estimate == pytest.approx(0.0, abs=0.01)
    assert _row("efficiency-k", flat).verdict != "reproduced"


def test_findings_say_which_setting_the_verdicts_are_about():
    """The first screen's scope comes from the runs the rows read (known values), and names the paper's own Fig. 2a
    setting from the presets; no runs, no sentence."""
    runs = pd.DataFrame([dict(run=f"r{i}", condition="S^Th", task="fashion-mnist", reg_data=pool, alpha=10.0, th=0.8,
                              width=16, epochs=3.0) for i, pool in enumerate(("fashion-mnist", "natural"))]
                        + [dict(run="u", condition="unregularized", task="fashion-mnist", reg_data=float("nan"),
                                alpha=0.0, th=0.8, width=16, epochs=3.0)])
    text = cl.scope_sentence(runs)
    assert text.startswith("These are verdicts on this book's runs: the S^Th rows read fashion-mnist <- fashion-mnist "
                           "and fashion-mnist <- natural photographs (ImageNet stand-in), at α 10, Th 0.8, a ResNet18 of "
                           "width 16, trained 3 epochs.")
    assert "MNIST at α 4, Th 0.2, 20 epochs" in text
    assert cl.scope_sentence(None) == "" and cl.scope_sentence(runs[runs.condition != "S^Th"]) == ""
    w = World({}, seeds=6, noise=0.002)
    assert text in cl.findings(claims_table(w.figures()), runs=runs)


def test_rows_not_testable_here_get_a_table_of_their_own():
    """The claims page lists the rows without a verdict (Fig. 1's, the timing, Li et al.'s) with why and what it
    shows instead; a table without such rows says so."""
    w = World({}, seeds=6, noise=0.002)
    t = claims_table(w.figures({"with mean-luminance response": (0.3, 0.05)}), extra={"timing": "9.9 min per run"})
    html = cl.untested_html(t)
    for key in ("fig1", "timing", "li2019"):
        assert _esc_claim(t, key) in html
    assert "with mean-luminance response: r = 0.300 [0.250, 0.350]" in html and "9.9 min per run" in html
    assert "no neural recordings here" in html
    assert cl.untested_html(t[t.status != "not judged"]).startswith("<p>Every claim")


def _esc_claim(t, key):
    return cl._esc(t.set_index("key").loc[key, "claim"])


def test_the_intro_states_the_frontier_call_at_the_first_level_both_curves_reach():
    """The frontier page's matched table on the first screen, in the intro's sign (S^Th − augmentation): each attack
    at the first fixed level the Gaussian curves both reach, with its interval and the page's call from 5 seeds;
    below 5 seeds the estimates and "not judged"; the level S^Th does not reach; random noise only until the
    transferred grid is in; nothing when no level is reached."""
    def row(level, est, lo, hi, n, sth=True, aug=True, attack="gaussian"):
        return dict(attack=attack, level=level, sth=0.6, aug=0.6 + est, estimate=est, ci_low=lo, ci_high=hi,
                    sth_covers=sth, aug_covers=aug, defined=1.0, n_seeds=n, n_resamples=2000, confidence=0.95,
                    sth_between="0.845-0.869, not reached" if not sth else "α 10 (0.855) and α 3 (0.869)",
                    sth_clean_max=0.869)

    nan = float("nan")
    m = pd.DataFrame([row(0.88, nan, nan, nan, 5, sth=False), row(0.86, 0.259, 0.185, 0.364, 5),
                      row(0.86, 0.166, 0.089, 0.291, 5, attack="uniform")])
    line = cl.matched_line(m)
    assert ("random noise only so far: the transferred-FGSM panel is not published yet): at clean accuracy 0.86, "
            "S^Th − augmentation (the page shows augmentation − S^Th) = -0.259 AUC [-0.364, -0.185] under gaussian "
            "noise, -0.166 [-0.291, -0.089] under uniform noise (5 seeds, 95% percentile bootstrap over paired seeds, "
            "exploratory; at so few seeds such intervals tend to be too narrow): augmentation is ahead under each.") in line
    assert line.endswith(" At the noise panels' seeds (clean accuracy is the same under every noise) S^Th's curve does "
                         "not reach clean accuracy 0.88 (its settings' seed "
                         "means span 0.845-0.869; a limit of its grid, whose smallest α sets its largest clean accuracy: "
                         "the frontier page says why α 1 is not in it).")
    assert "interim" not in line
    low = pd.concat([m, pd.DataFrame([row(0.83, nan, nan, nan, 5, sth=False)])], ignore_index=True)
    assert "0.83" not in cl.matched_line(low)  # below S^Th's curve: not put down to the grid's smallest α
    assert cl.matched_line(m.assign(shown="seeds 7 of 7, 8, 9")).endswith(
        " The frontier page is still interim: it shows seeds 7 of 7, 8, 9.")
    assert "(the [frontier page](frontier.ipynb), S^Th over" in line  # no pair column: no pair named
    assert "(the [frontier page](frontier.ipynb), fashion-mnist <- fashion-mnist, S^Th over" in cl.matched_line(
        m.assign(pair="fashion-mnist <- fashion-mnist"))
    mixed = m.copy()
    mixed.loc[2, ["ci_low", "ci_high"]] = [-0.01, 0.3]
    assert ("the calls differ by attack: under gaussian, augmentation is ahead; under uniform, neither is shown ahead "
            "(the interval includes 0).") in cl.matched_line(mixed)
    few = m.assign(n_seeds=4)
    assert "-0.259 AUC under gaussian noise" in cl.matched_line(few) and "not judged (4 seeds) under each" in cl.matched_line(few)
    fgsm = pd.concat([m, pd.DataFrame([row(0.86, 0.1, 0.05, 0.15, 3, attack="transferred fgsm")])], ignore_index=True)
    assert "random noise only" not in cl.matched_line(fgsm) and "transferred fgsm noise" not in cl.matched_line(fgsm)
    assert "-0.100 under transferred fgsm" in cl.matched_line(fgsm) and "(3-5 seeds" in cl.matched_line(fgsm)
    assert cl.matched_line(m.iloc[[0]]) == "" and cl.matched_line(m[m.attack == "uniform"]) == ""
    w = World({k: 8 * _scale(BY_KEY[k]) for k in EFFECT_ROWS}, seeds=6, noise=0.003)
    t = claims_table(w.figures())
    lines = cl.findings(t, matched=m)
    assert lines.index(cl.matched_line(m)) == 1 + next(i for i, x in enumerate(lines) if "**Noise augmentation**" in x)
    assert not [x for x in cl.findings(t) if "At equal clean accuracy" in x]


def test_the_intro_counts_dominated_settings_without_interpolation():
    """The frontier line ends with the page's interpolation-free count, summed over seeds per attack; attacks with
    equal counts share a clause; counts that differ get one clause each; no table, no sentence."""
    from pixelreg.figures.frontier import dominance_counts

    def dom(attack, seeds, sth_dom, aug_dom, sth=3, aug=5):
        return [dict(attack=attack, seed=s, sth_settings=sth, sth_dominated=sth_dom, aug_settings=aug,
                     aug_dominated=aug_dom) for s in seeds]

    same = pd.DataFrame(dom("gaussian", range(5), 3, 0) + dom("uniform", range(5), 3, 0))
    assert dominance_counts(same).endswith(": under each of gaussian and uniform noise, 15 of 15 S^Th settings "
                                           "(3 per seed, 5 seeds) are beaten and 0 of 25 augmentation settings the "
                                           "other way.")
    mixed = pd.DataFrame(dom("gaussian", range(5), 3, 0) + dom("transferred fgsm", (7, 8, 9), 1, 2))
    assert ("under gaussian noise, 15 of 15 S^Th settings (3 per seed, 5 seeds) are beaten and 0 of 25 augmentation "
            "settings the other way; under transferred fgsm, 3 of 9 S^Th settings (3 per seed, 3 seeds) are beaten "
            "and 6 of 15 augmentation settings the other way.") in dominance_counts(mixed)
    assert dominance_counts(None) == "" and dominance_counts(same.iloc[:0]) == ""
    m = pd.DataFrame([dict(attack="gaussian", level=0.86, sth=0.6, aug=0.8, estimate=0.2, ci_low=0.1, ci_high=0.3,
                           sth_covers=True, aug_covers=True, defined=1.0, n_seeds=5, n_resamples=2000,
                           confidence=0.95, sth_between="α 10 (0.855) and α 3 (0.869)")])
    assert cl.matched_line(m, same).endswith(dominance_counts(same)) and cl.matched_line(m, None) + \
        dominance_counts(same) == cl.matched_line(m, same)


def test_the_intro_never_trains_for_the_frontier_line(tmp_path, monkeypatch):
    """With training allowed and an empty run store, Claims.frontier_tables returns empty tables instead of
    training the frontier's grid."""
    import pixelreg.figures.frontier as frontier
    from pixelreg.figures.claims import Claims

    monkeypatch.setenv("PIXELREG_TRAIN", "1")
    monkeypatch.setattr(frontier, "ensure_runs", lambda *a, **k: pytest.fail("frontier_tables trained"))
    t = Claims(profile="smoke").frontier_tables(tmp_path)
    assert set(t) == {"matched", "dominance"} and all(x.empty for x in t.values())
