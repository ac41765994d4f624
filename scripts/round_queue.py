"""The training queue of this round at the full profile, built from the pages' own config helpers.
Usage: python scripts/round_queue.py > queue.jsonl  -> prints the queue (json lines of config dicts) in priority order."""
import json, sys
from pixelreg.experiment.config import config_hash
from pixelreg.figures.fig2 import Fig2
from pixelreg.figures.beyond import Beyond
from pixelreg.figures.budget import PAPER_BUDGETS, Budget
from pixelreg.figures.fig3 import Fig3
from pixelreg.figures.controls import Controls
from pixelreg.figures.frontier import Frontier

P = "full"
out = [Fig3(profile=P).configs()[-1]]  # Fig. 3's transfer source (seed 1000): its record holds no weights
# issue 22 items 1 and 4: seeds 5-9 of the main comparison, each seed with the BatchNorm alternative beside it
for seed in range(5, 10):
    main = Fig2(profile=P, seeds=(seed,)).configs()
    for c in main:
        out.append(c)
        if c.regularized and not (c.pool_source == "fashion-mnist" and c.target == "pixel"):
            out.append(c.replace(pair_bn="task-only"))
# issue 22 item 3: the controls page (added 2026-12-06): its transfer source (seed 1001) and, at seeds 7-9,
# the beyond page's augmentation and shuffled-target runs (the other conditions are Fig. 2's, above)
ctl = Controls(profile=P)
out.append(ctl.configs()[-1])
out += [c for c in ctl.configs()[:-1] if c.noise_aug or c.target == "shuffled"]
# issue 22 item 3: the frontier grid on the Fashion-MNIST pool, seeds 0-4
b = Beyond(profile=P)
for seed in range(5):
    for a in (3.0, 30.0):  # α 10 is Fig. 2's; no α 1 at full (pixelreg.figures.frontier.ALPHAS)
        out.append(b.cfg(reg_data="fashion-mnist", alpha=a, th=0.8, target="thresholded", seed=seed))
    for s in (0.05, 0.1, 0.3, 0.5):
        out.append(b.unreg(seed, noise_aug=s))
    out.append(b.cfg(reg_data="fashion-mnist", alpha=10.0, th=0.8, target="thresholded", seed=seed, noise_aug=0.2))
# issue 22 item 3: the frontier grid again at the controls page's seeds 7-9, under FGSM transferred from its
# source (added 2026-12-06); the unregularized, α 10 and σ 0.2 runs of those seeds are above
fr = Frontier(profile=P)
out += [c for *_, c in fr.plan_runs(fr.transfer_seeds)]
# issue 19 item 1: 10- and 20-epoch budgets, 3 seeds
bud = Budget(profile=P, epochs=PAPER_BUDGETS, seeds=(0, 1, 2))
for e in (10.0, 20.0):
    for label, u, r in [x for x in bud.budget_plan() if x[1].epochs == e]:
        out += [u, r]
# and the two seeds the budget page's rule adds at 20 epochs, once its records have shown them needed
# (pixelreg.figures.budget.MORE_SEEDS; none so far)
full_budget = Budget(profile=P)
for label, u, r in full_budget.budget_plan():
    if u.seed in full_budget.more_seeds:
        out += [u, r]
seen = set()
for c in out:
    h = config_hash(c)
    if h in seen:
        continue
    seen.add(h)
    print(json.dumps(c.to_dict()))
