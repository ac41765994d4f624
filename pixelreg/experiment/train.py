"""Two-pathway training: cross-entropy on the task plus α·L_sim on k image pairs per step.

The loop follows the reference code (spec §6-7): SGD (lr 0.1, momentum 0.9, no weight decay), the cyclic
step schedule lr = lr0 · decay^⌊(t mod 5·P)/P⌋ with t in epochs and P = ``phase_duration``, one batch of k
pairs per classification step, and model selection by the lowest validation loss (including the untrained
epoch-0 state). Differences, each deliberate:

- Randomness comes from generators seeded by ``(seed, purpose, epoch)``, so a run killed at any moment
  resumes from its last completed epoch and ends with exactly the metrics of an uninterrupted run.
- The best state is written to disk as a copy (the reference aliased live CPU tensors, bug B9).
- Per-epoch "train" metrics are the running loss and accuracy of the epoch's batches (train mode), not a
  second pass over the training set in eval mode as in the reference; validation and test are eval mode.
- Pairs are sampled uniformly with replacement across steps (the reference: without replacement within an
  epoch); with millions of pairs the two agree.
"""
from __future__ import annotations

import hashlib
import math
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from pixelreg.experiment import data as data_mod
from pixelreg.experiment.config import TrainConfig, canonical
from pixelreg.experiment.imagefolder import check_pool
from pixelreg.errors import ConfigError
from pixelreg.models import INFERENCE_CHUNK, default_device
from pixelreg.regularizer import SimilarityRegularizer, similarity_loss
from pixelreg.experiment.runs import (build_model, NONFINITE, UNTRAINED, Run, RunStore, atomic_torch_save, atomic_write_json, describe_failure,
                   load_checkpoint, weights_digest)
from pixelreg.similarity import PairSampler, centered_unit_rows

def learning_rate(config: TrainConfig, t: float) -> float:
    """Cyclic step decay at training time t (in epochs, fractional within an epoch)."""
    p = config.phase_duration
    phase = math.floor(round((t % (5 * p)) / p, 9))
    return config.lr * config.lr_decay ** phase


def _gen(seed: int, purpose: str, epoch: int = 0) -> torch.Generator:
    h = hashlib.sha256(f"{seed}/{purpose}/{epoch}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(h[:8], "little") & (2**63 - 1))


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve(config: TrainConfig) -> TrainConfig:
    """Validate, and pin the content of external files (a responses file) into the config."""
    config = canonical(config.validate())
    if config.target == "neural":
        p = Path(config.responses)
        if not p.is_file():
            raise ConfigError("responses", str(p), "an existing .npz file of neural responses")
        config = config.replace(responses=str(p.resolve()), responses_sha256=file_sha256(p))
    return config


class _Setup:
    """Everything a run needs in memory, built before anything is written to the run store."""

    def __init__(self, config: TrainConfig, device: torch.device):
        c = config
        train_all = data_mod.load_dataset(c.task, "train", rgb=c.rgb)
        test = data_mod.load_dataset(c.task, "test", rgb=c.rgb)
        tr_idx, va_idx = data_mod.run_split(len(train_all), c)
        n_test = len(test) if c.test_subset is None else min(c.test_subset, len(test))
        self.x_train, self.y_train = train_all.images[tr_idx], train_all.labels[tr_idx]
        self.x_valid, self.y_valid = train_all.images[va_idx], train_all.labels[va_idx]
        self.x_test, self.y_test = test.images[:n_test], test.labels[:n_test]
        self.augment = c.task.startswith("cifar")
        self.pool = None
        self.sampler = None
        if c.regularized:
            if c.target == "neural":
                from pixelreg.neural.predictor import load_responses

                nd = load_responses(c.responses)
                if c.pool_size > len(nd.images):
                    raise ConfigError("pool_size", c.pool_size, f"at most {len(nd.images)} (images in {c.responses})")
                perm = torch.randperm(len(nd.images), generator=_gen(c.seed, "pool"))[: c.pool_size]
                self.pool = nd.images[perm]
                resp = torch.as_tensor(nd.responses, dtype=torch.float32)
                resp = resp.mean(0) if resp.ndim == 3 else resp  # trial average
                # Centre on the pool actually used, exactly as S^pixel is centred on its pool.
                rows = centered_unit_rows(resp[perm].reshape(len(perm), 1, 1, -1))
                transform = "pixel"  # Li et al. regress on the raw (predicted) neural similarity
            else:
                # only a CIFAR pool has colour; grey pools (MNIST-like, natural, ImageNet) are repeated below
                if c.pool_source == "imagenet":  # the folder must hold the images the run is named by
                    check_pool(data_mod.resolve_imagenet_dir(c.imagenet_dir, c.pool_size), c.pool_size, c.seed,
                               c.imagenet_sha256)
                self.pool = data_mod.build_pool(c.pool_source, c.pool_size, seed=c.seed,
                                                rgb=c.rgb and c.pool_source in ("cifar10", "cifar100"),
                                                imagenet_dir=c.imagenet_dir)
                rows = centered_unit_rows(self.pool)
                transform = "pixel" if c.target == "pixel" else "thresholded"
            perm = None
            if c.target == "shuffled":
                perm = torch.randperm(len(self.pool), generator=_gen(c.seed, "shuffle"))
            self.sampler = PairSampler(rows, reg_range=c.reg_range, th=c.th, th2=c.th2, transform=transform,
                                       seed=c.seed, permutation=perm)
            if self.pool.shape[1] != self.x_train.shape[1]:
                # Grayscale pool for an rgb task (natural images): repeat the channel.
                self.pool = self.pool.expand(-1, self.x_train.shape[1], -1, -1).contiguous()
        self.device = device


def _to_float(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    return x.to(device, non_blocking=True).float().div_(255)


def _autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@torch.inference_mode()
def evaluate_split(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device,
                   batch_size: int = INFERENCE_CHUNK, precision: str = "fp32") -> tuple[float, float]:
    """Mean cross-entropy and accuracy (in [0, 1]) of ``model`` in eval mode on uint8 images.

    ``precision="bf16"``: forward passes under bfloat16 autocast (the run's own training precision), loss
    in float32.
    """
    was_training = model.training
    model.eval()
    loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with _autocast(device, precision):
        for s in range(0, len(images), batch_size):
            x = _to_float(images[s: s + batch_size], device)
            y = labels[s: s + batch_size].to(device)
            out = model(x).float()
            loss += F.cross_entropy(out, y, reduction="sum")
            correct += (out.argmax(1) == y).sum()
    model.train(was_training)
    n = max(len(images), 1)
    return loss.item() / n, correct.item() / n


HELDOUT_PAIRS = 256  # fixed pairs per run on which S^CNN is compared with its target after every epoch


def _heldout_pairs(config: TrainConfig, setup: "_Setup") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A fixed set of pairs of the run's regularized range, drawn once from the run's own generator.

    Training draws k pairs per step uniformly from the same range, so with N = 5,000 (12.5 million pairs)
    almost none of these are ever trained on; they measure how well S^CNN follows the target off the batch.
    """
    return setup.sampler.sample(HELDOUT_PAIRS, generator=_gen(config.seed, "heldout_pairs"))


@torch.inference_mode()
def heldout_similarity_corr(reg: SimilarityRegularizer, pool: torch.Tensor, pairs, device: torch.device,
                            precision: str = "fp32") -> float | None:
    """Pearson r of S^CNN (eval mode, stored running means, nothing updated) with the target on fixed pairs."""
    i, j, t = pairs
    model = reg.model
    was_training = model.training
    model.eval()
    try:
        with _autocast(device, precision):
            s = torch.cat([reg(_to_float(pool[i[a:a + 64]], device), _to_float(pool[j[a:a + 64]], device),
                               update_means=False) for a in range(0, len(i), 64)]).float().cpu()
    finally:
        model.train(was_training)
    t = t.float()
    if s.std() == 0 or t.std() == 0:
        return None
    return torch.corrcoef(torch.stack([s, t]))[0, 1].item()


def train(config: TrainConfig, runs_dir: str | Path | None = None, device: str | torch.device | None = None,
          progress: bool = True, on_epoch: Callable[[int], None] | None = None) -> Run:
    """Train ``config`` (or reuse/resume it) in the run store and return the finished :class:`Run`.

    A second call with the same config returns the finished run without training. A run interrupted at any
    point resumes from its last completed epoch. ``on_epoch`` is called after each saved epoch (tests use it).
    """
    config = resolve(config)
    store = RunStore(runs_dir)
    done = store.get(config)
    if done is not None and done.finished:
        return done
    device = default_device(device)
    with store.lock(config):
        done = store.get(config)
        if done is not None and done.finished:  # another process finished it while we waited
            return done
        setup = _Setup(config, device)  # may raise on missing data: nothing is written before this
        run = store.create(config)
        _train_locked(config, run, setup, device, progress, on_epoch)
    return run


def _train_locked(config: TrainConfig, run: Run, setup: _Setup, device: torch.device, progress: bool,
                  on_epoch: Callable[[int], None] | None) -> None:
    from tqdm.auto import tqdm

    c = config
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    torch.manual_seed(c.seed)  # model initialisation
    model = build_model(c).to(device)
    reg = SimilarityRegularizer(model, pair_bn=c.pair_bn).to(device) if c.regularized else None
    params = list(model.parameters()) + ([reg.layer_logits] if reg is not None else [])
    opt = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    n_train = len(setup.x_train)
    steps_per_epoch = math.ceil(n_train / c.batch_size)
    total_steps = max(1, round(c.epochs * steps_per_epoch))
    n_epochs = math.ceil(total_steps / steps_per_epoch)

    heldout = _heldout_pairs(c, setup) if reg is not None else None
    # one network call for task batch and pairs: faster in bfloat16 and on GPUs, slower in float32 on a
    # 2-core CPU (BENCHMARKS.md section 1); the numbers agree within float rounding either way
    fuse_task = c.precision == "bf16" or device.type == "cuda"
    ckpt_path = run.dir / "checkpoint.pt"
    wall0 = time.time()
    if ckpt_path.is_file():
        ck = load_checkpoint(ckpt_path)
        model.load_state_dict(ck["model"])
        if reg is not None:
            reg.load_state_dict(ck["regularizer"])
        opt.load_state_dict(ck["optimizer"])
        metrics, best = ck["metrics"], ck["best"]
        start_epoch, wall_before = ck["epoch"] + 1, ck["wall_time"]
        failure = ck.get("failure")
    else:
        failure = None
        vl, va = evaluate_split(model, setup.x_valid, setup.y_valid, device, precision=c.precision)
        tl, ta = None, None  # the untrained model's test accuracy is chance: not worth a pass over the test set
        metrics = [dict(epoch=0, step=0, lr=None, train_loss=None, train_acc=None, reg_loss=None, reg_corr=None,
                        heldout_corr=heldout_similarity_corr(reg, setup.pool, heldout, device, c.precision)
                        if reg is not None else None, valid_loss=vl, valid_acc=va, test_loss=tl, test_acc=ta, seconds=0.0,
                        layer_weights=reg.layer_weights.tolist() if reg is not None else None)]
        best = dict(epoch=0, valid_loss=vl, model=_copy_state(model), regularizer=_copy_state(reg))
        start_epoch, wall_before = 1, 0.0

    bar = tqdm(total=total_steps, initial=min(total_steps, (start_epoch - 1) * steps_per_epoch),
               disable=not progress, desc=f"{run.id} {c.task}", unit="step", leave=False, file=sys.stderr)
    for epoch in range(start_epoch if failure is None else n_epochs + 1, n_epochs + 1):
        t0 = time.time()
        model.train()
        order = torch.randperm(n_train, generator=_gen(c.seed, "order", epoch))
        g_aug, g_noise, g_pairs = _gen(c.seed, "aug", epoch), _gen(c.seed, "noise", epoch), _gen(c.seed, "pairs", epoch)
        first_step = (epoch - 1) * steps_per_epoch
        n_steps = min(steps_per_epoch, total_steps - first_step)
        # running sums stay tensors: one synchronisation per epoch instead of several per step
        zero = partial(torch.zeros, (), dtype=torch.float64, device=device)
        sums = dict(loss=zero(), correct=zero(), n=0, reg=zero(), corr=zero(), reg_n=zero())
        # the first step whose loss is not finite (-1: none); a tensor, so no synchronisation per step
        first_bad = torch.full((), -1, dtype=torch.int64, device=device)
        for b in range(n_steps):
            step = first_step + b
            for group in opt.param_groups:
                group["lr"] = learning_rate(c, step / steps_per_epoch)
            idx = order[b * c.batch_size: (b + 1) * c.batch_size]
            xb = setup.x_train[idx]
            if setup.augment:
                xb = data_mod.augment_batch(xb, g_aug)
            x = _to_float(xb, device)
            y = setup.y_train[idx].to(device, non_blocking=True)
            if c.noise_aug > 0:
                x = (x + c.noise_aug * torch.randn(x.shape, generator=g_noise).to(device)).clamp_(0, 1)
            with _autocast(device, c.precision):
                if reg is not None:
                    i, j, t = setup.sampler.sample(c.pairs, generator=g_pairs)
                    out, s = reg.task_and_pairs(x, _to_float(setup.pool[i], device), _to_float(setup.pool[j], device),
                                                fuse_task=fuse_task)
                else:
                    out = model(x)
            out = out.float()
            ce = F.cross_entropy(out, y)
            loss = ce
            if reg is not None:
                t = t.to(device)
                l_sim = similarity_loss(s, t, criterion=c.criterion)
                loss = ce + c.alpha * l_sim
                sums["reg"] += l_sim.detach()
                if len(s) > 1:
                    r = torch.corrcoef(torch.stack([s.detach(), t]))[0, 1]  # NaN when a side is constant
                    ok = torch.isfinite(r)
                    sums["corr"] += torch.where(ok, r, 0.0)
                    sums["reg_n"] += ok
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()),
                                    torch.full_like(first_bad, step), first_bad)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums["loss"] += ce.detach() * len(y)
            sums["correct"] += (out.argmax(1) == y).sum()
            sums["n"] += len(y)
            bar.update(1)
        vl, va = evaluate_split(model, setup.x_valid, setup.y_valid, device, precision=c.precision)
        tl, ta = evaluate_split(model, setup.x_test, setup.y_test, device, precision=c.precision)
        reg_n = int(sums["reg_n"].item())
        metrics.append(dict(
            epoch=epoch, step=first_step + n_steps, lr=learning_rate(c, (first_step + n_steps - 1) / steps_per_epoch),
            train_loss=sums["loss"].item() / sums["n"], train_acc=sums["correct"].item() / sums["n"],
            reg_loss=sums["reg"].item() / n_steps if reg is not None else None,
            reg_corr=sums["corr"].item() / reg_n if reg_n else None,
            heldout_corr=heldout_similarity_corr(reg, setup.pool, heldout, device, c.precision)
            if reg is not None else None,
            valid_loss=vl, valid_acc=va, test_loss=tl, test_acc=ta, seconds=time.time() - t0,
            layer_weights=reg.layer_weights.tolist() if reg is not None else None))
        bar.set_postfix(valid_acc=f"{va:.3f}", test_acc=f"{ta:.3f}")
        bad_step = int(first_bad.item())
        if bad_step >= 0:  # the run has failed: no later epoch can be selected, so training stops here
            failure = dict(reason=NONFINITE, epoch=epoch, step=bad_step)
        elif vl < best["valid_loss"]:
            best = dict(epoch=epoch, valid_loss=vl, model=_copy_state(model), regularizer=_copy_state(reg))
        wall = wall_before + time.time() - wall0
        atomic_torch_save(ckpt_path, dict(
            epoch=epoch, model=model.state_dict(), regularizer=reg.state_dict() if reg is not None else {},
            optimizer=opt.state_dict(), metrics=metrics, best=best, wall_time=wall, failure=failure))
        atomic_write_json(run.dir / "metrics.json", metrics)
        if on_epoch is not None:
            on_epoch(epoch)
        if failure is not None:
            break
    bar.close()
    if failure is None and best["epoch"] == 0:
        failure = dict(reason=UNTRAINED, epoch=0, step=None)
    if failure is not None:
        print(f"run {run.id} FAILED: {describe_failure(failure)}", file=sys.stderr)

    wall = wall_before + time.time() - wall0
    atomic_torch_save(run.dir / "best.pt", dict(epoch=best["epoch"], model=best["model"],
                                                regularizer=best["regularizer"]))
    atomic_write_json(run.dir / "metrics.json", metrics)
    run.write_provenance(device, wall_time_seconds=wall, best_epoch=best["epoch"], epochs_run=metrics[-1]["epoch"],
                         steps=total_steps, train_images=n_train,
                         pool_size=len(setup.pool) if setup.pool is not None else 0,
                         selected_pair_share=getattr(setup.sampler, "selected_share", None), failure=failure,
                         weights_sha256=weights_digest(best["model"]))
    (run.dir / "DONE").write_text("")
    ckpt_path.unlink(missing_ok=True)  # the finished run keeps best.pt; the resume state is no longer needed


def _copy_state(module: torch.nn.Module | None) -> dict:
    if module is None:
        return {}
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
