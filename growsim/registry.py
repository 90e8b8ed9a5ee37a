"""Registries of extension points, and the plugins that join them.

Every extension point (wiring rules, growth operations, ...) is a `Registry`: names mapped
to a function and the pydantic model of its parameters. Built-ins register on import of
their module; installed packages through the registry's entry-point group, loaded only
when a name is looked up or listed, never on import; a spec's plugins (files or modules,
`load_plugin_file`, `load_plugin_module`) may register into any registry. Registering one
name twice in a registry is an error, and every entry records where it came from.

This module is a leaf: pydantic and the standard library only.
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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    """An extension without parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryError(Exception):
    """An extension could not be registered, found or loaded."""


class UnknownNameError(RegistryError):
    def __init__(self, kind: str, name: str, known: list[str]):
        self.name = name
        self.known = known
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}{hint} (available: {', '.join(sorted(known))})")


class PluginLoadError(RegistryError):
    pass


@dataclass(frozen=True)
class Entry:
    """One registered extension: its function, the model of its parameters, its origin."""

    name: str
    func: Callable[..., Any]
    params: type[BaseModel]
    origin: str  # "built-in", "file …", "module …", "entry point …"
    meta: Mapping[str, Any] = field(default_factory=dict)  # what the registry's kind adds

    @property
    def summary(self) -> str:
        doc = (self.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar("growsim_plugin_origin", default=None)
_registries: list[Registry] = []


class Registry:
    """Names of one kind of extension. `builtins`: the module whose import registers the
    built-ins; `reserved`: parameter names the spec uses itself (a rule's `rule`)."""

    def __init__(self, kind: str, group: str, builtins: str, *, reserved: tuple[str, ...] = ()):
        self.kind = kind
        self.group = group
        self.builtins = builtins
        self.reserved = reserved
        self.entries: dict[str, Entry] = {}
        self.entry_points_loaded = False
        _registries.append(self)

    def register(self, name: str, params: type[BaseModel], meta: Mapping[str, Any] | None = None):
        """A decorator that registers a function under `name` and returns it unchanged."""
        if not isinstance(name, str) or not name.isidentifier():
            raise RegistryError(f"{self.kind} name {name!r} must be an identifier (letters, digits, _)")
        if not (isinstance(params, type) and issubclass(params, BaseModel)):
            raise RegistryError(f"{self.kind} {name!r}: params must be a pydantic model class")
        for word in self.reserved:
            if word in params.model_fields:
                raise RegistryError(f"{self.kind} {name!r}: a parameter may not be called {word!r}")

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            origin = _origin.get() or f"module {func.__module__}"
            if func.__module__ == self.builtins:
                origin = "built-in"
            if name in self.entries:
                raise RegistryError(
                    f"{self.kind} {name!r} is registered twice: by {self.entries[name].origin} and by {origin}"
                )
            self.entries[name] = Entry(name=name, func=func, params=params, origin=origin, meta=dict(meta or {}))
            return func

        return register

    def _ensure_builtins(self) -> None:
        importlib.import_module(self.builtins)

    def _ensure_entry_points(self) -> None:
        if self.entry_points_loaded:
            return
        self.entry_points_loaded = True
        for ep in importlib.metadata.entry_points(group=self.group):
            dist = getattr(ep, "dist", None)
            where = f"{dist.name} {dist.version}" if dist is not None else ep.value
            with _registering_as(f"entry point {ep.name} ({where})"):
                try:
                    ep.load()
                except RegistryError:
                    raise
                except Exception as exc:  # a broken plugin must not look like a growsim bug
                    raise PluginLoadError(
                        f"entry point {ep.name!r} ({ep.value}) of group {self.group} failed to load: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc

    def available(self) -> dict[str, Entry]:
        """Every entry: built-ins, installed entry points and plugins loaded so far."""
        self._ensure_builtins()
        self._ensure_entry_points()
        return dict(sorted(self.entries.items()))

    def get(self, name: str) -> Entry:
        self._ensure_builtins()
        if name not in self.entries:
            self._ensure_entry_points()
        if name not in self.entries:
            raise UnknownNameError(self.kind, name, list(self.entries))
        return self.entries[name]

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and interactive sessions)."""
        self.entries.pop(name, None)
        for path, names in list(_loaded_files.items()):
            if name in names:
                del _loaded_files[path]


@contextlib.contextmanager
def _registering_as(origin: str) -> Iterator[None]:
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


# --- plugins ------------------------------------------------------------------------------

_loaded_files: dict[Path, list[str]] = {}


def _snapshot() -> dict[int, set[str]]:
    return {id(r): set(r.entries) for r in _registries}


def _added(before: dict[int, set[str]]) -> list[str]:
    out: set[str] = set()
    for r in _registries:
        out |= set(r.entries) - before.get(id(r), set())
    return sorted(out)


def _forget(before: dict[int, set[str]]) -> None:
    for r in _registries:
        for name in set(r.entries) - before.get(id(r), set()):
            del r.entries[name]


def _ensure_all_builtins() -> None:
    for r in list(_registries):
        r._ensure_builtins()


def load_plugin_file(path: str | Path) -> list[str]:
    """Execute a plugin file once; return the names it registered (in any registry)."""
    if "\0" in str(path):
        raise PluginLoadError(f"plugin file name {str(path)!r} contains a NUL character")
    path = Path(path).resolve()
    if path in _loaded_files:
        return _loaded_files[path]
    if not path.is_file():
        raise PluginLoadError(f"plugin file {path} does not exist")
    _ensure_all_builtins()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    module_name = f"growsim_plugin_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"plugin file {path} cannot be imported (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    before = _snapshot()
    with _registering_as(f"file {path}"):
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except RegistryError:
            sys.modules.pop(module_name, None)
            raise
        except (Exception, SystemExit) as exc:  # a plugin's sys.exit() must not end growsim silently
            sys.modules.pop(module_name, None)
            _forget(before)
            raise PluginLoadError(_describe_failure(f"plugin file {path}", exc, path)) from exc
    added = _added(before)
    _loaded_files[path] = added
    return added


def load_plugin_module(name: str) -> list[str]:
    """Import a module by name (it registers extensions as a side effect); return their names."""
    _ensure_all_builtins()
    if name in sys.modules:
        return sorted(e.name for r in _registries for e in r.entries.values() if e.func.__module__ == name)
    before = _snapshot()
    with _registering_as(f"module {name}"):
        try:
            importlib.import_module(name)
        except RegistryError:
            raise
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                raise PluginLoadError(
                    f"plugin module {name!r} is not installed: no module of that name is on the module path "
                    "(a plugin file is named by a path ending in .py, relative to the spec)"
                ) from exc
            raise PluginLoadError(_describe_failure(f"plugin module {name!r}", exc, name)) from exc
        except (Exception, SystemExit) as exc:
            raise PluginLoadError(_describe_failure(f"plugin module {name!r}", exc, name)) from exc
    return _added(before)


def _describe_failure(what: str, exc: BaseException, origin: str | Path) -> str:
    """Why a plugin failed to import, with the line of the plugin's own code that failed:
    the last frame in `origin` (the plugin's file, or the module of that name and its
    submodules), never a line inside importlib or a library the plugin called."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if isinstance(origin, Path) and Path(frame.f_code.co_filename) == origin:
            where = f" (line {tb.tb_lineno})"
        elif isinstance(origin, str):
            module = frame.f_globals.get("__name__", "")
            if module == origin:
                where = f" (line {tb.tb_lineno})"
            elif module.startswith(origin + "."):
                where = f" (line {tb.tb_lineno} of {module})"
        tb = tb.tb_next
    return f"{what} failed to import{where}: {type(exc).__name__}: {exc}"
