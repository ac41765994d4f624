"""Target similarities: centred-cosine pixel similarity S^pixel, thresholded S^Th, and pair sampling.

S^pixel_ij = cos(x_i - x_mean, x_j - x_mean), with x_mean the per-pixel mean image of the pool
(reference spec section 4.1). The sampler draws the k pairs (i < j) of one training step uniformly
from the pairs selected by ``reg_range`` (section 4.3) without ever building the N x N matrix or the
list of all N(N-1)/2 pairs (the reference's B15).
"""
from __future__ import annotations

import math

import torch

from pixelreg.errors import ConfigError

# which pairs i < j are regularized; all comparisons strict (reference `select_indices`, spec 4.3):
# all = S^Th (every pair); high = |S| > th (targets +-1 only); low = |S| < th (targets 0 only);
# positive = S > th or |S| < th; negative = S < -th or |S| < th; double = |S| > th or |S| < th2
REG_RANGES = ("all", "high", "low", "positive", "negative", "double")

__all__ = ["centered_unit_rows", "pixel_similarity", "threshold_targets", "REG_RANGES", "PairSampler"]

TRANSFORMS = ("thresholded", "pixel")  # target S^Th (paper default) or raw S^pixel

_ESTIMATE_PAIRS = 100_000  # pairs drawn at setup to estimate the selected share when N is large
_GATHER_BUDGET = 1 << 24  # floats per gathered (pairs x D) matrix, about 64 MB


def centered_unit_rows(images: torch.Tensor) -> torch.Tensor:
    """Rows R of the centred-cosine similarity, so that S^pixel = R @ R.T.

    Args:
        images: (N, C, H, W) uint8 or float, any affine scale (it cancels). C > 1 is averaged to
            grey with a plain channel mean (as the reference; not luma).

    Returns:
        (N, D) float32 on the images' device, D = H*W: each flattened image minus the pool's mean
        image (per-pixel mean over the N images), scaled to unit L2 norm. A row that is zero after
        centring (an image equal to the mean image) stays zero.
    """
    if images.dim() != 4 or images.shape[0] < 1:
        raise ConfigError("images", tuple(images.shape), "a (N, C, H, W) tensor with N >= 1")
    x = images.float()
    if x.shape[1] > 1:
        x = x.mean(dim=1, keepdim=True)
    x = x.flatten(1)
    x = x - x.mean(dim=0, keepdim=True)
    norms = x.norm(dim=1, keepdim=True)
    return x / norms.clamp_min(torch.finfo(x.dtype).tiny)


def pixel_similarity(images: torch.Tensor) -> torch.Tensor:
    """S^pixel: (N, N) float32 centred cosine similarity of the pool images (diagonal 1).

    Builds the full matrix: use it for small pools and checks; training uses ``PairSampler``.
    """
    rows = centered_unit_rows(images)
    return rows @ rows.T


def threshold_targets(s: torch.Tensor, th: float) -> torch.Tensor:
    """S^Th (paper eq. 3): +1 where s > th, -1 where s < -th, 0 otherwise (strict comparisons).

    Args:
        s: similarities, any shape, float in [-1, 1].
        th: Th, in (0, 1).

    Returns:
        Tensor like ``s`` (same dtype, device) with values in {-1, 0, 1}.
    """
    s = torch.as_tensor(s)
    if not s.is_floating_point():
        s = s.float()
    return (s > th).to(s.dtype) - (s < -th).to(s.dtype)


def _selection(reg_range: str, th: float, th2: float | None):
    """Boolean selection function of ``reg_range`` on similarities (strict, spec 4.3)."""
    if reg_range == "all":
        return lambda s: torch.ones_like(s, dtype=torch.bool)
    if reg_range == "high":
        return lambda s: s.abs() > th
    if reg_range == "low":
        return lambda s: s.abs() < th
    if reg_range == "positive":
        return lambda s: (s > th) | (s.abs() < th)
    if reg_range == "negative":
        return lambda s: (s < -th) | (s.abs() < th)
    return lambda s: (s.abs() > th) | (s.abs() < th2)  # double


class PairSampler:
    """Draws k regularization pairs (i < j) per step, uniformly over the pairs ``reg_range`` selects.

    Each call to ``sample`` draws its k pairs independently and uniformly (with replacement, also
    across calls). The reference instead shuffles the list of selected pairs once per epoch and
    samples without replacement within the epoch; for N >= 1000 (>= 5e5 pairs) and a few hundred
    thousand draws per run the difference is negligible.

    Nothing of size N x N is built. Pairs are drawn as two distinct uniform indices, sorted, and
    their similarity is computed on the fly as ``(rows[i] * rows[j]).sum()``. Restricted ranges use
    vectorised rejection sampling, which is exactly uniform over the selected set. At setup the
    selected share is counted exactly with a blocked matmul scan when N <= ``exact_below``, and
    estimated from a seeded sample of pairs otherwise. When the share is below ``enumerate_below``
    (rejection would be slow) the selected pairs are enumerated once by a blocked scan and then drawn
    directly; a scan that finds at most ``enumerate_limit`` pairs also keeps them.

    Args:
        rows: (N, D) float, centred unit rows (``centered_unit_rows`` of the pool, or neural response
            rows with the same centred-cosine definition); the similarity of i and j is
            ``rows[i] @ rows[j]``. Used as given (not renormalised), on its own device.
        reg_range: one of ``REG_RANGES``.
        th: Th in (0, 1); thresholds the target (S^Th) and the selection.
        th2: Th_2, only with ``reg_range="double"``, 0 < th2 < th.
        transform: "thresholded" gives target S^Th = threshold_targets(s, th); "pixel" gives raw s.
        seed: seeds the default generator of ``sample`` and the setup's share estimate.
        permutation: optional (N,) LongTensor for a shuffled-target control: the target and the
            selection of pair (i, j) come from rows[perm[i]] and rows[perm[j]].
        exact_below, enumerate_below, enumerate_limit: setup strategy knobs (see above).

    Attributes:
        selected_share: selected pairs / C(N, 2); ``share_is_exact`` says whether it was counted.
        method: "direct" (all pairs), "rejection" or "enumerated".
    """

    def __init__(
        self,
        rows: torch.Tensor,
        reg_range: str = "all",
        th: float = 0.8,
        th2: float | None = None,
        transform: str = "thresholded",
        seed: int = 0,
        permutation: torch.Tensor | None = None,
        *,
        exact_below: int = 5000,
        enumerate_below: float = 1e-4,
        enumerate_limit: int = 2_000_000,
    ):
        if not isinstance(rows, torch.Tensor) or rows.dim() != 2 or rows.shape[0] < 2:
            shape = tuple(rows.shape) if isinstance(rows, torch.Tensor) else type(rows).__name__
            raise ConfigError("rows", shape, "a (N, D) float tensor with N >= 2")
        if reg_range not in REG_RANGES:
            raise ConfigError("reg_range", reg_range, f"one of {REG_RANGES}")
        if transform not in TRANSFORMS:
            raise ConfigError("transform", transform, f"one of {TRANSFORMS}")
        if not 0 < th < 1:
            raise ConfigError("th", th, "Th in the open interval (0, 1)")
        if reg_range == "double":
            if th2 is None or not 0 < th2 < th:
                raise ConfigError("th2", th2, f"Th_2 with 0 < th2 < th = {th} for reg_range='double'")
        elif th2 is not None:
            raise ConfigError("th2", th2, "None unless reg_range='double'")
        self.rows = rows if rows.dtype == torch.float32 else rows.float()
        self.rows = self.rows.contiguous()
        self.n, self.dim = self.rows.shape
        self.reg_range, self.th, self.th2, self.transform, self.seed = reg_range, th, th2, transform, seed
        self.permutation = None
        if permutation is not None:
            perm = torch.as_tensor(permutation)
            ok = perm.shape == (self.n,) and not perm.is_floating_point()
            if not ok or not torch.equal(perm.sort().values.cpu(), torch.arange(self.n)):
                raise ConfigError("permutation", tuple(perm.shape), f"a permutation of range({self.n})")
            self.permutation = perm.long().to(self.rows.device)
        self._select = _selection(reg_range, th, th2)
        self._chunk = max(1024, _GATHER_BUDGET // max(self.dim, 1))
        self.generator = torch.Generator().manual_seed(seed)
        self._pairs = None  # enumerated (i, j, s) when method == "enumerated"
        self.n_pairs = self.n * (self.n - 1) // 2

        if reg_range == "all":
            self.method, self.selected_share, self.share_is_exact = "direct", 1.0, True
            return
        if self.n <= exact_below:
            self._scan(enumerate_limit)
        else:
            share = self._estimate_share()
            self.selected_share, self.share_is_exact, self.method = share, False, "rejection"
            if share < enumerate_below:
                self._scan(enumerate_limit)
        if self.selected_share == 0:
            raise ConfigError(
                "th", th, f"no pair of the pool is selected by reg_range={reg_range!r} with th={th}, "
                f"th2={th2}; choose another th or reg_range")

    # -- similarity of pairs ------------------------------------------------------------------
    def _similarity(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """s_ij for index vectors on the rows' device, gathered in chunks to bound memory."""
        if self.permutation is not None:
            i, j = self.permutation[i], self.permutation[j]
        out = []
        for a in range(0, i.numel(), self._chunk):
            ra = self.rows.index_select(0, i[a:a + self._chunk])  # faster than rows[i] on CPU
            rb = self.rows.index_select(0, j[a:a + self._chunk])
            # measured on CPU: vecdot is fastest for a few pairs, einsum (a batched matmul) for many
            out.append(torch.linalg.vecdot(ra, rb) if ra.shape[0] <= 1024 else torch.einsum("nd,nd->n", ra, rb))
        return torch.cat(out) if out else self.rows.new_zeros(0)

    def _draw(self, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """m independent uniform unordered pairs, returned as (i, j) with i < j on the rows' device."""
        i = torch.randint(self.n, (m,), generator=generator)
        j = torch.randint(self.n - 1, (m,), generator=generator)
        j = j + (j >= i).long()  # uniform over the other N-1 indices
        lo, hi = torch.minimum(i, j), torch.maximum(i, j)
        return lo.to(self.rows.device), hi.to(self.rows.device)

    def _estimate_share(self) -> float:
        gen = torch.Generator().manual_seed(self.seed ^ 0x5EED5A3E)  # independent of sample()'s stream
        i, j = self._draw(_ESTIMATE_PAIRS, gen)
        return self._select(self._similarity(i, j)).float().mean().item()

    def _scan(self, enumerate_limit: int, block: int = 512) -> None:
        """Exact count of the selected pairs by a blocked matmul; keeps them if there are few."""
        # in permuted rows, index p holds rows[perm[p]]: scan coordinates are the sampler's (i, j)
        rows = self.rows if self.permutation is None else self.rows[self.permutation]
        block = max(1, min(block, _GATHER_BUDGET // max(self.n, 1)))
        count, kept, overflow = 0, [], False
        for a in range(0, self.n - 1, block):
            b = min(a + block, self.n)
            s = rows[a:b] @ rows[a:].T  # (b-a, N-a): column c is j = a + c
            upper = torch.arange(self.n - a, device=s.device)[None, :] > torch.arange(b - a, device=s.device)[:, None]
            mask = self._select(s) & upper
            m = int(mask.sum())
            count += m
            if m and not overflow:
                if count > enumerate_limit:
                    overflow, kept = True, []
                else:
                    r, c = mask.nonzero(as_tuple=True)
                    kept.append((r + a, c + a, s[r, c]))
        self.selected_share, self.share_is_exact = count / self.n_pairs, True
        if not overflow and count:
            i, j, s = (torch.cat(t) for t in zip(*kept))
            self._pairs = (i, j, s)
            self.method = "enumerated"
        else:
            self.method = "rejection"

    # -- public ----------------------------------------------------------------------------------
    @property
    def n_selected(self) -> float:
        """Number of selected pairs (estimated when ``share_is_exact`` is False)."""
        return self.selected_share * self.n_pairs

    def sample(self, k: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw k pairs uniformly from the selected pairs, independently.

        Args:
            k: number of pairs (the reference's 16).
            generator: a CPU ``torch.Generator``; default the sampler's own, seeded with ``seed``.

        Returns:
            i: (k,) long, j: (k,) long with i < j, target: (k,) float32 (S^Th in {-1, 0, 1} or raw
            S^pixel in [-1, 1]); all on the rows' device. i indexes the "A" images, j the "B" images.
        """
        if int(k) != k or k < 1:
            raise ConfigError("k", k, "a positive integer number of pairs")
        k = int(k)
        gen = self.generator if generator is None else generator
        if self.method == "enumerated":
            pi, pj, ps = self._pairs
            idx = torch.randint(pi.numel(), (k,), generator=gen).to(pi.device)
            i, j, s = pi[idx], pj[idx], ps[idx]
        elif self.method == "direct":
            i, j = self._draw(k, gen)
            s = self._similarity(i, j)
        else:
            got_i, got_j, got_s, have = [], [], [], 0
            while have < k:
                m = min(self._chunk, math.ceil(1.2 * (k - have) / self.selected_share) + 64)
                ci, cj = self._draw(m, gen)
                cs = self._similarity(ci, cj)
                keep = self._select(cs)
                got_i.append(ci[keep]), got_j.append(cj[keep]), got_s.append(cs[keep])
                have += int(keep.sum())
            # accepted draws are i.i.d. uniform over the selection, so the first k are too
            i, j, s = torch.cat(got_i)[:k], torch.cat(got_j)[:k], torch.cat(got_s)[:k]
        target = threshold_targets(s, self.th) if self.transform == "thresholded" else s
        return i, j, target

    def __repr__(self) -> str:
        th2 = f", th2={self.th2}" if self.th2 is not None else ""
        perm = ", permuted" if self.permutation is not None else ""
        share = f"{self.selected_share:.4g}" + ("" if self.share_is_exact else " (estimated)")
        return (f"PairSampler(N={self.n}, D={self.dim}, reg_range={self.reg_range!r}, th={self.th}{th2}, "
                f"transform={self.transform!r}{perm}, selected_share={share}, method={self.method!r}, "
                f"device={self.rows.device})")
