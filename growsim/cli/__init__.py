"""The growsim command line: thin typer commands over the public API."""

from __future__ import annotations

import re
import sys

import typer

from growsim.cli import analyze as _analyze
from growsim.cli import compare as _compare
from growsim.cli import init as _init
from growsim.cli import inspect as _inspect
from growsim.cli import ledger as _ledger
from growsim.cli import plot as _plot
from growsim.cli import plugins as _plugins
from growsim.cli import run as _run
from growsim.cli import schema as _schema
from growsim.cli import sweep as _sweep
from growsim.cli import validate as _validate
from growsim.cli.common import UserError, err_console


def _plain_types() -> None:
    """The help lists a type beside each parameter; some typer versions print ``<bool>`` beside
    a flag, which takes no value (``--quiet <bool>`` reads as if it wanted one), Python's
    ``<list[Path]>`` beside a repeatable one, ``<int range> [x>=1]`` beside a bounded number
    and ``{RUN}`` for a required argument in the usage line. Flags show no type, a repeatable
    parameter ``<path>...``, a number ``<int>`` or ``<number>`` with its bounds in words
    (``(at least 1)``) and a required argument ``RUN``, as click writes it; everything else is
    as typer draws it. Versions without this rendering are left alone."""
    core = getattr(typer, "core", None)
    for name in ("TyperOption", "TyperArgument"):
        cls = getattr(core, name, None)
        drawn = getattr(cls, "display_type_rich", None)
        if drawn is None or getattr(drawn, "_growsim_plain", False):
            continue

        def display_type_rich(self, ctx, _drawn=drawn):
            if getattr(self, "is_flag", False) and self.metavar is None:
                return None
            text = _drawn(self, ctx)
            if not isinstance(text, str):
                return text
            match = re.fullmatch(r"<list\[(\w+)\]>", text)
            if match:
                return f"<{match.group(1).lower()}>..."
            number = re.fullmatch(r"<(int|float)(?: range)?>", text)
            if number:
                bounds = _bounds(getattr(self, "min", None), getattr(self, "max", None))
                return ("<int>" if number.group(1) == "int" else "<number>") + (f" ({bounds})" if bounds else "")
            return text

        display_type_rich._growsim_plain = True
        cls.display_type_rich = display_type_rich
        if hasattr(cls, "_get_number_range_help_str"):  # the bounds are in the type's words above
            cls._get_number_range_help_str = lambda self: None
    usage = getattr(getattr(core, "TyperArgument", None), "_usage_display_name", None)
    if usage is not None and not getattr(usage, "_growsim_plain", False):

        def _usage_display_name(self, _usage=usage):
            text = _usage(self)
            return re.sub(r"^\{(.*)\}", r"\1", text) if self.required else text

        _usage_display_name._growsim_plain = True
        core.TyperArgument._usage_display_name = _usage_display_name


def _bounds(low, high) -> str:
    """A number's bounds in words: 'at least 1', 'at most 5', '30 to 1200', or ''."""
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if low is not None:
        return f"at least {low:g}"
    if high is not None:
        return f"at most {high:g}"
    return ""


_plain_types()

app = typer.Typer(
    name="growsim",
    help="Simulate recurrent networks that grow while they learn, from a YAML spec.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from growsim._source import git_commit, source_digest

        try:
            number = version("growsim")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "(not installed)"
        commit = git_commit()
        where = f"commit {commit}" if commit else "no git checkout"
        typer.echo(f"growsim {number} ({where}; source sha256 {source_digest()[:12]})")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print growsim's version and exit."),
) -> None:
    """Simulate recurrent networks that grow while they learn, from a YAML spec."""


app.command("init", epilog=_init.EXAMPLES)(_init.init)
app.command("run", epilog=_run.EXAMPLES)(_run.run)
app.command("validate", epilog=_validate.EXAMPLES)(_validate.validate)
app.command("schema", epilog=_schema.EXAMPLES)(_schema.schema)
app.command("plugins", epilog=_plugins.EXAMPLES)(_plugins.plugins)
app.command("inspect", epilog=_inspect.EXAMPLES)(_inspect.inspect)
app.command("plot", epilog=_plot.EXAMPLES)(_plot.plot)
app.command("compare", epilog=_compare.EXAMPLES)(_compare.compare)
app.command("analyze", epilog=_analyze.EXAMPLES)(_analyze.analyze)
app.command("sweep", epilog=_sweep.EXAMPLES)(_sweep.sweep)
app.add_typer(_ledger.app, name="ledger")


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear message and exit with code 2, no traceback."""
    from growsim.spec import SpecError

    try:
        code = app(args=argv, standalone_mode=False)
    except SpecError as exc:
        err_console.print(str(exc), markup=False, highlight=False)
        return 2
    except UserError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        return exc.code
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except Exception as exc:
        # Usage errors of the command-line parser (typer may vendor its own click).
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show(file=sys.stderr)
            return exc.exit_code
        raise
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
