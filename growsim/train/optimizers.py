"""The optimizers a spec can name (`train.optimizer.kind`): Adam, AdamW and SGD.

They compute what torch.optim's Adam, AdamW and SGD compute with their default settings on
a CPU (torch's single-tensor path), operation for operation, so a run takes bit for bit the
steps it would take with torch's (tests/train/test_optimizers.py checks every kind against
torch's, step by step, with torch.equal). On a GPU torch would take its multi-tensor path,
the same formulas in other kernels, which can round differently. Their state dicts have torch's layout, so a run file's
checkpoint written with torch's optimizers resumes with these, and the other way round.

Why not torch.optim itself: torch's optimizers import torch's compiler stack the first
time one is made or stepped (its `_disable_dynamo` and `_use_grad` wrappers), which costs
about 1 s of start-up and 73 MB of resident memory in every run, for a feature growsim never
uses (benchmarks/RESULTS.md). What growsim uses of an optimizer is small: `param_groups`
(each a dict with "params" and its settings), `state` (a dict from parameter to its state:
Adam's `step`, `exp_avg`, `exp_avg_sq`; SGD's `momentum_buffer`), `defaults`,
`add_param_group`, `zero_grad`, `step`, `state_dict` and `load_state_dict`. Growth edits
`state` and adds parameter groups (growsim.growth); the engine saves and restores the state
dict (growsim.train.engine). Any object with that interface can stand in, torch's included.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

import torch

# Settings of torch's optimizers that growsim never sets: a state dict that asks for one of
# them (written by other code) is refused rather than silently run without it.
_UNSUPPORTED = {"dampening": 0, "amsgrad": False, "maximize": False, "capturable": False, "differentiable": False, "fused": (None, False)}


class _Optimizer:
    """What the optimizers share: parameter groups, per-parameter state, state dicts."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state: defaultdict[torch.Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("the optimizer got an empty list of parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({settings}; {len(self.param_groups)} parameter group(s))"

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters (`{"params": [...], setting: value, ...}`); settings it
        does not give are the optimizer's defaults."""
        params = group["params"]
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        for p in params:
            if not isinstance(p, torch.Tensor) or not p.is_leaf:
                raise TypeError("the optimizer can only optimize leaf tensors")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear more than once among the optimizer's groups")
        entry = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}, "params": params}
        self.param_groups.append(entry)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.requires_grad_(False)
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad, group, self.state[p])

    def _update(self, p: torch.Tensor, grad: torch.Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        raise NotImplementedError

    def _torch_settings(self) -> dict[str, Any]:
        """The settings torch's optimizer of this kind keeps in every group of its state dict
        and growsim's never varies: written out, so that torch's optimizer loading this state
        dict takes the same steps (it would fill in defaults of its own)."""
        return {}

    # --- state dicts, in torch.optim's layout ----------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [{settings, "params": [index, ...]}]},
        parameters numbered in group order, as torch.optim numbers them."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            numbers = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                numbers.append(index[id(p)])
            settings = {k: v for k, v in group.items() if k != "params"}
            groups.append({**settings, **self._torch_settings(), "params": numbers})
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take a state dict of the same parameter groups (this optimizer's or torch's)."""
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"the state dict has {len(saved)} parameter group(s), the optimizer {len(self.param_groups)}")
        for mine, theirs in zip(self.param_groups, saved):
            if len(theirs["params"]) != len(mine["params"]):
                raise ValueError("a parameter group of the state dict differs in size from the optimizer's")
            for key, allowed in _UNSUPPORTED.items():
                value = theirs.get(key)
                if value is not None and value not in (allowed if isinstance(allowed, tuple) else (allowed,)):
                    # (0 == 0.0 and False == 0: a saved dampening of 0.0 passes)
                    raise ValueError(f"the state dict's optimizer was made with {key}={value!r}, which growsim's "
                                     f"{type(self).__name__} does not do")
            expected = self._torch_settings().get("decoupled_weight_decay")
            if expected is not None and bool(theirs.get("decoupled_weight_decay", False)) != expected:
                other = "AdamW" if theirs.get("decoupled_weight_decay") else "Adam"
                raise ValueError(f"the state dict is {other}'s, the optimizer {type(self).__name__}")
        params = {}
        for mine, theirs in zip(self.param_groups, saved):
            params.update(zip(theirs["params"], mine["params"]))
        state: defaultdict[torch.Tensor, dict[str, Any]] = defaultdict(dict)
        for number, entries in state_dict["state"].items():
            p = params[int(number)]
            state[p] = {key: _as_state(value, p, key) for key, value in entries.items()}
        self.state = state
        for mine, theirs in zip(self.param_groups, saved):
            keep = {k: v for k, v in theirs.items() if k != "params" and k in self.defaults}
            mine.update(keep)


def _as_state(value: Any, p: torch.Tensor, key: str) -> Any:
    """A copy of a saved state entry (never the saved tensor itself, which its optimizer may
    still update) on the parameter's device; floating tensors in its dtype except the step
    count (a float32 scalar in torch's layout)."""
    if not torch.is_tensor(value):
        return value
    if key == "step":
        return value.to(dtype=torch.float32, copy=True)
    if value.is_floating_point():
        return value.to(dtype=p.dtype, device=p.device, copy=True)
    return value.to(device=p.device, copy=True)


class Adam(_Optimizer):
    """Adam (Kingma & Ba), weight decay added to the gradient (L2), as torch.optim.Adam."""

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if not lr >= 0.0 or not eps >= 0.0 or not weight_decay >= 0.0:
            raise ValueError(f"lr, eps and weight_decay must be >= 0; got {lr}, {eps}, {weight_decay}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must lie in [0, 1); got {tuple(betas)}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    def _torch_settings(self):
        return {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                "fused": None, "decoupled_weight_decay": self.decoupled}

    def _update(self, p, grad, group, state):
        if not state:
            # The step count is a float32 scalar on the CPU, as torch keeps it.
            state["step"] = torch.tensor(0.0, dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        step_t += 1
        if decay != 0:
            if self.decoupled:
                p.mul_(1 - lr * decay)
            else:
                grad = grad.add(p, alpha=decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = step_t.item()
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
        p.addcdiv_(exp_avg, denom, value=-step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum (heavy ball or Nesterov) and L2 weight
    decay, no dampening, as torch.optim.SGD."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        if not lr >= 0.0 or not momentum >= 0.0 or not weight_decay >= 0.0:
            raise ValueError(f"lr, momentum and weight_decay must be >= 0; got {lr}, {momentum}, {weight_decay}")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay})

    def _torch_settings(self):
        return {"dampening": 0, "maximize": False, "foreach": None, "differentiable": False, "fused": None}

    def _update(self, p, grad, group, state):
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        if decay != 0:
            grad = grad.add(p, alpha=decay)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.detach().clone()
            else:
                buf.mul_(momentum).add_(grad)
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        p.add_(grad, alpha=-lr)


KINDS = {"adam": Adam, "adamw": AdamW, "sgd": SGD}
