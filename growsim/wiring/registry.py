"""The registry of wiring rules: built-ins, plugin files, modules and entry points.

A rule is a function `rule(request, params) -> pairs` registered with
`@wiring_rule("name", params=ParamsModel)`. The decorator returns the function
unchanged. Installed packages add rules through the entry-point group
`growsim.wiring`; those are loaded only when a rule is looked up or listed, never on
import. Registering one name twice is an error.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

ENTRY_POINT_GROUP = "growsim.wiring"


class NoParams(BaseModel):
    """A rule without parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class WiringRequest:
    """What a rule sees when it is asked to add synapses.

    All arrays index synapses as (post, pre): entry [i, j] is the synapse from neuron j
    onto neuron i.
    """

    distances: np.ndarray  # (N, N) float64, distance between post i and pre j
    mask: np.ndarray  # (N, N) bool, synapses that exist now
    candidates: np.ndarray  # (N, N) bool, absent synapses that may be added
    n: int  # how many to add; never more than candidates.sum()
    rng: np.random.Generator  # the run's wiring stream: draw only from it
    weights: np.ndarray  # (N, N) float64, current recurrent weights (a copy)


RuleFunction = Callable[[WiringRequest, Any], np.ndarray]


@dataclass(frozen=True)
class RuleInfo:
    name: str
    func: RuleFunction
    params: type[BaseModel]
    origin: str  # "built-in", "file …", "module …", "entry point …"

    @property
    def summary(self) -> str:
        doc = (self.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


class RegistryError(Exception):
    """A rule could not be registered, found or loaded."""


class UnknownRuleError(RegistryError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown wiring rule {name!r}{hint} (available: {', '.join(sorted(known))})")


class PluginLoadError(RegistryError):
    pass


_rules: dict[str, RuleInfo] = {}
_loaded_files: dict[Path, list[str]] = {}
_entry_points_loaded = False
_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar("growsim_rule_origin", default=None)


def wiring_rule(name: str, *, params: type[BaseModel] = NoParams) -> Callable[[RuleFunction], RuleFunction]:
    """Register `func` as the wiring rule `name` whose parameters `params` validates."""
    if not name.isidentifier():
        raise RegistryError(f"wiring rule name {name!r} must be an identifier (letters, digits, _)")
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise RegistryError(f"wiring rule {name!r}: params must be a pydantic model class")
    if "rule" in params.model_fields:
        raise RegistryError(f"wiring rule {name!r}: a parameter may not be called 'rule'")

    def register(func: RuleFunction) -> RuleFunction:
        origin = _origin.get() or f"module {func.__module__}"
        if func.__module__ == "growsim.wiring.rules":
            origin = "built-in"
        if name in _rules:
            raise RegistryError(
                f"wiring rule {name!r} is registered twice: by {_rules[name].origin} and by {origin}"
            )
        _rules[name] = RuleInfo(name=name, func=func, params=params, origin=origin)
        return func

    return register


@contextlib.contextmanager
def _registering_as(origin: str) -> Iterator[None]:
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def _ensure_builtins() -> None:
    import growsim.wiring.rules  # noqa: F401  (registers the built-ins)


def _ensure_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        where = f"{dist.name} {dist.version}" if dist is not None else ep.value
        with _registering_as(f"entry point {ep.name} ({where})"):
            try:
                ep.load()
            except RegistryError:
                raise
            except Exception as exc:  # a broken plugin must not look like a growsim bug
                raise PluginLoadError(
                    f"entry point {ep.name!r} ({ep.value}) of group {ENTRY_POINT_GROUP} failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc


def available_rules() -> dict[str, RuleInfo]:
    """Every rule: built-ins, installed entry points and plugins loaded so far."""
    _ensure_builtins()
    _ensure_entry_points()
    return dict(sorted(_rules.items()))


def get_rule(name: str) -> RuleInfo:
    _ensure_builtins()
    if name not in _rules:
        _ensure_entry_points()
    if name not in _rules:
        raise UnknownRuleError(name, list(_rules))
    return _rules[name]


def load_plugin_file(path: str | Path) -> list[str]:
    """Execute a plugin file once; return the names of the rules it registered."""
    if "\0" in str(path):
        raise PluginLoadError(f"plugin file name {str(path)!r} contains a NUL character")
    path = Path(path).resolve()
    if path in _loaded_files:
        return _loaded_files[path]
    if not path.is_file():
        raise PluginLoadError(f"plugin file {path} does not exist")
    _ensure_builtins()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    module_name = f"growsim_plugin_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"plugin file {path} cannot be imported (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    before = set(_rules)
    with _registering_as(f"file {path}"):
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except RegistryError:
            sys.modules.pop(module_name, None)
            raise
        except (Exception, SystemExit) as exc:  # a plugin's sys.exit() must not end growsim silently
            sys.modules.pop(module_name, None)
            for name in set(_rules) - before:
                del _rules[name]
            raise PluginLoadError(_describe_failure(f"plugin file {path}", exc)) from exc
    added = sorted(set(_rules) - before)
    _loaded_files[path] = added
    return added


def load_plugin_module(name: str) -> list[str]:
    """Import a module by name (it registers rules as a side effect); return new rule names."""
    _ensure_builtins()
    if name in sys.modules:
        return [r.name for r in _rules.values() if r.func.__module__ == name]
    before = set(_rules)
    with _registering_as(f"module {name}"):
        try:
            importlib.import_module(name)
        except RegistryError:
            raise
        except (Exception, SystemExit) as exc:
            raise PluginLoadError(_describe_failure(f"plugin module {name!r}", exc)) from exc
    return sorted(set(_rules) - before)


def _describe_failure(what: str, exc: BaseException) -> str:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        line = tb.tb_lineno
        tb = tb.tb_next
    where = f" (line {line})" if line else ""
    return f"{what} failed to import{where}: {type(exc).__name__}: {exc}"


def unregister(name: str) -> None:
    """Remove a rule (for tests and interactive sessions)."""
    _rules.pop(name, None)
    for path, names in list(_loaded_files.items()):
        if name in names:
            del _loaded_files[path]
