"""A bridge from neurogym environments to a growsim trial suite (the extra growsim[neurogym]).

`NeurogymSuite` makes one task of each neurogym environment id, trained on neurogym's own
trials: its observations (``env.ob``), its labels (``env.gt``) and its time step (``env.dt``).

Conventions:
    - Layout of one time step, ``w`` the widest observation and ``E`` the number of envs::

          input,  n_input = w (+ E when E > 1)
              [0, w_e)      env e's observation; columns [w_e, w) stay 0 for a narrower env
              [w, w + E)    rule one-hot of the env's index, on for the whole trial (as
                            neurogym's ``ScheduleEnvs(env_input=True)`` does); absent for one env
          output, n_output = the largest ``action_space.n``: one unit per action

    - Trials of a batch have their own lengths; each is padded at the START with zeros,
      so that every trial ends at the batch's last step, where growsim scores it.
    - ``target_class`` is neurogym's ground truth (0 in the padding); ``y`` is its one-hot
      everywhere (the squared-error target for sigmoid outputs); ``c_mask`` is 1 inside a
      trial and 0 in its padding.
    - A batch is drawn from the ``rng`` it is given only: the env's own random state is
      seeded from it, and numpy's global random state is set from it for the batch and
      restored afterwards, so an env that draws from the global state is still
      reproducible and growsim's other streams do not move.

Only numpy is imported here; neurogym is imported when a suite is made.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np

from growsim.tasks.base import TrialBatch, TrialSuite, normalised_probs

__all__ = ["NeurogymSuite"]

INSTALL_HINT = 'pip install "growsim[neurogym]"'


def _import_neurogym():
    try:
        import neurogym
    except ImportError as e:
        raise ImportError(f"the neurogym task suite needs neurogym; install it with: {INSTALL_HINT}") from e
    return neurogym


def _check_known(env_id: str) -> None:
    """ValueError naming `env_id` and the closest registered ids, if it is not registered."""
    import gymnasium  # neurogym's dependency; importing neurogym registers its envs here

    known = list(gymnasium.envs.registry)
    if env_id in known:
        return
    lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(env_id.lower(), list(lower), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(lower[c]) for c in close)}?" if close else ""
    raise ValueError(
        f"neurogym does not know the environment {env_id!r}{hint} "
        "(neurogym.utils.info.all_envs() lists them)"
    )


def _make_env(neurogym, env_id: str, kwargs: Mapping[str, Any]):
    _check_known(env_id)
    try:
        with warnings.catch_warnings():
            # gymnasium warns that neurogym's envs declare no render modes; nothing to act on.
            warnings.filterwarnings("ignore", message=".*render_modes.*")
            return neurogym.make(env_id, **kwargs)
    except TypeError as e:
        raise ValueError(f"neurogym could not make {env_id!r} with kwargs {dict(kwargs)}: {e}") from e


def _attr(env, name: str):
    """`name` from the outermost wrapper (or the env) that has it: new_trial, ob, gt, seed."""
    try:
        return env.get_wrapper_attr(name)
    except AttributeError:
        return None


def _n_actions(env_id: str, env) -> int:
    space = env.action_space
    if not hasattr(space, "n"):
        raise ValueError(
            f"{env_id!r} has the action space {space}; the bridge needs a discrete one "
            "(growsim scores the argmax of the outputs), so pick an env with Discrete actions"
        )
    return int(space.n)


def _ob_width(env_id: str, env) -> int:
    shape = env.observation_space.shape
    if shape is None or len(shape) != 1:
        raise ValueError(f"{env_id!r} has observations of shape {shape}; the bridge needs flat (n,) ones")
    return int(shape[0])


def _check_trial_api(env_id: str, env) -> None:
    if not callable(_attr(env, "new_trial")) or not callable(_attr(env, "seed")):
        raise ValueError(f"{env_id!r} is not a neurogym trial env (no new_trial or seed); pick a TrialEnv")


def _common_dt(envs: Mapping[str, Any]) -> float:
    dts = {env_id: float(env.unwrapped.dt) for env_id, env in envs.items()}
    if len(set(dts.values())) != 1:
        listing = ", ".join(f"{k}: {v:g} ms" for k, v in dts.items())
        raise ValueError(f"the envs' time steps differ ({listing}); give them one dt in kwargs, e.g. kwargs: {{dt: 100}}")
    return next(iter(dts.values()))


def _seed_env(env, seed: int) -> None:
    """Seed the env's random state: ``seed`` (TrialEnv.seed reseeds env.rng, the action
    space and any seedable timing sampler such as TruncExp)."""
    _attr(env, "seed")(seed)
    inner = env.unwrapped
    # Some envs (AnnubesEnv) draw from a private Generator that seed() leaves alone.
    if isinstance(getattr(inner, "_rng", None), np.random.Generator):
        inner._rng = np.random.default_rng(seed)


def _scalar_info(trials: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """The entries every trial dict has as a real number (bools too), as (B,) arrays."""
    if not trials or any(not isinstance(t, Mapping) for t in trials):
        return {}
    keys = set(trials[0]).intersection(*trials[1:])
    info = {}
    for k in sorted(keys, key=str):
        values = [t[k] for t in trials]
        if all(isinstance(v, Number | np.bool_) and not isinstance(v, complex) for v in values):
            info[str(k)] = np.asarray(values)
    return info


class NeurogymSuite(TrialSuite):
    """neurogym environments as a growsim trial suite: one task per env id.

    Args:
        envs: neurogym environment ids (as ``neurogym.make`` takes them), no repeats; the
            task names are the ids as given.
        kwargs: keyword arguments for every ``neurogym.make`` (dt, timing, ...).
        task_probs: relative probability of each env (default uniform).
        max_steps: the longest trial accepted, in steps; a longer one is a ValueError.

    `score` is TrialSuite's: a trial is right when the largest output at its last step is
    the ground-truth action there. This is the convention of neurogym's supervised
    examples; it differs from neurogym's reward, which judges the first non-fixation
    action of the trial.
    """

    def __init__(
        self,
        envs: Sequence[str],
        *,
        kwargs: Mapping[str, Any] | None = None,
        task_probs: Sequence[float] | None = None,
        max_steps: int = 2000,
    ):
        neurogym = _import_neurogym()
        ids = [envs] if isinstance(envs, str) else list(envs)
        if not ids:
            raise ValueError("give at least one neurogym environment id in envs")
        repeated = sorted({e for e in ids if ids.count(e) > 1})
        if repeated:
            raise ValueError(f"envs lists {', '.join(map(repr, repeated))} more than once; give each id once")
        self.max_steps = int(max_steps)
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.envs = {env_id: _make_env(neurogym, env_id, kwargs or {}) for env_id in ids}
        for env_id, env in self.envs.items():
            _check_trial_api(env_id, env)
        self.tasks = tuple(ids)
        self.dt_ms = _common_dt(self.envs)
        self.n_actions = {k: _n_actions(k, env) for k, env in self.envs.items()}
        self.ob_widths = {k: _ob_width(k, env) for k, env in self.envs.items()}
        self.n_output = max(self.n_actions.values())
        self.rule_start = max(self.ob_widths.values())
        self.n_input = self.rule_start + (len(ids) if len(ids) > 1 else 0)
        self.task_probs = normalised_probs(task_probs, len(ids))

    def longest_trial_steps(self) -> int:
        return self.max_steps  # a longer trial is refused when it is made

    def make_batch(self, rng: np.random.Generator, batch_size: int, task: str) -> TrialBatch:
        """`batch_size` trials of env `task`, from `rng` only (one ``rng.integers`` call)."""
        env_seed, global_seed = (int(s) for s in rng.integers(2**31, size=2))
        obs, gts, trials = self._draw_trials(task, env_seed, global_seed, int(batch_size))
        lengths = np.array([len(g) for g in gts], dtype=np.int64)
        longest = int(lengths.max())
        if longest > self.max_steps:
            raise ValueError(
                f"{task!r} made a trial of {longest} steps, more than max_steps = {self.max_steps}; "
                "raise max_steps, or shorten the env's timing or raise its dt in kwargs"
            )
        info = {"lengths": lengths, **_scalar_info(trials)}
        return TrialBatch.from_dense(task, **self._arrays(task, obs, gts, lengths), info=info)

    def _draw_trials(self, task: str, env_seed: int, global_seed: int, n: int):
        """n trials of `task`: their observations, ground truths and trial dicts; numpy's
        global random state is set from `global_seed` meanwhile and restored after."""
        env = self.envs[task]
        saved = np.random.get_state()
        try:
            np.random.seed(global_seed)
            _seed_env(env, env_seed)
            new_trial = _attr(env, "new_trial")
            obs, gts, trials = [], [], []
            for _ in range(n):
                trials.append(new_trial())
                ob, gt = self._trial_arrays(task, env)
                obs.append(ob)
                gts.append(gt)
        finally:
            np.random.set_state(saved)
        return obs, gts, trials

    def _arrays(self, task: str, obs: list[np.ndarray], gts: list[np.ndarray], lengths: np.ndarray) -> dict[str, np.ndarray]:
        """The dense (T, B, ...) arrays, every trial padded on the left to T = the longest."""
        t_max, b = int(lengths.max()), len(obs)
        x = np.zeros((t_max, b, self.n_input), np.float32)
        target = np.zeros((t_max, b), np.int64)
        inside = np.zeros((t_max, b), np.float32)
        rule = self.rule_start + self.tasks.index(task) if self.n_input > self.rule_start else None
        for i, (ob, gt, n) in enumerate(zip(obs, gts, lengths)):
            start = t_max - int(n)
            x[start:, i, : ob.shape[1]] = ob
            if rule is not None:
                x[start:, i, rule] = 1.0
            target[start:, i] = gt
            inside[start:, i] = 1.0
        y = np.eye(self.n_output, dtype=np.float32)[target]
        c_mask = np.repeat(inside[:, :, None], self.n_output, axis=2)
        return {"x": x, "y": y, "c_mask": c_mask, "target_class": target}

    def _trial_arrays(self, task: str, env) -> tuple[np.ndarray, np.ndarray]:
        """The current trial's ob (T, n_ob) float32 and gt (T,) int64, checked."""
        ob, gt = _attr(env, "ob"), _attr(env, "gt")
        if ob is None or gt is None:
            raise ValueError(f"{task!r} builds no ob or gt for its trials (a reward-only env); pick a supervised env")
        ob, gt = np.asarray(ob, dtype=np.float32), np.asarray(gt)
        width = self.ob_widths[task]
        if ob.shape[1:] != (width,) or gt.shape != ob.shape[:1] or ob.shape[0] < 1:
            raise ValueError(
                f"{task!r} gave a trial with ob {ob.shape} and gt {gt.shape}; the bridge needs "
                f"ob (T, {width}) and gt (T,) with T >= 1"
            )
        if gt.min() < 0 or gt.max() >= self.n_actions[task]:
            raise ValueError(f"{task!r} gave ground truths outside its {self.n_actions[task]} actions")
        return ob, gt.astype(np.int64)
