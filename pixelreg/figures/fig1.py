"""Fig. 1: similarity of (predicted) V1 responses against pixel similarity.

Attias et al. (2024, Fig. 1) plot the representational similarity of Li et al.'s (2019) mouse-V1
predictor against pixel similarity, for image pairs. The recordings and predictors are not public,
so by default this runs on ``pixelreg.neural.v1sim.SimulatedV1`` (results say ``simulated=True`` in
``meta``) and takes real recordings (``load_responses`` layout) unchanged through ``data=``.

Pipeline: stimuli (natural 36x64 patches, ``pixelreg.experiment.data.natural_image_pool``) -> training set
with one noisy trial per image, held-out test set with ``repeats`` trials per image -> predictor
trained on the single trials (``fit_predictor``) -> centred-cosine similarity of noise-free rates,
single trials, trial averages and predictions on the held-out images -> correlations with pixel
similarity (and with the noise-free similarity) over the pairs i < j, with image-bootstrap CIs.

The scale (population size, images, predictor epochs, bootstrap resamples) is the profile's
``fig1`` entry in :data:`pixelreg.experiment.config.PROFILES`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from pixelreg.experiment.config import DEFAULT_PROFILE, check_value
from pixelreg.experiment.config import profile as get_profile
from pixelreg.errors import ConfigError
from pixelreg.hashing import content_hash
from pixelreg.neural.predictor import (NeuralData, Predictor, SimulatedV1, fit_predictor, load_responses, per_neuron_correlation,
                      predict, response_similarity, similarity_correlation, upper_pairs)
from pixelreg.experiment.records import RESULTS_DIR, read_table_record, write_table_record
from pixelreg.experiment.runs import RunStore, atomic_torch_save
from pixelreg.similarity import pixel_similarity
from pixelreg.figures.common import FigureData, Page, fmt

__all__ = ["Fig1", "fig1_tables", "SIMULATIONS", "export_tables", "stored_tables"]

_PREDICTOR_VERSION = 1  # bump when fit_predictor or Predictor change, so cached predictors are not reused
_TABLES_VERSION = 1  # bump when the tables computed from a predictor change (published tables then recompute)


def _cache_key(params: dict, data: NeuralData | None) -> str:
    contents = () if data is None else (data.images, data.responses)  # a recording: its contents, not its path
    return content_hash(params, *contents, length=16, compact=False)


def _fit_cached(cache_dir, key: str, images, responses, fit_kwargs: dict):
    """fit_predictor, or its earlier result from ``<cache_dir>/fig1-predictor-<key>.pt`` (tensors only)."""
    path = None if cache_dir is None else Path(cache_dir) / f"fig1-predictor-{key}.pt"
    if path is not None and path.is_file():
        blob = torch.load(path, weights_only=True)
        model = Predictor(responses.shape[-1], image_shape=tuple(images.shape[-2:]),
                          channels=fit_kwargs["channels"], seed=fit_kwargs["seed"])  # shapes only
        model.load_state_dict(blob["state"])
        model.eval()
        return model, pd.DataFrame({k: v.numpy() for k, v in blob["history"].items()}), True
    model, hist = fit_predictor(images, responses, **fit_kwargs)
    if path is not None:
        blob = {"state": model.state_dict(),
                "history": {c: torch.tensor(hist[c].to_numpy(copy=True)) for c in hist.columns}}
        atomic_torch_save(path, blob)  # a concurrent reader never sees half a file
    return model, hist, False


def fig1_tables(profile: str = DEFAULT_PROFILE, n_neurons: int | None = None, seed: int = 0,
                data: NeuralData | str | Path | None = None, cache_dir: str | Path | None = None,
                max_pairs: int = 20_000, num_threads: int | None = None, zero_dc: bool = False,
                **overrides) -> dict[str, pd.DataFrame]:
    """Compute the tables behind Fig. 1.

    Args:
        profile: a profile of :data:`pixelreg.experiment.config.PROFILES`; its ``fig1`` entry sets the scale.
        n_neurons: overrides the profile's M (simulation only).
        seed: seeds the population, the image pool, the split, the noise, the predictor and the bootstrap.
        data: real recordings (a ``NeuralData`` or a path for ``load_responses``). ``n_test`` images
            are held out (seeded); with (T, N, M) responses "single_trial" is trial 0 and
            "trial_average" the mean over T; with (N, M) there is no trial average and no noise-free
            reference. None simulates ``SimulatedV1`` on natural patches.
        cache_dir: where to keep the trained predictor (keyed by a hash of every input); None: no cache.
        num_threads: torch threads for predictor training (``fit_predictor``); None leaves them.
        zero_dc: simulation only: Gabors without a response to mean luminance (``SimulatedV1(zero_dc=True)``).
            The default keeps it; the choice sets how strongly the noise-free response similarity follows
            pixel similarity (see ``SimulatedV1``), so :class:`Fig1` shows both.
        max_pairs: at most this many held-out pairs in the "pairs" table (seeded subsample, for plotting).
        **overrides: any key of the profile's ``fig1`` scale (n_train, n_test, repeats, max_epochs, patience,
            channels, n_boot).

    Returns:
        dict of DataFrames:
        - "pairs": i, j, pixel, and one column per source (noise_free, single_trial, trial_average,
          predictor): similarities of held-out pairs i < j.
        - "correlations": source, reference ("pixel" or "noise_free"), method (pearson, spearman),
          r, ci_low, ci_high (95% image bootstrap), n_images, n_pairs; over all held-out pairs.
        - "predictor": per neuron, held-out correlation of the prediction with the noise-free rates
          and the trial average, and of a single trial and the trial average with the noise-free
          rates (the baselines).
        - "history": the predictor's training curve.
        - "meta": parameter, value (profile, sizes, simulated, cache hit, wall seconds, ...).
    """
    scale = get_profile(profile).fig1
    unknown = set(overrides) - set(scale)
    if unknown:
        raise ConfigError("overrides", sorted(unknown), f"keys of the profile: {', '.join(scale)}")
    p = {**scale, **overrides}
    if n_neurons is not None:
        p["n_neurons"] = n_neurons
    t0 = time.perf_counter()
    real = None if data is None else (data if isinstance(data, NeuralData) else load_responses(data))
    key_params = {"profile": p, "seed": seed, "simulated": real is None, "version": _PREDICTOR_VERSION}
    if zero_dc and real is None:  # only then: the predictors cached before the option keep their keys
        key_params["zero_dc"] = True
    key = _cache_key(key_params, real)
    # the tables follow from the predictor's inputs and the pairs kept for plotting
    tables_key = content_hash({"predictor": key, "max_pairs": max_pairs, "version": _TABLES_VERSION}, length=16)
    stored = stored_tables(profile, tables_key, cache_dir)
    if stored is not None:
        return stored
    rates_te = None
    if real is None:
        from pixelreg.experiment.data import natural_image_pool

        v1 = SimulatedV1(p["n_neurons"], seed=seed, zero_dc=zero_dc)
        images = natural_image_pool(p["n_train"] + p["n_test"], seed=seed)
        im_tr, im_te = images[:p["n_train"]], images[p["n_train"]:]
        r_tr = v1.responses(im_tr, 1, torch.Generator().manual_seed(seed * 1000 + 11))[0]
        r_te = v1.responses(im_te, p["repeats"], torch.Generator().manual_seed(seed * 1000 + 12))
        rates_te = v1.rates(im_te)
        cell_type = np.where(v1.is_complex.numpy(), "complex", "simple")
        source, real = repr(v1), None
    else:
        n_test = min(p["n_test"], real.n_images // 5)
        if n_test < 3:
            raise ConfigError("data", real, "at least 15 images (a fifth are held out, >= 3)")
        perm = torch.randperm(real.n_images, generator=torch.Generator().manual_seed(seed))
        te, tr = perm[:n_test].sort().values, perm[n_test:].sort().values
        im_tr, im_te = real.images[tr], real.images[te]
        resp = real.responses if real.responses.dim() == 3 else real.responses[None]
        r_tr, r_te = resp[:, tr], resp[:, te]
        cell_type = np.full(real.n_neurons, "unknown")
        source = real.meta.get("path", "NeuralData")
    fit_kwargs = dict(seed=seed, max_epochs=p["max_epochs"], patience=p["patience"], channels=p["channels"])
    model, hist, cache_hit = _fit_cached(cache_dir, key, im_tr, r_tr, {**fit_kwargs, "num_threads": num_threads})
    t_fit = time.perf_counter() - t0
    pred_te = predict(model, im_te)

    responses = {"single_trial": r_te[0]}
    if r_te.shape[0] > 1:
        responses["trial_average"] = r_te.mean(0)
    responses["predictor"] = pred_te
    if rates_te is not None:
        responses = {"noise_free": rates_te, **responses}
    sims = {"pixel": pixel_similarity(im_te), **{k: response_similarity(v) for k, v in responses.items()}}

    n = im_te.shape[0]
    i, j = upper_pairs(n, max_pairs=max_pairs, seed=seed)
    pairs = pd.DataFrame({"i": i.numpy(), "j": j.numpy(), **{k: s[i, j].numpy() for k, s in sims.items()}})

    rows = []
    refs = ["pixel"] + (["noise_free"] if rates_te is not None else [])
    for ref in refs:
        for src in responses:
            if src == ref:
                continue
            for row in similarity_correlation(sims[src], sims[ref], n_boot=p["n_boot"], seed=seed):
                rows.append({"source": src, "reference": ref, **row})
    correlations = pd.DataFrame(rows)

    per = {"neuron": np.arange(pred_te.shape[1]), "cell_type": cell_type}
    if rates_te is not None:
        per["pred_vs_noise_free"] = per_neuron_correlation(pred_te, rates_te).numpy()
        per["single_trial_vs_noise_free"] = per_neuron_correlation(r_te[0], rates_te).numpy()
    if r_te.shape[0] > 1:
        per["pred_vs_trial_average"] = per_neuron_correlation(pred_te, r_te.mean(0)).numpy()
        # split-half: one trial against the mean of the others (a reliability baseline on real data)
        per["single_trial_vs_other_trials"] = per_neuron_correlation(r_te[0], r_te[1:].mean(0)).numpy()
        if rates_te is not None:
            per["trial_average_vs_noise_free"] = per_neuron_correlation(r_te.mean(0), rates_te).numpy()
    predictor = pd.DataFrame(per)

    meta = {"profile": profile, "seed": seed, "simulated": real is None, "source": source,
            "zero_dc": bool(zero_dc) if real is None else None,
            "n_neurons": int(pred_te.shape[1]), "n_train_images": int(im_tr.shape[0]),
            "n_test_images": n, "test_trials": int(r_te.shape[0]), "n_pairs_total": n * (n - 1) // 2,
            "n_pairs_table": len(pairs), "epochs_trained": len(hist), "cache_hit": cache_hit, "cache_key": key,
            "fit_seconds": round(t_fit, 2), "wall_seconds": round(time.perf_counter() - t0, 2),
            **{f"param_{k}": v for k, v in p.items()}, "tables_key": tables_key}
    tables = {"pairs": pairs, "correlations": correlations, "predictor": predictor, "history": hist}
    if cache_dir is not None:
        write_table_record(Path(cache_dir) / f"fig1-tables-{tables_key}.json", "fig1", tables_key,
                           dict(key_params, max_pairs=max_pairs), tables, binary=("pairs",), meta=meta,
                           max_bytes=None)
    return {**tables, "meta": _meta_table(meta)}


def _meta_table(meta: dict) -> pd.DataFrame:
    return pd.DataFrame({"parameter": list(meta), "value": list(meta.values())})


def published_tables_dir(profile: str) -> Path:
    """Where Fig. 1's tables of a profile are published: ``data/results/<profile>/fig1/``."""
    return RESULTS_DIR / profile / "fig1"


def stored_tables(profile: str, tables_key: str, cache_dir: str | Path | None) -> dict[str, pd.DataFrame] | None:
    """Fig. 1's tables for ``tables_key`` from the published record of the profile, else from the run store's
    cache (``<cache_dir>/fig1-tables-<key>.json``), each checksummed; None when neither holds them. A damaged
    file is never served: one warning line names it, and the tables are recomputed (and the cache rewritten)."""
    import sys

    places = [published_tables_dir(profile) / f"fig1-{tables_key}.json"]
    if cache_dir is not None:
        places.append(Path(cache_dir) / f"fig1-tables-{tables_key}.json")
    for path in places:
        if not path.is_file():
            continue
        try:
            meta, tables = read_table_record(path, key=tables_key)
        except ConfigError as e:
            print(f"pixelreg: warning: {path} is damaged and is not used ({e.allowed.split(' (')[0]}); "
                  f"recomputing Fig. 1's tables", file=sys.stderr, flush=True)
            continue
        meta = {**meta, "cache_hit": True, "tables_from": str(path)}  # nothing recomputed
        return {**tables, "meta": _meta_table(meta)}
    return None


def export_tables(profile: str, seed: int = 0, out_dir: str | Path | None = None) -> list[Path]:
    """Compute (or read from the run store's cache) Fig. 1's tables of every simulation at ``profile`` with the
    page's defaults and publish them as table records (default ``data/results/<profile>/fig1/``), so that the
    page is read, not recomputed, by every build; return the files written."""
    out = Path(out_dir) if out_dir is not None else published_tables_dir(profile)
    written = []
    for zero_dc in SIMULATIONS.values():
        t = fig1_tables(profile=profile, seed=seed, cache_dir=RunStore(None).root / "fig1", zero_dc=zero_dc)
        meta = dict(zip(t["meta"]["parameter"], t["meta"]["value"]))
        meta.pop("tables_from", None)
        key = meta["tables_key"]
        tables = {k: v for k, v in t.items() if k != "meta"}
        path = out / f"fig1-{key}.json"
        write_table_record(path, "fig1", key, dict(profile=profile, seed=seed, zero_dc=zero_dc), tables,
                           binary=("pairs",), meta=meta)
        written.append(path)
    return written


# The two simulated populations Fig. 1 shows side by side: whether the Gabor receptive fields respond to mean
# luminance (their DC component). A standard Gabor is not zero-mean, so by default its cell responds to local
# luminance; with the DC removed it does not. Centred pixel similarity is dominated by luminance differences,
# so this choice sets how much a simulated V1 can follow pixel similarity at all.
SIMULATIONS = {"with mean-luminance response": False, "without mean-luminance response": True}


@dataclass(frozen=True, kw_only=True)
class Fig1(Page):
    """Fig. 1 on two simulated V1 populations (:data:`SIMULATIONS`: with and without a response to mean
    luminance); each trained predictor is cached under ``<run store>/fig1``. Every table has a column
    ``simulation``."""

    name: ClassVar[str] = "fig1"

    seed: int = 0  # seeds the population, images, trial noise, predictor and bootstrap
    n_neurons: int | None = None  # None: the profile's number of simulated neurons

    def check(self) -> None:
        check_value("seed", self.seed)
        if self.n_neurons is not None and (not isinstance(self.n_neurons, int) or isinstance(self.n_neurons, bool)
                                           or self.n_neurons < 2):
            raise ConfigError("n_neurons", self.n_neurons, "an integer >= 2, or None for the profile's")

    def data(self, runs_dir: str | Path | None = None, progress: bool = True) -> FigureData:
        cache = Path(runs_dir) if runs_dir is not None else RunStore(None).root
        per = {label: fig1_tables(profile=self.profile, seed=self.seed, n_neurons=self.n_neurons,
                                  cache_dir=cache / "fig1", zero_dc=zero_dc)
               for label, zero_dc in SIMULATIONS.items()}
        tables = {k: pd.concat([t[k].assign(simulation=label) for label, t in per.items()], ignore_index=True)
                  for k in next(iter(per.values()))}
        meta = dict(zip(tables["meta"]["parameter"], tables["meta"]["value"]))
        params = dict(profile=self.profile, seed=self.seed, n_neurons=meta.get("n_neurons"),
                      simulated=meta.get("simulated"), simulations="; ".join(SIMULATIONS))
        return FigureData(self.name, params, tables, pd.DataFrame(), "pixelreg.figures.fig1.fig1_tables", self)

    def what_we_see(self, data: FigureData) -> str:
        c = data["correlations"]
        lines = ["The simulated cells' response to mean luminance (the Gabor's DC component) is a modelling "
                 "choice that decides how far any response similarity can follow pixel similarity, so both "
                 "simulations are shown. A simulation whose answer is set by design cannot test the paper's "
                 "observation on real recordings: the claims page lists this claim as not testable here, with these "
                 "numbers as context."]
        for sim, cs in c.groupby("simulation", sort=False):
            lines.append(f"\n**{sim}**")
            for _, r in cs[(cs.reference == "pixel") & (cs.method == "pearson")].iterrows():
                lines.append(f"- {r.source} similarity vs pixel similarity: Pearson r = {fmt(r.r)} "
                             f"(95% image-bootstrap CI {fmt(r.ci_low)} to {fmt(r.ci_high)}, {int(r.n_pairs)} pairs).")
            pr = cs[(cs.source == "predictor") & (cs.reference == "pixel") & (cs.method == "pearson")]
            if len(pr):
                r = pr.iloc[0]
                if -SESOI_R < r.ci_low and r.ci_high < SESOI_R:  # the claims page's rule: negligible
                    lines.append("- The predictor's similarities correlate with pixel similarity **only "
                                 f"negligibly**: the whole interval lies inside ±{SESOI_R:g} ({SESOI_R_WHY})"
                                 + (", although it excludes 0." if r.ci_low > 0 or r.ci_high < 0 else "."))
                else:
                    lines.append("- The predictor's similarities " + (
                        "correlate positively with pixel similarity (the interval excludes 0)." if r.ci_low > 0 else
                        "correlate negatively with pixel similarity (the interval excludes 0)." if r.ci_high < 0 else
                        "**do not correlate distinguishably from zero with pixel similarity.**"))
            lines += denoising_sentence(cs)
        return "\n".join(lines)


def denoising_sentence(cs: pd.DataFrame) -> list[str]:
    """Does the predictor track the noise-free responses' similarities better than one noisy trial does (the
    denoising Li et al. used the predictor for)? From the Pearson rows against the noise-free similarities, with
    their image-bootstrap intervals; "better" only where the intervals do not overlap."""
    nf = cs[(cs.reference == "noise_free") & (cs.method == "pearson")].set_index("source")
    if not {"predictor", "single_trial"} <= set(nf.index):
        return []
    p, s = nf.loc["predictor"], nf.loc["single_trial"]
    text = (f"- Against the noise-free similarities: the predictor's r = {fmt(p.r)} ({fmt(p.ci_low)} to "
            f"{fmt(p.ci_high)}), one noisy trial's r = {fmt(s.r)} ({fmt(s.ci_low)} to {fmt(s.ci_high)})")
    if p.ci_low > s.ci_high:
        text += ": the predictor tracks them better than a single trial (the intervals do not overlap)"
    elif p.ci_high < s.ci_low:
        text += ": a single trial tracks them better than the predictor (the intervals do not overlap)"
    else:
        text += ": the intervals overlap, so neither is shown to track them better"
    if "trial_average" in nf.index:
        text += f"; the average over trials reaches r = {fmt(nf.loc['trial_average'].r)}"
    return [text + "."]


PAGE = Fig1


# ---- claim rows read from this page's tables (gathered by pixelreg.figures.claims) -------------------------
from pixelreg.figures.claimrows import Claim, NoData  # noqa: E402

SESOI_R = 0.1
SESOI_R_WHY = ("r = 0.1 is the conventional 'small' correlation: below it, pixel similarity explains under 1% of "
               "the variance of the predicted-response similarity")


def _fig1(d, ctx) -> str:
    """What the simulation shows, per simulated population: the Pearson r of predictor vs pixel similarity with the
    page's own 95% image-bootstrap interval. Context, not a test: the paper's claim is about a predictor of real
    mouse-V1 recordings, and in the simulation the answer is set by a modelling choice (the mean-luminance
    response)."""
    c = d["fig1"]["correlations"]
    if "simulation" not in c.columns:
        c = c.assign(simulation="as computed")
    sel = c[(c.source == "predictor") & (c.reference == "pixel") & (c.method == "pearson")]
    if sel.empty:
        raise NoData("no predictor-vs-pixel correlation in fig1")
    return "simulated V1, predictor vs pixel similarity: " + "; ".join(
        f"{r.simulation}: r = {r.r:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" for r in sel.itertuples()) + (
        " (the fig1 page's 95% image-bootstrap intervals)")


CLAIMS = (
    Claim("fig1", "Similarities from a V1 response predictor correlate with pixel similarity", "Fig. 1",
          ("fig1",), "not testable without the mouse-V1 recordings and their predictor; the fig1 page simulates a V1 "
          "population, where the answer is set by a modelling choice (whether the cells respond to the mean "
          "luminance under their receptive fields): the number shows both simulations, as context, not a verdict",
          "Pearson r of predicted-response similarity with pixel similarity over held-out image pairs", None, _fig1,
          "r"),
)
