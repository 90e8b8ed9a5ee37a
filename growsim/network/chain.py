"""Hamidi et al.'s chain of recurrent modules, grown one module at a time.

K modules of M neurons each; module m gets its own recurrent input, feed-forward input from
module m-1 at the previous step (m >= 1), and the sequence input. With dt = 1:

    C^m_t  = W_rec[m] r^m(t-1) + W_ff[m] r^{m-1}(t-1) + W_in[m] x_t + b[m]
    r^m(t) = (1 - 1/tau_m) r^m(t-1) + (1/tau_m) leaky_relu(C^m_t)

tau_m is a trainable per-neuron timescale, clamped to >= 1 in the forward pass. Initial rates
r(0) = h0_scale * U(0, 1), drawn per trial and neuron. W_rec's diagonal is optionally held at
zero (no autapses). Readout heads are Linear(M -> 2), each reading one module at the last
step. W[i, j] is the synapse from neuron j onto neuron i.

Cost: a time step is batched over the modules (one bmm over the K recurrent blocks, one over
the K-1 feed-forward blocks): O(K M^2) per step where the same network written densely
costs O((K M)^2). The leading modules whose parameters are all frozen run under no_grad, in
place, so they store nothing for backward; only the trainable suffix builds a graph.

Growth: `add_module` appends a module copied (as chosen) from the newest, `add_head` a head;
`freeze` stops parts from learning; `structure` and `from_structure` rebuild a grown network
so that its checkpoint loads.

Parameters live per module and kind (`blocks[m].w_rec`, ...) so that each can be frozen, and
each new module's can be handed to an existing optimizer (`optimizer.add_param_group`). The
class takes flat arguments; it never sees the spec.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

# Parameter names of a module, in the order used by `weights()["trainable"]` and `add_module`.
PARTS = ("recurrent", "feedforward", "input", "bias", "tau")
_ATTR = {"recurrent": "w_rec", "feedforward": "w_ff", "input": "w_in", "bias": "bias", "tau": "tau"}


class _Block(nn.Module):
    """The parameters of one module of the chain; module 0 has no w_ff."""

    def __init__(self, w_rec, w_ff, w_in, bias, tau):
        super().__init__()
        self.w_rec = nn.Parameter(w_rec)
        self.w_ff = None if w_ff is None else nn.Parameter(w_ff)
        self.w_in = nn.Parameter(w_in)
        self.bias = nn.Parameter(bias)
        self.tau = nn.Parameter(tau)

    def parts(self) -> dict[str, nn.Parameter]:
        return {p: getattr(self, _ATTR[p]) for p in PARTS if getattr(self, _ATTR[p]) is not None}


# Time steps of input drive computed per matmul under no_grad: a few MB at a time, so that a
# deep frozen prefix needs no (K, T, B, M) drive buffer (fresh pages cost more than the matmul).
_CHUNK_FLOATS = 1 << 20


def _scan_in_place(
    drive: torch.Tensor,
    r: torch.Tensor,
    w_rec_t: torch.Tensor,
    w_ff_t: torch.Tensor | None,
    alpha: torch.Tensor,
    slope: float,
    out: torch.Tensor | None,
    track: torch.Tensor | None,
) -> torch.Tensor:
    """Run n consecutive modules for t steps under no_grad, into preallocated buffers; returns r(t).

    drive (n, t, B, M): input and bias; r (n, B, M): the state before; w_rec_t (n, M, M),
    w_ff_t (n-1, M, M) (None when n == 1): transposed weights, w_ff_t[i] into module i+1 from
    module i; alpha (n, B, M) = 1/tau, expanded (a broadcast weight takes elementwise kernels
    off their fast path). The rates go into out (t, n, B, M) when given; the last module's
    also into track (t, B, M) when given.
    """
    c = torch.empty_like(r)
    ff = torch.empty_like(r[1:])
    spare = None if out is not None else (torch.empty_like(r), torch.empty_like(r))
    for t, d in enumerate(drive.unbind(1)):
        # bmm then add: on CPU, baddbmm takes a slower per-matrix path for these small blocks.
        torch.bmm(r, w_rec_t, out=c).add_(d)
        if w_ff_t is not None:
            c[1:].add_(torch.bmm(r[:-1], w_ff_t, out=ff))
        F.leaky_relu_(c, slope)
        r = torch.lerp(r, c, alpha, out=out[t] if out is not None else spare[t % 2])
        if track is not None:
            track[t].copy_(r[-1])
    return r


def _scan(
    drive: torch.Tensor,
    r: torch.Tensor,
    w_rec_t: torch.Tensor,
    w_ff_t: torch.Tensor | None,
    alpha: torch.Tensor,
    slope: float,
    keep: bool,
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """The same in autograd (arguments as `_scan_in_place`, drive for all T steps); returns
    (r(1..T) as (T, n, B, M) if keep else None, r(T))."""
    rates = []
    if w_ff_t is None:  # one module (the trainable suffix under Hamidi's policy): fused 2-D addmm
        r, alpha, w_rec_t = r[0], alpha[0], w_rec_t[0]
        for d in drive[0].unbind(0):  # unbind: no per-step gradient buffer the size of drive
            r = torch.lerp(r, F.leaky_relu(torch.addmm(d, r, w_rec_t), slope), alpha)
            rates.append(r)
        # r(T) goes back apart so that the readout's gradient need not go through the stack.
        return torch.stack(rates).unsqueeze(1) if keep else None, r.unsqueeze(0)
    # roll brings module i-1 onto row i, and module n-1 onto row 0, where a zero block cancels it.
    w_ff_t = torch.cat([w_ff_t.new_zeros(1, *w_ff_t.shape[1:]), w_ff_t])
    for d in drive.unbind(1):
        c = torch.bmm(r, w_rec_t).add_(d).add_(torch.bmm(r.roll(1, 0), w_ff_t))
        r = torch.lerp(r, F.leaky_relu(c, slope), alpha)
        rates.append(r)
    return torch.stack(rates) if keep else None, r


class ChainRNN(nn.Module):
    def __init__(
        self,
        *,
        n_input: int,
        module_size: int,
        rng: np.random.Generator,
        n_modules: int = 1,
        head_module: Sequence[int] | None = None,
        zero_diagonal: bool = True,
        h0_scale: float = 0.1,
        negative_slope: float = 0.01,
        tau_init: tuple[float, float] = (1.0, 2.0),
        dtype: torch.dtype = torch.float32,
    ):
        """Modules 0..n_modules-1 drawn fresh from `rng` in order, then one head per entry of
        `head_module` (default: head h on module h, the modular network; the non-modular baseline
        is n_modules=1 with head_module=[0] * n_heads)."""
        super().__init__()
        if n_input < 1 or module_size < 1 or n_modules < 1:
            raise ValueError("n_input, module_size and n_modules must be >= 1")
        if not 1.0 <= tau_init[0] <= tau_init[1]:
            raise ValueError(f"tau_init must be (low, high) with 1 <= low <= high; got {tau_init}")
        self.n_input = int(n_input)
        self.module_size = int(module_size)
        self.zero_diagonal = bool(zero_diagonal)
        self.h0_scale = float(h0_scale)
        self.negative_slope = float(negative_slope)
        self.tau_init = (float(tau_init[0]), float(tau_init[1]))
        # W_rec enters the forward pass times this mask, so the diagonal's gradient is exactly 0
        # and no optimizer moves it. (Not a tensor hook: copy.deepcopy drops those.) Not
        # persistent: state_dict keys stay those of the parameters.
        off_diagonal = torch.ones(module_size, module_size, dtype=dtype)
        if zero_diagonal:
            off_diagonal.fill_diagonal_(0.0)
        self.register_buffer("off_diagonal", off_diagonal, persistent=False)
        self.blocks = nn.ModuleList()
        self.heads = nn.ModuleList()
        self.head_module: list[int] = []
        for _ in range(n_modules):
            self.blocks.append(self._fresh_module(rng, len(self.blocks)))
        for m in range(n_modules) if head_module is None else head_module:
            self.add_head(rng, m)

    # --- sizes and flags --------------------------------------------------------------

    @property
    def n_modules(self) -> int:
        return len(self.blocks)

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    @property
    def n_neurons(self) -> int:
        return self.n_modules * self.module_size

    @property
    def n_frozen_prefix(self) -> int:
        """The number of leading modules none of whose parameters requires grad."""
        f = 0
        for block in self.blocks:
            if any(p.requires_grad for p in block.parameters()):
                break
            f += 1
        return f

    def module_parameters(self, module: int) -> dict[str, nn.Parameter]:
        """Module `module`'s parameters by part name (module 0 has no "feedforward")."""
        return self.blocks[module].parts()

    # --- drawing ----------------------------------------------------------------------

    def _like(self) -> dict[str, Any]:
        # The buffer follows net.to(...), so new parameters match the existing ones.
        return {"dtype": self.off_diagonal.dtype, "device": self.off_diagonal.device}

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, **self._like())

    def _draw(self, rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
        """Fresh float64 values for module m, in a fixed order: PyTorch Linear's default
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias (bias: fan_in = M), tau ~ U(tau_init)."""
        n, n_in = self.module_size, self.n_input
        k = 1.0 / math.sqrt(n)
        w_rec = rng.uniform(-k, k, (n, n))
        if self.zero_diagonal:
            np.fill_diagonal(w_rec, 0.0)
        w_ff = rng.uniform(-k, k, (n, n)) if m >= 1 else None
        k_in = 1.0 / math.sqrt(n_in)
        w_in = rng.uniform(-k_in, k_in, (n, n_in))
        bias = rng.uniform(-k, k, n)
        lo, hi = self.tau_init
        tau = lo + rng.random(n) * (hi - lo)
        return {"recurrent": w_rec, "feedforward": w_ff, "input": w_in, "bias": bias, "tau": tau}

    def _build(self, values: dict[str, np.ndarray | torch.Tensor | None]) -> _Block:
        t = {k: None if v is None else self._tensor(v) if isinstance(v, np.ndarray) else v for k, v in values.items()}
        return _Block(t["recurrent"], t["feedforward"], t["input"], t["bias"], t["tau"])

    def _fresh_module(self, rng: np.random.Generator, m: int) -> _Block:
        return self._build(self._draw(rng, m))

    # --- forward ----------------------------------------------------------------------

    def _run(
        self,
        x2: torch.Tensor,
        steps: int,
        a: int,
        b: int,
        r0: torch.Tensor,
        prev: torch.Tensor | None = None,
        out: torch.Tensor | None = None,
        track: torch.Tensor | None = None,
        keep: bool = True,
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Modules a..b-1 from r0 (b-a, B, M) on x2 (T B, n_input): (rates (T, b-a, B, M) or
        None, r(T) (b-a, B, M)). `prev` (T B, M): module a-1's rates at t-1, t = 1..T (None
        when a == 0). Under no_grad, into `out` and `track` (see _scan_in_place)."""
        blocks = list(self.blocks[a:b])
        n, size = len(blocks), self.module_size
        batch = r0.shape[1]
        # The input drive as one batched matmul written straight in the (module, time, trial,
        # neuron) order the scan reads: [x_t, r^{a-1}(t-1)] against [W_in[a], W_ff[a]],
        # [W_in[a+1], 0], ...: the external feed-forward drive rides along.
        w = torch.stack([blk.w_in for blk in blocks])  # (n, M, n_input)
        if prev is not None:
            ff = torch.cat([blocks[0].w_ff.unsqueeze(0), w.new_zeros(n - 1, size, size)])
            w = torch.cat([w, ff], dim=2)
            x2 = torch.cat([x2, prev], dim=1)
        w_t = w.transpose(1, 2)
        bias = torch.stack([blk.bias for blk in blocks]).unsqueeze(1)
        w_rec_t = (torch.stack([blk.w_rec for blk in blocks]) * self.off_diagonal).transpose(1, 2)
        w_ff_t = torch.stack([blk.w_ff for blk in blocks[1:]]).transpose(1, 2) if n > 1 else None
        tau = torch.stack([blk.tau for blk in blocks]).clamp(min=1.0).unsqueeze(1)
        alpha = tau.reciprocal().expand(n, batch, size).contiguous()
        if torch.is_grad_enabled():
            drive = torch.matmul(x2, w_t).add_(bias).view(n, steps, batch, size)
            return _scan(drive, r0, w_rec_t, w_ff_t, alpha, self.negative_slope, keep)
        chunk = max(1, _CHUNK_FLOATS // (n * batch * size))
        r = r0
        for t0 in range(0, steps, chunk):
            t1 = min(steps, t0 + chunk)
            drive = torch.matmul(x2[t0 * batch : t1 * batch], w_t).add_(bias).view(n, t1 - t0, batch, size)
            r = _scan_in_place(
                drive, r, w_rec_t, w_ff_t, alpha, self.negative_slope,
                None if out is None else out[t0:t1], None if track is None else track[t0:t1],
            )
        return out, r

    def _trajectories(
        self, x: torch.Tensor, generator: torch.Generator | None, keep: bool = True
    ) -> tuple[torch.Tensor | None, torch.Tensor, int]:
        """(rates (T, K, B, M) or None, r(T) (K, B, M), f): the first f modules run under no_grad."""
        steps, batch, n_in = x.shape
        if n_in != self.n_input:
            raise ValueError(f"input has {n_in} channels; the network takes {self.n_input}")
        if steps < 1:
            raise ValueError("the input needs at least one time step")
        k, size = self.n_modules, self.module_size
        shape = (k, batch, size)  # module-major: a module's r(0) draws do not depend on how many follow
        if self.h0_scale > 0:
            # Drawn where the generator lives: an evaluation's CPU stream gives the same r(0)
            # whichever device the run trains on (and the reader draws them again on a CPU).
            where = generator.device if generator is not None else x.device
            r0 = (self.h0_scale * torch.rand(shape, generator=generator, dtype=x.dtype, device=where)).to(x.device)
        else:
            r0 = x.new_zeros(shape)
        x2 = x.reshape(steps * batch, n_in)
        # All under no_grad when grad is off; nothing when the input itself wants a gradient.
        f = k if not torch.is_grad_enabled() else 0 if x.requires_grad else self.n_frozen_prefix
        if f == 0:
            rates, last = self._run(x2, steps, 0, k, r0, keep=keep)
            return rates, last, 0
        rates = x.new_empty(steps, k, batch, size) if keep else None
        # Module f-1's rates, which feed module f: in `rates`, or tracked apart without it.
        track = x.new_empty(steps, batch, size) if f < k and not keep else None
        with torch.no_grad():
            _, last = self._run(x2, steps, 0, f, r0[:f], out=None if rates is None else rates[:, :f], track=track)
            last = last.clone()  # not a view of `rates`, which autograd may write into below
        if f < k:
            # Module f-1's rates at t-1, t = 1..T, from the no_grad run: a constant to autograd.
            before = rates[:-1, f - 1] if track is None else track[:-1]
            prev = torch.cat([r0[f - 1].unsqueeze(0), before]).view(steps * batch, size)
            suffix, last_suffix = self._run(x2, steps, f, k, r0[f:], prev, keep=keep)
            if rates is not None:
                # Into the same buffer, so that the frozen part is not copied again; a backward
                # pass comes through here only if a loss reads the returned rates.
                rates[:, f:] = suffix
            last = torch.cat([last, last_suffix])
        return rates, last, f

    def trajectories(
        self, x: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The rates split where autograd starts: (frozen prefix (T, B, f, M), computed under
        no_grad and no part of any graph; trainable suffix (T, B, K-f, M)), f = n_frozen_prefix
        (K when grad is disabled, 0 when x requires grad)."""
        rates, _, f = self._trajectories(x, generator)
        frozen = rates[:, :f].detach()
        return frozen.permute(0, 2, 1, 3), rates[:, f:].permute(0, 2, 1, 3)

    def forward(
        self, x: torch.Tensor, *, generator: torch.Generator | None = None, keep_rates: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (T, B, n_input) -> (logits (H, B, 2) of every head at the last step, rates (T, B, K, M)).

        `generator` draws r(0) (as (K, B, M), module-major) when h0_scale > 0. rates is a
        permuted (non-contiguous) view of a (T, K, B, M) tensor; with keep_rates=False it is
        None and not stored at all (a training step that reads only the logits: less memory,
        and no fresh (T, K, B, M) buffer to fault in on every batch).
        """
        rates, last, _ = self._trajectories(x, generator, keep_rates)
        batch = x.shape[1]
        if self.n_heads == 0:
            logits = x.new_zeros(0, batch, 2)
        else:
            # One slice per head, not index_select: its backward adds the gradients of heads
            # on one module with atomics on a GPU, in no fixed order.
            last = torch.stack([last[m] for m in self.head_module])  # (H, B, M)
            w = torch.stack([h.weight for h in self.heads])  # (H, 2, M)
            b = torch.stack([h.bias for h in self.heads]).unsqueeze(1)  # (H, 1, 2)
            logits = torch.bmm(last, w.transpose(1, 2)).add_(b)
        return logits, None if rates is None else rates.permute(0, 2, 1, 3)

    def outputs(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """What training reads: the logits (H, B, 2) of every head at the last step (the
        rates are not kept); r(0) drawn from `generator`."""
        return self(x, generator=generator, keep_rates=False)[0]

    # --- growth -----------------------------------------------------------------------

    @torch.no_grad()
    def add_module(
        self,
        rng: np.random.Generator,
        module: nn.Module | None = None,
        *,
        copy_recurrent: bool = False,
        copy_feedforward: bool = False,
        copy_tau: bool = False,
        copy_input: bool = False,
        noise_weights: float = 0.0,
        noise_tau: float = 0.0,
    ) -> list[nn.Parameter]:
        """Append module K, parts copied from module K-1 (the newest) as flagged, the rest fresh.

        Copies: recurrent: W_rec[K] = W_rec[K-1]; feedforward: W_ff[K] = W_ff[K-1] (the
        projection into K-1 from K-2 becomes the one into K from K-1; when K-1 is module 0,
        which has no W_ff, W_ff[K] is a fresh draw whatever the flag); input: W_in and the bias;
        tau. A whole fresh module is drawn from `rng` first, whatever the flags, so the stream
        advances the same way; then the copies replace their parts, and copied parts get
        multiplicative noise w (1 + sigma xi), xi ~ N(0, 1) from `rng` (sigma = noise_weights
        for weights and bias, noise_tau for tau; Hamidi: 0.03 and 0.02). tau is clamped >= 1
        and the recurrent diagonal kept at zero. Module K-1 is left as it was.

        Returns the new module's parameters, in PARTS order, for `optimizer.add_param_group`.
        Called as nn.Module.add_module(name, module) (a string first), it registers a
        submodule as usual.
        """
        if isinstance(rng, str):  # keep nn.Module's own add_module(name, module) working
            return super().add_module(rng, module)
        if module is not None:
            raise TypeError("add_module(rng, *, copy_...=...): the copy flags are keyword-only")
        k = self.n_modules
        values: dict[str, Any] = self._draw(rng, k)
        src = self.blocks[k - 1].parts()
        flags = {"recurrent": copy_recurrent, "feedforward": copy_feedforward and k >= 2, "input": copy_input,
                 "bias": copy_input, "tau": copy_tau}
        for part, copied in flags.items():
            if not copied:
                values[part] = self._tensor(values[part])
                continue
            v = src[part].detach().clone()
            sigma = noise_tau if part == "tau" else noise_weights
            if sigma > 0:
                v.mul_(1.0 + sigma * self._tensor(rng.standard_normal(tuple(v.shape))))
            values[part] = v
        values["tau"].clamp_(min=1.0)
        if self.zero_diagonal:
            values["recurrent"].fill_diagonal_(0.0)
        block = self._build(values)
        self.blocks.append(block)
        return list(block.parts().values())

    @torch.no_grad()
    def add_head(self, rng: np.random.Generator, module: int) -> list[nn.Parameter]:
        """A new 2-class readout on `module`, drawn like PyTorch Linear's default; returns [weight, bias]."""
        if not 0 <= module < self.n_modules:
            raise ValueError(f"no module {module}; the chain has {self.n_modules}")
        k = 1.0 / math.sqrt(self.module_size)
        head = nn.Linear(self.module_size, 2, **self._like())
        head.weight.copy_(self._tensor(rng.uniform(-k, k, (2, self.module_size))))
        head.bias.copy_(self._tensor(rng.uniform(-k, k, 2)))
        self.heads.append(head)
        self.head_module.append(int(module))
        return [head.weight, head.bias]

    # --- freezing ---------------------------------------------------------------------

    def _set_trainable(self, module: int, parts: Iterable[str] | str, value: bool) -> None:
        parts = [parts] if isinstance(parts, str) else list(parts)
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; choose among {PARTS}")
        have = self.blocks[module].parts()
        for part in parts:
            if part in have:  # module 0's "feedforward" does not exist: nothing to do
                have[part].requires_grad_(value)
                if not value:
                    have[part].grad = None

    def freeze(self, module: int, parts: Iterable[str] | str = PARTS) -> None:
        """Stop `parts` of `module` learning: requires_grad False and grad None.

        A parameter whose grad is None is skipped by torch's optimizers (SGD, Adam, ...): no
        update, no weight decay, no momentum or moment drift, even with state from earlier
        steps. (A zero grad would not do: weight decay and momentum would still move it.)
        """
        self._set_trainable(module, parts, False)

    def unfreeze(self, module: int, parts: Iterable[str] | str = PARTS) -> None:
        self._set_trainable(module, parts, True)

    def freeze_head(self, head: int) -> None:
        """Freeze head `head`'s weight and bias (see `freeze`)."""
        for p in self.heads[head].parameters():
            p.requires_grad_(False)
            p.grad = None

    def unfreeze_head(self, head: int) -> None:
        for p in self.heads[head].parameters():
            p.requires_grad_(True)

    # --- structure, checkpoints, logging -----------------------------------------------

    def structure(self) -> dict:
        """Plain JSON-able shape of the network: what a state_dict's keys depend on, plus freezing."""
        return {
            "n_input": self.n_input,
            "n_modules": self.n_modules,
            "module_size": self.module_size,
            "head_module": list(self.head_module),
            "frozen": [{part: not p.requires_grad for part, p in blk.parts().items()} for blk in self.blocks],
            "frozen_heads": [not any(p.requires_grad for p in h.parameters()) for h in self.heads],
        }

    def grow_to(self, structure: dict, rng: np.random.Generator) -> None:
        """Add fresh modules and heads until this network has `structure`'s shape, and set its
        frozen flags; then a checkpoint's state_dict of that structure loads. This network must
        be a prefix of it (same sizes, no more modules, its heads the first ones)."""
        if structure["module_size"] != self.module_size or structure.get("n_input", self.n_input) != self.n_input:
            raise ValueError("structure has other module or input sizes")
        heads = list(structure["head_module"])
        if structure["n_modules"] < self.n_modules or heads[: self.n_heads] != self.head_module:
            raise ValueError("this network is not a prefix of the structure")
        while self.n_modules < structure["n_modules"]:
            self.add_module(rng)
        for m in heads[self.n_heads :]:
            self.add_head(rng, m)
        for m, flags in enumerate(structure["frozen"]):
            for part, frozen in flags.items():
                (self.freeze if frozen else self.unfreeze)(m, part)
        for h, frozen in enumerate(structure["frozen_heads"]):
            (self.freeze_head if frozen else self.unfreeze_head)(h)

    @classmethod
    def from_structure(cls, structure: dict, *, rng: np.random.Generator | None = None, **kwargs: Any) -> ChainRNN:
        """A network of `structure`'s shape, ready for `load_state_dict`; kwargs are the
        constructor's other arguments (zero_diagonal, h0_scale, negative_slope, tau_init, dtype)."""
        rng = np.random.default_rng(0) if rng is None else rng  # values are overwritten by the load
        net = cls(n_input=structure["n_input"], module_size=structure["module_size"], rng=rng, n_modules=1,
                  head_module=[], **kwargs)
        net.grow_to(structure, rng)
        return net

    def sizes(self) -> dict[str, float]:
        """What the run logs of its size at every evaluation and event: modules, every
        parameter of the network (its modules and heads, frozen or not: Hamidi et al.'s
        learnable parameters of Fig. 2b), and the parameters that still learn."""
        return {
            "n_modules": float(self.n_modules),
            "n_parameters": float(sum(p.numel() for p in self.parameters())),
            "n_trainable": float(sum(p.numel() for p in self.parameters() if p.requires_grad)),
        }

    def constrain(self) -> None:
        """Nothing: a chain's parameters are unconstrained (tau is clamped in its dynamics)."""

    def final_weights(self) -> dict[str, np.ndarray]:
        """The arrays of the run file's /final: the weights."""
        return self.weights()

    @torch.no_grad()
    def weights(self) -> dict[str, np.ndarray]:
        """Arrays for logging: w_rec, w_ff (K, M, M) (module 0's w_ff zeros), w_in (K, M, n_input),
        bias, tau (K, M) (raw, unclamped), head_w (H, 2, M), head_b (H, 2), head_module (H,),
        trainable (K, 5) uint8 in PARTS order (module 0's feedforward 0)."""
        def stack(name: str) -> np.ndarray:
            return torch.stack([getattr(b, name) for b in self.blocks]).cpu().numpy()

        size = self.module_size
        w_ff = np.zeros((self.n_modules, size, size), dtype=stack("w_rec").dtype)
        for m, blk in enumerate(self.blocks):
            if blk.w_ff is not None:
                w_ff[m] = blk.w_ff.cpu().numpy()
        head_w = np.stack([h.weight.cpu().numpy() for h in self.heads]) if self.heads else np.zeros((0, 2, size))
        head_b = np.stack([h.bias.cpu().numpy() for h in self.heads]) if self.heads else np.zeros((0, 2))
        trainable = np.zeros((self.n_modules, len(PARTS)), dtype=np.uint8)
        for m, blk in enumerate(self.blocks):
            for part, p in blk.parts().items():
                trainable[m, PARTS.index(part)] = p.requires_grad
        return {
            "w_rec": stack("w_rec"), "w_ff": w_ff, "w_in": stack("w_in"), "bias": stack("bias"), "tau": stack("tau"),
            "head_w": head_w, "head_b": head_b, "head_module": np.asarray(self.head_module, dtype=np.int64),
            "trainable": trainable,
        }

    @torch.no_grad()
    def dense_equivalent(self) -> dict[str, torch.Tensor]:
        """The same network as one leaky-ReLU RNN of K*M neurons (neuron m*M + i is module m's i):
        w_rec (KM, KM) with W_rec on the diagonal blocks and W_ff on the sub-diagonal ones,
        mask (KM, KM) bool of the synapses that exist (diagonal excluded when zero_diagonal),
        w_in (KM, n_input), bias (KM,), tau (KM,) clamped >= 1, w_out (H, 2, KM) zero outside
        each head's module, b_out (H, 2). Detached copies."""
        k, size = self.n_modules, self.module_size
        w = torch.zeros(k * size, k * size, **self._like())
        mask = torch.zeros(k * size, k * size, dtype=torch.bool, device=w.device)
        for m, blk in enumerate(self.blocks):
            rows = slice(m * size, (m + 1) * size)
            w[rows, rows] = blk.w_rec * self.off_diagonal
            mask[rows, rows] = True
            if blk.w_ff is not None:
                cols = slice((m - 1) * size, m * size)
                w[rows, cols] = blk.w_ff
                mask[rows, cols] = True
        if self.zero_diagonal:
            mask.fill_diagonal_(False)
        w_out = torch.zeros(self.n_heads, 2, k * size, dtype=w.dtype, device=w.device)
        for h, (head, m) in enumerate(zip(self.heads, self.head_module, strict=True)):
            w_out[h, :, m * size : (m + 1) * size] = head.weight
        return {
            "w_rec": w,
            "mask": mask,
            "w_in": torch.cat([b.w_in for b in self.blocks]).clone(),
            "bias": torch.cat([b.bias for b in self.blocks]).clone(),
            "tau": torch.cat([b.tau for b in self.blocks]).clamp(min=1.0),
            "w_out": w_out,
            "b_out": torch.stack([h.bias for h in self.heads]).clone() if self.heads else w.new_zeros(0, 2),
        }
