"""Neural targets: recordings I/O, a neural predictor, and representational-similarity analysis.

Li et al. (2019) regularized CNNs with the representational similarity of mouse V1, computed not
from the noisy recordings but from a CNN trained to predict them (Sinz et al. 2018), which they
argue denoises the data. Attias et al. (2024, Fig. 1) then observe that this predicted similarity
correlates with pixel similarity. This module provides each step:

- ``NeuralData``, ``load_responses`` / ``save_responses``: a documented ``.npz`` layout for real
  recordings (the simulated population of ``pixelreg.neural.v1sim`` exports to the same layout).
- ``Predictor``, ``fit_predictor``, ``predict``: a small CNN core (conv + BN + ELU, Laplacian
  smoothness penalty on the first-layer kernels as in Li et al.'s DenseCore, reference spec 8.2)
  with a factorised per-neuron readout (Klindt et al. 2017), trained with a Poisson loss.
- ``response_similarity``, ``similarity_correlation``, ``per_neuron_correlation``: the centred
  cosine similarity of response vectors (the same definition as S^pixel, spec 4.1) and its
  correlation with another similarity over the pairs i < j, with image-bootstrap intervals.
- ``neural_target_rows``: rows R of the neural similarity for ``pixelreg.similarity.PairSampler``.

``SimulatedV1`` is re-exported from ``pixelreg.neural.v1sim``.

The ``.npz`` layout (``load_responses``)::

    images     (N, H, W) or (N, 1, H, W); uint8, or float in [0, 1]      required
    responses  (N, M) or (T, N, M); finite, non-negative, int or float    required
               (T trials of every image; average over T for trial means)
    neuron_ids (M,)  int or str                                           optional
    image_ids  (N,)  int or str                                           optional
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import stats

from pixelreg.errors import ConfigError, DataNotFoundError
from pixelreg.similarity import centered_unit_rows
from pixelreg.neural.v1sim import DEG_PER_PIXEL, SimulatedV1, gratings

__all__ = [
    "SimulatedV1", "DEG_PER_PIXEL", "gratings", "NeuralData", "load_responses", "save_responses",
    "neural_target_rows", "response_rows", "response_similarity", "Predictor", "fit_predictor",
    "predict", "per_neuron_correlation", "similarity_correlation", "upper_pairs",
]


# --------------------------------------------------------------------------------------------------
# Recordings
# --------------------------------------------------------------------------------------------------

@dataclass
class NeuralData:
    """Stimuli and responses of one recording (or of the simulated population).

    Attributes:
        images: (N, 1, H, W) uint8 stimuli.
        responses: (N, M) or (T, N, M) float32, non-negative.
        meta: free-form facts (source, path, whether simulated ...).
        neuron_ids, image_ids: optional (M,) and (N,) numpy arrays.
    """

    images: torch.Tensor
    responses: torch.Tensor
    meta: dict = field(default_factory=dict)
    neuron_ids: np.ndarray | None = None
    image_ids: np.ndarray | None = None

    @property
    def n_images(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_neurons(self) -> int:
        return int(self.responses.shape[-1])

    @property
    def n_trials(self) -> int:
        return int(self.responses.shape[0]) if self.responses.dim() == 3 else 1

    @property
    def trial_average(self) -> torch.Tensor:
        """(N, M) float32 responses averaged over trials."""
        return self.responses.mean(0) if self.responses.dim() == 3 else self.responses

    def __repr__(self) -> str:
        return (f"NeuralData(images={tuple(self.images.shape)}, responses={tuple(self.responses.shape)}, "
                f"source={self.meta.get('source', '?')!r})")


_IMAGES_EXPECTED = "(N, H, W) or (N, 1, H, W) array, uint8 or float in [0, 1]"
_RESPONSES_EXPECTED = "(N, M) or (T, N, M) array of finite, non-negative numbers (int or float)"


def _images_to_uint8(a: np.ndarray, param: str) -> torch.Tensor:
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] != 1 or a.shape[0] < 1:
        raise ConfigError(param, f"array of shape {a.shape}", _IMAGES_EXPECTED)
    if a.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(a))
    if not np.issubdtype(a.dtype, np.floating):
        raise ConfigError(param, f"array of dtype {a.dtype}", _IMAGES_EXPECTED)
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise ConfigError(param, f"float values in [{np.nanmin(a):.3g}, {np.nanmax(a):.3g}] (or NaN/inf)",
                          _IMAGES_EXPECTED + "; float images must be finite and in [0, 1]")
    return torch.from_numpy(np.round(a * 255).astype(np.uint8))


def _check_responses(r: np.ndarray, n_images: int, param: str) -> torch.Tensor:
    if r.dtype == bool or not (np.issubdtype(r.dtype, np.integer) or np.issubdtype(r.dtype, np.floating)):
        raise ConfigError(param, f"array of dtype {r.dtype}", _RESPONSES_EXPECTED)
    if r.ndim not in (2, 3):
        raise ConfigError(param, f"array of shape {r.shape}", _RESPONSES_EXPECTED)
    if r.shape[-2] != n_images:
        raise ConfigError(param, f"array of shape {r.shape}",
                          f"{_RESPONSES_EXPECTED} with N = {n_images} images (the number in 'images')")
    if r.shape[-1] < 1 or (r.ndim == 3 and r.shape[0] < 1):
        raise ConfigError(param, f"array of shape {r.shape}", _RESPONSES_EXPECTED + " with M >= 1 and T >= 1")
    if not np.isfinite(r).all():
        raise ConfigError(param, f"{int((~np.isfinite(r)).sum())} NaN/inf values", _RESPONSES_EXPECTED)
    if (r < 0).any():
        raise ConfigError(param, f"{int((r < 0).sum())} negative values (min {r.min():.3g})",
                          _RESPONSES_EXPECTED + "; shift or rectify (e.g. deconvolved calcium) first")
    return torch.from_numpy(np.ascontiguousarray(r, dtype=np.float32))


def load_responses(path: str | Path) -> NeuralData:
    """Load recordings from the ``.npz`` layout of the module docstring.

    Raises:
        DataNotFoundError: the file does not exist.
        ConfigError: the file is not an ``.npz`` archive, or a key is missing or malformed; the
            message names the key and the expected shape and dtype.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError("neural responses", [str(path)],
                                "write the .npz layout documented in pixelreg.neural.predictor (save_responses), "
                                "or export the simulated population with pixelreg.neural.predictor.save_responses")
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as e:  # zipfile/pickle/format errors all mean "not our layout"
        raise ConfigError("responses file", str(path), f"an .npz archive (np.savez) ({type(e).__name__}: {e})")
    with npz:
        keys = set(npz.files)
        for key in ("images", "responses"):
            if key not in keys:
                raise ConfigError(f"{path.name}['{key}']", "missing",
                                  _IMAGES_EXPECTED if key == "images" else _RESPONSES_EXPECTED)
        images = _images_to_uint8(npz["images"], f"{path.name}['images']")
        responses = _check_responses(npz["responses"], images.shape[0], f"{path.name}['responses']")
        ids = {}
        for key, n in (("neuron_ids", responses.shape[-1]), ("image_ids", images.shape[0])):
            if key in keys:
                a = npz[key]
                if a.shape != (n,):
                    raise ConfigError(f"{path.name}['{key}']", f"array of shape {a.shape}", f"shape ({n},)")
                ids[key] = a
    meta = {"source": "file", "path": str(path), "simulated": False}
    return NeuralData(images, responses, meta, ids.get("neuron_ids"), ids.get("image_ids"))


def save_responses(path: str | Path, images: torch.Tensor, responses: torch.Tensor,
                   neuron_ids=None, image_ids=None) -> Path:
    """Write ``images`` ((N, 1, H, W) uint8 or float in [0, 1]) and ``responses`` ((N, M) or
    (T, N, M)) in the layout ``load_responses`` reads. The arrays are validated first."""
    path = Path(path)
    img = _images_to_uint8(np.asarray(torch.as_tensor(images).cpu()), "images")
    resp = _check_responses(np.asarray(torch.as_tensor(responses).cpu()), img.shape[0], "responses")
    arrays = {"images": img.numpy(), "responses": resp.numpy()}
    if neuron_ids is not None:
        arrays["neuron_ids"] = np.asarray(neuron_ids)
    if image_ids is not None:
        arrays["image_ids"] = np.asarray(image_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


# --------------------------------------------------------------------------------------------------
# Similarity
# --------------------------------------------------------------------------------------------------

def response_rows(responses: torch.Tensor) -> torch.Tensor:
    """Centred unit rows of a response matrix, the same definition as S^pixel (spec 4.1).

    Args:
        responses: (N, M) float; one response vector per image.

    Returns:
        (N, M) float32: each row minus the mean response vector over the N images, scaled to unit
        L2 norm, so the similarity is ``rows @ rows.T``. Delegates to
        ``pixelreg.similarity.centered_unit_rows`` by viewing the matrix as (N, 1, 1, M) images.
    """
    responses = torch.as_tensor(responses)
    if responses.dim() != 2:
        raise ConfigError("responses", tuple(responses.shape), "an (N, M) matrix (average trials first)")
    return centered_unit_rows(responses.float()[:, None, None, :])


def response_similarity(responses: torch.Tensor) -> torch.Tensor:
    """(N, N) centred cosine similarity of the response vectors of N images (diagonal 1)."""
    rows = response_rows(responses)
    return rows @ rows.T


def neural_target_rows(data: NeuralData, predictor: nn.Module | None = None) -> torch.Tensor:
    """Rows R of the neural target similarity, for ``pixelreg.similarity.PairSampler(R, ...)``.

    With ``predictor=None`` the rows are the centred unit rows of the trial-averaged responses; with
    a trained predictor (``fit_predictor``) they are those of its predictions on ``data.images``,
    which is what Li et al. (2019) used (the predictor denoises single-trial responses). Pair the
    sampler with ``data.images`` as the regularization pool: row i belongs to image i.

    Returns:
        (N, M) float32 with unit rows (zero rows stay zero).
    """
    r = data.trial_average if predictor is None else predict(predictor, data.images)
    return response_rows(r)


def upper_pairs(n: int, max_pairs: int | None = None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (i, j) of the pairs i < j of n items, optionally a seeded subsample without replacement.

    Returns:
        two (P,) int64 tensors, P = n(n-1)/2 or ``max_pairs``, sorted by linear pair index.
    """
    i, j = torch.triu_indices(n, n, offset=1)
    if max_pairs is not None and i.numel() > max_pairs:
        keep = torch.randperm(i.numel(), generator=torch.Generator().manual_seed(seed))[:max_pairs].sort().values
        i, j = i[keep], j[keep]
    return i, j


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.pearsonr(a, b)[0])


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b)[0])


_METHODS = {"pearson": _pearson, "spearman": _spearman}


def similarity_correlation(s_a: torch.Tensor, s_b: torch.Tensor, methods=("pearson", "spearman"),
                           n_boot: int = 200, ci: float = 0.95, seed: int = 0,
                           max_boot_pairs: int = 20_000) -> list[dict]:
    """Correlation of two (N, N) similarity matrices over the pairs i < j, with bootstrap intervals.

    The interval resamples *images* with replacement, not pairs: the N(N-1)/2 pairs share images
    (each image is in N-1 pairs), so they are far from independent and a pair bootstrap would treat
    ~N^2/2 dependent values as independent and give intervals that are much too narrow. Resampling
    images keeps that dependence: a resample of N image indices b, and the pairs (b_p, b_q), p < q,
    with b_p != b_q (a pair of an image with its own copy is not a pair). The similarity matrices
    themselves are not recomputed (their centring uses the original image set). A percentile
    interval (bootstrap Spearman ranks break ties by order, harmless for continuous similarities);
    when a resample has more than ``max_boot_pairs`` pairs a seeded subset of them is used,
    which adds a little Monte-Carlo noise but no bias.

    Returns:
        one dict per method: method, r, ci_low, ci_high, n_images, n_pairs.
    """
    s_a, s_b = torch.as_tensor(s_a), torch.as_tensor(s_b)
    n = s_a.shape[0]
    if s_a.shape != (n, n) or s_b.shape != (n, n):
        raise ConfigError("similarities", (tuple(s_a.shape), tuple(s_b.shape)), "two (N, N) matrices")
    i, j = upper_pairs(n)
    a, b = s_a[i, j].double().numpy(), s_b[i, j].double().numpy()
    point = {m: _METHODS[m](a, b) for m in methods}
    boots = {m: [] for m in methods}
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_boot):
        idx = torch.randint(n, (n,), generator=g)
        p, q = torch.triu_indices(n, n, offset=1)
        p, q = idx[p], idx[q]
        keep = p != q
        p, q = p[keep], q[keep]
        if p.numel() > max_boot_pairs:
            sub = torch.randint(p.numel(), (max_boot_pairs,), generator=g)
            p, q = p[sub], q[sub]
        ab, bb = s_a[p, q].double(), s_b[p, q].double()
        for m in methods:
            boots[m].append(_fast_corr(ab, bb, rank=(m == "spearman")))
    lo_q, hi_q = (1 - ci) / 2, 1 - (1 - ci) / 2
    rows = []
    for m in methods:
        bs = np.asarray(boots[m])
        lo, hi = (np.quantile(bs, [lo_q, hi_q]) if bs.size else (np.nan, np.nan))
        rows.append(dict(method=m, r=point[m], ci_low=float(lo), ci_high=float(hi), n_images=n, n_pairs=int(i.numel())))
    return rows


def _fast_corr(a: torch.Tensor, b: torch.Tensor, rank: bool = False) -> float:
    if rank:
        a, b = a.argsort().argsort().double(), b.argsort().argsort().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-300))


def per_neuron_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation over images, per neuron: (N, M), (N, M) -> (M,) float32 (NaN if constant)."""
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    a, b = a - a.mean(0), b - b.mean(0)
    den = a.norm(dim=0) * b.norm(dim=0)
    return torch.where(den > 0, (a * b).sum(0) / den, torch.full_like(den, float("nan"))).float()


# --------------------------------------------------------------------------------------------------
# Predictor
# --------------------------------------------------------------------------------------------------

_LAPLACE = torch.tensor([[0.5, 1.0, 0.5], [1.0, -6.0, 1.0], [0.5, 1.0, 0.5]])  # Sinz-lab 3x3 Laplacian


class Predictor(nn.Module):
    """CNN core + factorised readout predicting the (N, M) responses of M neurons.

    Core: conv(k1, stride 2) on the image, BN, ELU (half resolution: the simulated cells' highest SF
    has a 6.7 px period, above the 4 px Nyquist period of the strided map; a 2-core CPU budget), then
    ``layers - 1`` conv(k) + BN + ELU at half resolution. Readout (Klindt et al. 2017): neuron m's prediction is
    ``elu(sum_c w_cm sum_xy mask_m(x, y) feat_c(x, y) + b_m) + 1``, a spatial mask times feature
    weights, so the parameters grow as M * (H*W/4 + C), not M * C * H*W/4.

    Input (N, 1, H, W) float in [0, 1]; output (N, M) positive.
    """

    def __init__(self, n_neurons: int, image_shape=(36, 64), channels: int = 16, layers: int = 3,
                 first_kernel: int = 13, kernel: int = 5, seed: int = 0):
        super().__init__()
        self.n_neurons, self.image_shape, self.channels = n_neurons, tuple(image_shape), channels
        self.hparams = dict(n_neurons=n_neurons, image_shape=list(image_shape), channels=channels, layers=layers,
                            first_kernel=first_kernel, kernel=kernel)
        mods = [nn.Conv2d(1, channels, first_kernel, stride=2, padding=first_kernel // 2, bias=False),
                nn.BatchNorm2d(channels), nn.ELU()]
        for _ in range(layers - 1):
            mods += [nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False),
                     nn.BatchNorm2d(channels), nn.ELU()]
        self.core = nn.Sequential(*mods)
        h, w = (image_shape[0] + 1) // 2, (image_shape[1] + 1) // 2
        self.mask = nn.Parameter(torch.empty(n_neurons, h * w))
        self.features = nn.Parameter(torch.empty(channels, n_neurons))
        self.bias = nn.Parameter(torch.zeros(n_neurons))
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():  # seeded init without touching the global RNG
            for m in self.core:
                if isinstance(m, nn.Conv2d):
                    fan_in = m.weight[0].numel()
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
            self.mask.copy_(torch.rand(self.mask.shape, generator=g) / (h * w))
            self.features.copy_(torch.randn(self.features.shape, generator=g) / math.sqrt(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.core(x - 0.5).flatten(2)  # (B, C, HW/4)
        y = torch.einsum("bcp,mp->bcm", f, self.mask)
        return F.elu((y * self.features).sum(1) + self.bias) + 1

    def laplace_penalty(self) -> torch.Tensor:
        """Mean squared 3x3-Laplacian response of the first-layer kernels (smoothness, spec 8.2)."""
        w = self.core[0].weight  # (C, 1, k, k)
        return F.conv2d(w, _LAPLACE.to(w)[None, None]).pow(2).mean()

    def readout_l1(self) -> torch.Tensor:
        """L1 of masks and feature weights (sparse, local readouts as in Klindt et al. 2017)."""
        return self.mask.abs().mean() + self.features.abs().mean()


def _to_float(images: torch.Tensor) -> torch.Tensor:
    images = torch.as_tensor(images)
    return images.float() / 255 if images.dtype == torch.uint8 else images.float()


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Predicted mean responses (N, M) float32 of ``images`` (N, 1, H, W) uint8 or float in [0, 1]."""
    was = model.training
    model.eval()
    out = torch.cat([model(_to_float(b)) for b in torch.as_tensor(images).split(batch_size)])
    model.train(was)
    return out


def _poisson_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Poisson negative log-likelihood up to a constant: mean of pred - target * log(pred)."""
    return (pred - target * torch.log(pred + eps)).mean()


def fit_predictor(images: torch.Tensor, responses: torch.Tensor, *, seed: int = 0, max_epochs: int = 30,
                  patience: int = 4, batch_size: int = 32, lr: float = 1e-2, valid_portion: float = 0.1,
                  channels: int = 16, layers: int = 3, gamma_laplace: float = 0.1,
                  gamma_readout: float = 1e-3, num_threads: int | None = None,
                  verbose: bool = False) -> tuple[Predictor, pd.DataFrame]:
    """Train a ``Predictor`` on single-trial responses with a Poisson loss, Adam and early stopping.

    Args:
        images: (N, 1, H, W) uint8 or float in [0, 1].
        responses: (N, M) single trials, or (T, N, M) (every trial becomes a training sample).
        seed: seeds the initialisation, the validation split and the batch order (deterministic on CPU).
        max_epochs, patience: stop after ``patience`` epochs without a better validation loss; the
            returned model holds the best-validation weights.
        valid_portion: share of *images* (all their trials) held out for early stopping.
        gamma_laplace, gamma_readout: weights of the first-layer Laplacian and readout L1 penalties.
        num_threads: torch CPU threads while training (restored afterwards); None leaves them. On a
            shared, oversubscribed machine 1 thread can be several times faster than 2.

    Returns:
        (model in eval mode, history): history has one row per epoch with ``epoch``, ``train_loss``,
        ``valid_loss`` (Poisson), ``valid_corr`` (median per-neuron correlation with the validation
        responses) and ``seconds``.
    """
    if num_threads is None:
        return _fit(images, responses, seed, max_epochs, patience, batch_size, lr, valid_portion, channels,
                    layers, gamma_laplace, gamma_readout, verbose)
    before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _fit(images, responses, seed, max_epochs, patience, batch_size, lr, valid_portion, channels,
                    layers, gamma_laplace, gamma_readout, verbose)
    finally:
        torch.set_num_threads(before)


def _fit(images, responses, seed, max_epochs, patience, batch_size, lr, valid_portion, channels, layers,
         gamma_laplace, gamma_readout, verbose):
    x = _to_float(images)
    r = torch.as_tensor(responses).float()
    if r.dim() == 2:
        r = r[None]
    if r.dim() != 3 or r.shape[1] != x.shape[0]:
        raise ConfigError("responses", tuple(r.shape), f"(N, M) or (T, N, M) with N = {x.shape[0]}")
    T, N, M = r.shape
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(N, generator=g)
    n_valid = max(1, int(round(valid_portion * N)))
    v_idx, t_idx = perm[:n_valid], perm[n_valid:]
    xt = x[t_idx].repeat(T, 1, 1, 1)
    rt = r[:, t_idx].reshape(-1, M)
    xv, rv = x[v_idx], r[:, v_idx].mean(0)
    model = Predictor(M, image_shape=tuple(x.shape[-2:]), channels=channels, layers=layers, seed=seed)
    with torch.no_grad():  # start the output near the mean rate: elu(b) + 1 = mean for mean < 1
        mean = rt.mean(0).clamp_min(1e-3)
        model.bias.copy_(torch.where(mean < 1, mean.log(), mean - 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state, bad, hist = float("inf"), None, 0, []
    for epoch in range(max_epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(xt.shape[0], generator=g)
        tot, nb = 0.0, 0
        for b in order.split(batch_size):
            if b.numel() < 2:  # BatchNorm needs two samples
                continue
            pred = model(xt[b])
            loss = _poisson_loss(pred, rt[b])
            full = loss + gamma_laplace * model.laplace_penalty() + gamma_readout * model.readout_l1()
            opt.zero_grad(set_to_none=True)
            full.backward()
            opt.step()
            with torch.no_grad():
                model.mask.clamp_(min=0)  # non-negative masks: a neuron pools where its RF is
            tot, nb = tot + loss.item(), nb + 1
        pv = predict(model, xv)
        vloss = _poisson_loss(pv, rv).item()
        vcorr = float(per_neuron_correlation(pv, rv).nanmedian())
        hist.append(dict(epoch=epoch + 1, train_loss=tot / max(nb, 1), valid_loss=vloss, valid_corr=vcorr,
                         seconds=time.perf_counter() - t0))
        if verbose:
            print(hist[-1])
        if vloss < best - 1e-6:
            best, bad = vloss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, pd.DataFrame(hist)
