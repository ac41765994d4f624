"""CNN representational similarity S^CNN and the similarity loss L_sim (reference spec sections 5, 6)."""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from pixelreg.errors import ConfigError
from pixelreg.models import (InputScale, SplitBatchNorm2d, batch_splits, default_layers, running_stats_frozen,
                             supports_batch_splits)

__all__ = ["SimilarityRegularizer", "similarity_loss", "CRITERIA", "PAIR_BN"]

CRITERIA = ("atanh", "mse")  # L_sim: 4*(artanh s - artanh t)^2 (reference default) or (s - t)^2
# How the pair pathway treats BatchNorm in training mode. "update" (the reference code): each pair half-batch
# is normalised with its own statistics and updates the running statistics, so the statistics used at test
# time are partly the pool's. "task-only": the pairs are normalised with their own batch statistics but leave
# the running statistics to the task images (the book's BatchNorm page compares the two).
PAIR_BN = ("update", "task-only")



class _StopForward(Exception):
    """Raised by a hook once the last requested layer has run, so the rest of the net is skipped."""


class SimilarityRegularizer(nn.Module):
    """S^CNN_ij = sum_l gamma_l * cos(f_l(a_i) - mu_l, f_l(b_j) - mu_l), gamma = softmax(layer_logits).

    Layer outputs come from ``torchvision.models.feature_extraction.create_feature_extractor``,
    which shares the model's parameters and buffers and prunes everything after the last requested
    layer, so regularization images of another size (e.g. 36x64) never reach the linear head. If FX
    tracing fails, forward hooks are used instead, with an early stop after the last layer.

    The model is referenced, not registered as a submodule: ``parameters()`` yields only
    ``layer_logits`` and ``state_dict()`` holds ``layer_logits`` and the running means, so an
    optimizer over ``model.parameters()`` plus ``regularizer.parameters()`` sees each tensor once.
    The logits are trained by the same optimizer as the model (as the reference; L_sim is their only
    gradient source).

    Running means: per layer a per-channel mean mu_l (buffer, no gradient, starts at 0, sized at the
    first call). On every forward, before use, mu_l <- beta * mu_l + (1 - beta) * m_l, where m_l is
    the mean of the layer over the 2k current pair images (A and B together) and all positions. It
    is updated in train and eval mode alike, as the reference does.

    BatchNorm (reference behaviour B8, kept): in train mode every BN layer normalises each k-image
    half-batch (A, then B) with that half-batch's own statistics and updates its running statistics from
    it, so one training step with classification and pairs makes three BN running-stat updates (task batch,
    A, B), as the reference's separate calls do. For models whose BatchNorm layers are all
    :class:`~pixelreg.models.SplitBatchNorm2d` (the paper ResNets) this is done in one network call with
    per-chunk ("ghost") BatchNorm, and :meth:`task_and_pairs` folds the classification batch into the same
    call; other models (e.g. torchvision ResNets) get separate calls with the same result. In eval mode BN
    uses its running statistics and nothing is updated except mu_l (and not even mu_l with
    ``update_means=False``, used for held-out diagnostics).

    ``pair_bn="task-only"`` changes one thing: in train mode the pair images are still normalised with their
    own half-batch statistics, but they no longer update the BatchNorm running statistics (nor
    ``num_batches_tracked``), so the statistics the model uses at test time come from the task images alone.
    The pool's images (natural photographs for a Fashion-MNIST model, say) then cannot shift them.

    Args:
        model: the classifier (e.g. ``paper_resnet``), taking images in [0, 1].
        layers: node names of the compared layers (FX node names or module names; a module name means
            its output); default ``default_layers(model)``.
        beta: running-mean momentum beta in [0, 1) (reference 0.9).
        pair_bn: one of ``PAIR_BN``: "update" (reference: the pairs update the BatchNorm running statistics)
            or "task-only" (they leave them to the task images).
    """

    def __init__(self, model: nn.Module, layers: list[str] | None = None, beta: float = 0.9,
                 pair_bn: str = "update"):
        super().__init__()
        layers = default_layers(model) if layers is None else list(layers)
        if not layers or len(set(layers)) != len(layers) or not all(isinstance(n, str) for n in layers):
            raise ConfigError("layers", layers, "a non-empty list of distinct layer names")
        if not 0 <= beta < 1:
            raise ConfigError("beta", beta, "a running-mean momentum in [0, 1)")
        if pair_bn not in PAIR_BN:
            raise ConfigError("pair_bn", pair_bn, f"one of {', '.join(PAIR_BN)}")
        self.pair_bn = pair_bn
        object.__setattr__(self, "model", model)  # not a submodule: see class docstring
        self.layers, self.beta = layers, float(beta)
        self.layer_logits = nn.Parameter(torch.zeros(len(layers)))
        for idx in range(len(layers)):
            self.register_buffer(f"running_mean_{idx}", torch.zeros(0))
        object.__setattr__(self, "_extractor", self._build_extractor(model, layers))
        object.__setattr__(self, "_task_extractor", None)  # layers + the model's output, built on first use
        object.__setattr__(self, "_split", supports_batch_splits(model))

    # -- feature extraction ---------------------------------------------------------------------
    @staticmethod
    def _build_extractor(model: nn.Module, layers: list[str], with_output: bool = False):
        from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

        # leaf modules are shared by reference with the model; a traced-through module's buffers would be
        # copied as stale references that model.to(device) does not update
        kwargs = {"tracer_kwargs": {"leaf_modules": [InputScale, SplitBatchNorm2d]}}
        modes = {m: m.training for m in model.modules()}  # tracing toggles train/eval; restore exactly
        try:
            nodes = set().union(*get_graph_node_names(model, **kwargs))
        except Exception:
            nodes = None
        finally:
            for m, mode in modes.items():
                m.training = mode
        module_names = [n for n, _ in model.named_modules() if n]
        if nodes is not None:
            # torchvision accepts a node name or a module prefix (meaning its last node)
            bad = [n for n in layers if n not in nodes and not any(v.startswith(n + ".") for v in nodes)]
        else:
            bad = [n for n in layers if n not in module_names]
        if bad:
            top = [n for n, _ in model.named_children()]
            raise ConfigError("layers", bad, f"names of the model's layers, e.g. {top} or any of "
                              "torchvision.models.feature_extraction.get_graph_node_names(model)"
                              if nodes is not None else f"module names of the model, e.g. {top}")
        if nodes is not None:
            try:
                nodes_out = list(layers)
                if with_output:
                    last = get_graph_node_names(model, **kwargs)[0][-1]
                    nodes_out += [] if last in nodes_out else [last]
                ext = create_feature_extractor(model, return_nodes=nodes_out, **kwargs)
                if with_output:
                    object.__setattr__(ext, "_output_node", last)
                return ext
            except Exception:
                pass
            finally:
                for m, mode in modes.items():
                    m.training = mode
            if any(n not in module_names for n in layers):
                raise ConfigError("layers", layers, "module names of the model (FX extraction failed)")
        return None  # hooks

    def _run_extractor(self, ext, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mode = self.model.training
        if ext.training != mode:
            # switch the traced graph only; nn.Module.train would reset the shared submodules'
            # modes, which the user controls through the model
            if hasattr(ext, "train_graph"):
                ext.graph = ext.train_graph if mode else ext.eval_graph
            ext.training = mode
        return ext(x)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        ext = self._extractor
        if ext is not None:
            out = self._run_extractor(ext, x)
            return [out[n] for n in self.layers]
        found: dict[str, torch.Tensor] = {}
        modules = dict(self.model.named_modules())

        def hook(name):
            def fn(module, inputs, output):
                found[name] = output
                if len(found) == len(self.layers):
                    raise _StopForward
            return fn

        handles = [modules[n].register_forward_hook(hook(n)) for n in self.layers]
        try:
            self.model(x)
        except _StopForward:
            pass
        finally:
            for h in handles:
                h.remove()
        return [found[n] for n in self.layers]

    # -- public ---------------------------------------------------------------------------------
    @property
    def layer_weights(self) -> torch.Tensor:
        """gamma = softmax(layer_logits): (L,) non-negative, sums to 1."""
        return torch.softmax(self.layer_logits, dim=0)

    @property
    def running_means(self) -> dict[str, torch.Tensor]:
        """Layer name -> per-channel running mean mu_l (C_l,); empty before the first forward."""
        return {n: getattr(self, f"running_mean_{i}") for i, n in enumerate(self.layers)}

    def _update_mean(self, idx: int, feats: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            m = feats.detach().float().transpose(0, 1).flatten(1).mean(dim=1)  # over batch and space
            mu = getattr(self, f"running_mean_{idx}")
            if mu.numel() == 0:
                mu = torch.zeros_like(m)
            elif mu.shape != m.shape:
                raise ConfigError("layers", self.layers[idx],
                                  f"a layer whose channel count stays {mu.numel()} (got {m.numel()})")
            mu = self.beta * mu.to(m.device) + (1 - self.beta) * m
            setattr(self, f"running_mean_{idx}", mu)
        return mu

    def _pair_features(self, xa: torch.Tensor, xb: torch.Tensor) -> tuple[list, list]:
        if xa.shape != xb.shape or xa.dim() < 2:
            raise ConfigError("xb", tuple(xb.shape), f"the shape of xa, {tuple(xa.shape)}")
        track = self.pair_bn == "update"
        if not self._split:
            with contextlib.nullcontext() if track else running_stats_frozen(self.model):
                return self._features(xa), self._features(xb)
        k = len(xa)
        with batch_splits(self.model, (k, k), track=(track, track)):
            feats = self._features(torch.cat([xa, xb]))
        return [f[:k] for f in feats], [f[k:] for f in feats]

    def _similarity(self, fa: list[torch.Tensor], fb: list[torch.Tensor], update_means: bool) -> torch.Tensor:
        sims = []
        for idx, (a, b) in enumerate(zip(fa, fb)):
            a, b = a.float(), b.float()  # cosines in float32, also under bfloat16 autocast
            if update_means:
                mu = self._update_mean(idx, torch.cat([a, b]))
            else:
                mu = getattr(self, f"running_mean_{idx}")
                if mu.numel() == 0:
                    mu = torch.zeros(a.shape[1], device=a.device)
            mu = mu.view(1, -1, *([1] * (a.dim() - 2)))
            sims.append(F.cosine_similarity((a - mu).flatten(1), (b - mu).flatten(1), dim=1, eps=1e-8))
        gamma = self.layer_weights.to(device=sims[0].device, dtype=sims[0].dtype)  # differentiable move
        return (gamma[:, None] * torch.stack(sims)).sum(0)

    def forward(self, xa: torch.Tensor, xb: torch.Tensor, update_means: bool = True) -> torch.Tensor:
        """S^CNN of k pairs.

        Args:
            xa: (k, C, H, W) float in [0, 1], the images i of the pairs ("A").
            xb: (k, C, H, W) float in [0, 1], the images j ("B").
            update_means: update the running means mu_l before use (the reference, in both modes); False
                scores with the stored means and changes nothing (held-out diagnostics in eval mode).

        Returns:
            (k,) float32 in [-1, 1]; differentiable w.r.t. the model's weights and ``layer_logits``.
        """
        fa, fb = self._pair_features(xa, xb)
        return self._similarity(fa, fb, update_means)

    def task_and_pairs(self, x: torch.Tensor, xa: torch.Tensor, xb: torch.Tensor, fuse_task: bool = True
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """The model's logits on a task batch ``x`` and S^CNN of the pairs (xa, xb): one training step's work.

        Equal to ``(model(x), self(xa, xb))`` called in that order, BatchNorm running statistics included
        (three updates: x, A, B; only x with ``pair_bn="task-only"``). When the model supports it and the images share a shape, all
        n + 2k images go through the network in one call with per-chunk BatchNorm; ``fuse_task=False`` keeps
        the task batch in its own call (only A and B are fused), which was faster in float32 on a 2-core CPU
        (BENCHMARKS.md section 1).
        """
        if not (fuse_task and self._split and self._extractor is not None and x.shape[1:] == xa.shape[1:]):
            return self.model(x), self(xa, xb)
        if xa.shape != xb.shape:
            raise ConfigError("xb", tuple(xb.shape), f"the shape of xa, {tuple(xa.shape)}")
        if self._task_extractor is None:
            object.__setattr__(self, "_task_extractor", self._build_extractor(self.model, self.layers, True))
        ext = self._task_extractor
        n, k = len(x), len(xa)
        track = self.pair_bn == "update"
        with batch_splits(self.model, (n, k, k), track=(True, track, track)):
            out = self._run_extractor(ext, torch.cat([x, xa, xb]))
        logits = out[ext._output_node][:n]
        feats = [out[name] for name in self.layers]
        s = self._similarity([f[n:n + k] for f in feats], [f[n + k:] for f in feats], True)
        return logits, s

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # running means are sized lazily: adopt the saved size before the usual copy
        for idx in range(len(self.layers)):
            key = f"{prefix}running_mean_{idx}"
            if key in state_dict and getattr(self, f"running_mean_{idx}").shape != state_dict[key].shape:
                setattr(self, f"running_mean_{idx}", torch.zeros_like(state_dict[key]))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def extra_repr(self) -> str:
        how = "fx" if self._extractor is not None else "hooks"
        gamma = ", ".join(f"{g:.3f}" for g in self.layer_weights.tolist())
        return (f"model={type(self.model).__name__}, layers={self.layers}, beta={self.beta}, pair_bn={self.pair_bn}, "
                f"gamma=[{gamma}], extraction={how}")


def similarity_loss(s_cnn: torch.Tensor, target: torch.Tensor, criterion: str = "atanh",
                    eps: float = 1e-5) -> torch.Tensor:
    """L_sim, the mean over the k pairs.

    "atanh" (reference ``ATanhSquare``):
        mean [log(1+s+eps) - log(1-s+eps) - log(1+t+eps) + log(1-t+eps)]^2,
    which is 4 * (artanh s - artanh t)^2 up to eps, since log((1+x)/(1-x)) = 2 artanh x. The factor
    4 is the reference's convention: alpha values follow its table, and alpha = 10 here equals
    alpha = 40 in the paper's formula alpha * (artanh s - artanh t)^2. A target t = +-1 stays finite
    thanks to eps (like t = +-(1 - 1e-5), artanh ~ +-6.1). s is a convex combination of cosines, so
    it lies in [-1, 1] and the logs are finite.

    "mse": mean (s - t)^2.

    Args:
        s_cnn: (k,) float in [-1, 1], S^CNN.
        target: (k,) float in [-1, 1], S^Th or S^pixel.
        criterion: one of ``CRITERIA``.
        eps: epsilon inside the logs (reference 1e-5).

    Returns:
        Scalar tensor.
    """
    if criterion not in CRITERIA:
        raise ConfigError("criterion", criterion, f"one of {CRITERIA}")
    target = torch.as_tensor(target, dtype=s_cnn.dtype, device=s_cnn.device)
    if target.shape != s_cnn.shape:
        raise ConfigError("target", tuple(target.shape), f"the shape of s_cnn, {tuple(s_cnn.shape)}")
    if criterion == "mse":
        return ((s_cnn - target) ** 2).mean()
    s, t = s_cnn, target
    d = torch.log(1 + s + eps) - torch.log(1 - s + eps) - torch.log(1 + t + eps) + torch.log(1 - t + eps)
    return (d ** 2).mean()
