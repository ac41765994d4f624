"""Evaluate this round's trained runs through the pages that read them, and export their records.

Usage: PIXELREG_RUNS_DIR=/path/to/store python scripts/round_evaluator.py [out_dir]   (default data/results/full)

With training off, it polls the run store. When the set of finished runs with weights changes, it evaluates each
page of the full profile, and each one-seed narrowing of a page, whose runs are all held (the cached
evaluations of pixelreg.figures). It also computes the frontier's noise curves run by run and Fig. 4's
converged attack. Then it exports the records of every run with weights to out_dir. A retrained run whose
record exists first gets that record's evaluations, but only if its metrics (wall times aside) and its
weights digest equal the record's; otherwise it is listed in <store>/.mismatch/. Check a record before
committing it.
"""
import json, os, sys, time, traceback, shutil
os.environ["PIXELREG_TRAIN"] = "0"
import torch
torch.set_num_threads(int(os.environ.get("EVAL_THREADS", "1")))
from pathlib import Path
from dataclasses import fields
from pixelreg.experiment.config import config_hash
from pixelreg.experiment.runs import RunStore, write_cache_entry
from pixelreg.experiment.records import export_runs, read_record, published_record
from pixelreg.figures import FIGURES

RUNS = Path(os.environ["PIXELREG_RUNS_DIR"])
ORDER = [n for n in os.environ.get("EVAL_PAGES", "frontier-curves,fourier,corruptions,frontier,fig2,batchnorm,beyond,fig3,combos,fig4,controls,budget").split(",")]
EXPORT = Path(sys.argv[1] if len(sys.argv) > 1 else "data/results/full"); EXPORT.mkdir(exist_ok=True)
done_keys = set()

def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)

def weight_runs():
    store = RunStore(RUNS)
    out = {}
    for r in store.runs():
        if r.finished and not r.record_only:
            out[r.id] = r
    return out

def merge_record(run):
    """A retrained run whose record exists: copy the record's evaluations into its cache (absent keys)."""
    path = published_record(run.config)
    if path is None:
        return
    rec = read_record(path)
    strip = lambda ms: [{k: v for k, v in m.items() if k != "seconds"} for m in ms]
    m_new = json.loads((run.dir / "metrics.json").read_text())
    p_new = json.loads((run.dir / "provenance.json").read_text())
    if strip(m_new) != strip(rec.data["metrics"]) or p_new.get("weights_sha256") != rec.data["provenance"].get("weights_sha256"):
        log("MISMATCH metrics", run.id)
        (RUNS / ".mismatch" / run.id).parent.mkdir(exist_ok=True)
        (RUNS / ".mismatch" / run.id).write_text(json.dumps([m_new, rec.data["metrics"]]))
        return
    evals = run.dir / "evals"
    for e in rec.data["evaluations"]:
        if not (evals / f"{e['key']}.csv").exists():
            write_cache_entry(evals, e["key"], e["params"], rec.tables[e["key"]])
    from pixelreg.experiment.runs import atomic_torch_save
    for fname, t in rec.tensors.items():
        if not (evals / fname).exists():
            atomic_torch_save(evals / fname, t)

def candidates(cls):
    page = cls(profile="full")
    out = [page.published_part(RUNS)]
    names = {f.name for f in fields(cls)}
    if "noise_seeds" in names:
        out += [cls(profile="full", seeds=(s,), noise_seeds=(0,)) for s in range(5, 10)]
        out += [cls(profile="full", seeds=(5,), noise_seeds=(s,)) for s in range(5)]
    elif "transfer_seeds" in names:  # Frontier: its noise grid seed by seed; its transferred grid at its own seeds
        out += [cls(profile="full", seeds=(s,), transfer_seeds=(s,) if s in page.transfer_seeds else ())
                for s in (*page.seeds, *page.transfer_seeds)]
    elif "seeds" in names and cls.__name__ != "Fig4":
        for s in (page.seeds if cls.__name__ == "Controls" else range(10)):  # Controls: seeds 7-9 (others lack weights)
            try:
                out.append(cls(profile="full", seeds=(s,)))
            except Exception:
                pass
    return out


def frontier_curves(wr):
    fr = FIGURES["frontier"](profile="full")
    plan = {c for *_, c in fr.plan_runs()}  # the noise grid (the transferred grid: its per-seed candidates)
    for r in wr.values():
        key = ("frontier-curves", r.id)
        if r.config in plan and key not in done_keys:
            t0 = time.time()
            try:
                fr.curves([r], fr.attacks, fr.n_images)
                log("evaluated frontier curves", r.id, f"{time.time()-t0:.0f}s")
            except Exception as e:
                log("FAILED frontier curves", r.id, type(e).__name__, str(e)[:300])
            done_keys.add(key)


def fig4_converged(wr):
    f4 = FIGURES["fig4"](profile="full")
    conv = set(f4.converged_configs())
    for r in wr.values():
        if r.config in conv:
            key = ("fig4-converged", r.id)
            if key in done_keys:
                continue
            t0 = time.time()
            try:
                f4.converged_evaluation(r)
                log("evaluated fig4 converged", r.id, f"{time.time()-t0:.0f}s")
            except Exception as e:
                log("FAILED fig4 converged", r.id, type(e).__name__, str(e)[:300])
            done_keys.add(key)


merged = set()
last = None
while True:
    wr = weight_runs()
    for rid, r in wr.items():
        if rid not in merged:
            merge_record(r); merged.add(rid)
    state = tuple(sorted(wr))
    if state == last:
        time.sleep(60); continue
    last = state
    wcfg = {r.config for r in wr.values()}
    for name in ORDER:
        if name == "frontier-curves":
            frontier_curves(wr)
            continue
        if name == "fig4":
            fig4_converged(wr)
            continue
        cls = FIGURES[name]
        try:
            cands = candidates(cls)
        except Exception as e:
            log("candidates failed", name, repr(e)[:200]); continue
        for page in cands:
            try:
                cfgs = page.configs()
            except Exception as e:
                continue
            if not (set(cfgs) & wcfg):
                continue
            key = (name, tuple(sorted(config_hash(c) for c in cfgs)))
            if key in done_keys:
                continue
            have = page.held(cfgs, RUNS)
            if not all(c in have for c in cfgs):
                continue
            t0 = time.time()
            try:
                if name == "frontier" and page.transfer_seeds:  # seeds 7-9: the transferred grid only
                    page._transfer(RUNS, progress=False)
                else:
                    page.data(RUNS, progress=False)
                done_keys.add(key)
                log("evaluated", name, getattr(page, "seeds", None), f"{time.time()-t0:.0f}s")
            except Exception as e:
                # not done: retried when the set of runs with weights next changes (a source retrained since)
                log("FAILED", name, getattr(page, "seeds", None), type(e).__name__, str(e)[:300])
        # export after each page
        wr2 = weight_runs()
        try:
            res = export_runs(list(wr2.values()), "full", out_dir=EXPORT)
            w = [r["run"] for r in res if r["written"]]
            if w:
                log("exported", w)
        except Exception as e:
            log("export failed", repr(e)[:300])
