"""growsim: a declarative simulator of growing recurrent neural networks.

Importing the package is cheap: torch, h5py and rich are imported only by the
commands and functions that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_spec", "SpecError", "run", "resume", "RunError", "open_run", "open_runs"]


def __getattr__(name: str):
    # Lazy re-exports keep `import growsim` free of heavy imports.
    if name in ("load_spec", "SpecError"):
        from growsim import spec

        return getattr(spec, name)
    if name in ("run", "resume", "RunError"):
        from growsim import runner

        return getattr(runner, name)
    if name in ("open_run", "open_runs"):
        from growsim import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'growsim' has no attribute {name!r}")
