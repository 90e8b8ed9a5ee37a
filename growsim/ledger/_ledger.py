"""A ledger folder: ``ledger.yaml`` (which figure, which protocols) and ``records/``.

    results/wu_gu/fig3/
      ledger.yaml                 # figure: wu_gu_fig3; protocols and what each requires
      records/<protocol>/*.json   # one record per counted run (growsim ledger add)
      README.md                   # commands, machine, wall time, differences from the paper
      summary.md, summary.csv     # statistics (growsim ledger build)
      figures/*.png               # the figures (growsim ledger build)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from growsim.ledger._record import (
    MissingAnalysis,
    RecordError,
    check_record,
    make_record,
    record_file_name,
    record_key,
    with_analyses,
)
from growsim.spec.yaml_lines import YamlSyntaxError, load_with_lines

CONFIG = "ledger.yaml"
RECORDS = "records"
_PROTOCOL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class LedgerError(ValueError):
    """A ledger that cannot be read or added to; the message says where and why."""


class ProtocolConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(description="What the protocol is, and how it differs from the paper's.")
    require: dict[str, Any] = Field(
        default_factory=dict,
        description="Spec fields (dotted, as in --set) every run of the protocol must have, with their values.",
    )
    require_if_present: dict[str, Any] = Field(
        default_factory=dict,
        description="The same for fields that some conditions lack (growth.events[0].every of add_conn only).",
    )


class LedgerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    figure: str = Field(description="The figure builder that draws this ledger (growsim ledger figures).")
    protocols: dict[str, ProtocolConfig] = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict, description="Options of the figure builder.")


_MISSING = object()


def spec_value(spec: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (``growth.events[0].every``) in a resolved spec, or _MISSING."""
    value: Any = spec
    for part in dotted.split("."):
        m = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", part)
        if m is None:
            return _MISSING
        if not isinstance(value, dict) or m.group(1) not in value:
            return _MISSING
        value = value[m.group(1)]
        for index in re.findall(r"\[(\d+)\]", m.group(2)):
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
    return value


@dataclass
class Ledger:
    folder: Path
    config: LedgerConfig
    records: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def by_protocol(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in self.config.protocols}
        for record in self.records:
            out[record["protocol"]].append(record)
        return out


def read_config(folder: Path) -> LedgerConfig:
    path = folder / CONFIG
    if not path.is_file():
        raise LedgerError(f"{folder}: no {CONFIG} here; a ledger folder names its figure and protocols in it")
    try:
        data, _ = load_with_lines(path.read_text())  # the spec's bounded reader: size, aliases, depth
    except UnicodeDecodeError as exc:
        raise LedgerError(f"{path}: not valid YAML ({exc})") from None
    except YamlSyntaxError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        raise LedgerError(f"{path}: {exc}{where}") from None
    try:
        config = LedgerConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise LedgerError(f"{path}: {problems}") from None
    for name in config.protocols:
        if not re.fullmatch(_PROTOCOL_NAME, name):
            raise LedgerError(f"{path}: protocols.{name}: a protocol name is letters, digits, '_', '-' and '.'")
    return config


def load(folder: str | Path) -> Ledger:
    """Every record of the ledger in ``folder``, checked: written by growsim, unchanged,
    under a protocol of ledger.yaml, and no run counted twice."""
    folder = Path(folder)
    config = read_config(folder)
    ledger = Ledger(folder, config)
    seen: dict[str, Path] = {}
    for path in sorted((folder / RECORDS).rglob("*.json")):
        where = str(path.relative_to(folder))
        try:
            record = check_record(json.loads(path.read_text()), where)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LedgerError(f"{folder}: {where}: not valid JSON ({exc})") from None
        except RecordError as exc:
            raise LedgerError(f"{folder}: {exc}") from None
        protocol = record["protocol"]
        if protocol not in config.protocols:
            raise LedgerError(f"{folder}: {where}: protocol {protocol!r} is not in {CONFIG} ({', '.join(config.protocols)})")
        if path.parent.name != protocol:
            raise LedgerError(f"{folder}: {where}: a record of protocol {protocol!r} belongs in {RECORDS}/{protocol}/")
        key = record_key(record)
        if key in seen:
            raise LedgerError(f"{folder}: the same run is counted twice: {where} and {seen[key].relative_to(folder)} "
                              f"(run {record['run']['name']}, seed {record['run']['seed']})")
        seen[key] = path
        ledger.records.append(record)
        ledger.files.append(path)
    return ledger


def _check_protocol(record: dict[str, Any], protocol: str, config: ProtocolConfig, run_path: Path) -> None:
    spec = record["spec"]
    wrong = []
    for dotted, expected in config.require.items():
        value = spec_value(spec, dotted)
        if value is _MISSING or value != expected:
            wrong.append(f"{dotted} is {'absent' if value is _MISSING else repr(value)}, the protocol requires {expected!r}")
    for dotted, expected in config.require_if_present.items():
        value = spec_value(spec, dotted)
        if value is not _MISSING and value != expected:
            wrong.append(f"{dotted} is {value!r}, the protocol requires {expected!r}")
    if wrong:
        raise LedgerError(f"{run_path}: not a run of protocol {protocol!r}: {'; '.join(wrong)}")


@dataclass
class AddReport:
    added: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _counted_elsewhere(path: Path, protocol: str) -> dict[str, Any]:
    """The record at ``path`` in another ledger, as growsim wrote it, counted there under
    the same protocol name (its digest covers the protocol, so it is not relabelled)."""
    try:
        record = check_record(json.loads(path.read_text()), str(path))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise RecordError(f"{path}: not a growsim record ({exc})") from None
    if record["protocol"] != protocol:
        raise RecordError(f"{path}: counted under protocol {record['protocol']!r} there, not {protocol!r}")
    return record


def _with_needed_analyses(record: dict[str, Any], run_path: Path, config: LedgerConfig) -> dict[str, Any]:
    """The record with what the ledger's figure needs of the run's stored analyses (the
    record unchanged for a figure that needs none). A record counted in another ledger must
    already carry them: the run file it came from may be gone."""
    from growsim.ledger.figures import record_analyses

    needs = record_analyses(config.figure)
    if needs is None:
        return record
    if run_path.suffix == ".json":
        missing = [n for n in needs.names if n not in record.get("analyses", {})]
        if missing:
            raise RecordError(f"{run_path}: figure {config.figure} needs the analyses {', '.join(missing)} of each run, "
                              "which this record does not carry; count the run from its run file")
        return record
    return with_analyses(record, needs.extract(run_path, dict(config.options)))


def add(folder: str | Path, runs: list[Path], protocol: str, *, skip_counted: bool = False,
        skip_unfinished: bool = False, skip_unanalysed: bool = False) -> AddReport:
    """Record each run file of ``runs`` under ``protocol`` in the ledger at ``folder``.

    A run already in the ledger is an error, unless ``skip_counted`` and it is the very same
    file (same run key and same file hash): then it is skipped, so adding a sweep's folder
    again adds only its new runs. The same run from another file (the same spec and seed run
    again) is always an error. Runs that did not complete are errors, or skipped with
    ``skip_unfinished``. A figure drawn from stored analyses (Hamidi et al.'s Figs. 3 to 5)
    takes them from each run file's /analysis: a run without them is an error naming the
    `growsim analyze` command that stores them, or skipped with ``skip_unanalysed``.
    Nothing is written unless every run can be recorded.
    """
    folder = Path(folder)
    ledger = load(folder)
    if protocol not in ledger.config.protocols:
        raise LedgerError(f"--protocol {protocol}: not a protocol of {folder / CONFIG} ({', '.join(ledger.config.protocols)})")
    counted = {record_key(r): (r, p) for r, p in zip(ledger.records, ledger.files)}
    report = AddReport()
    new: dict[str, tuple[dict[str, Any], Path]] = {}
    for run_path in runs:
        try:
            record = _counted_elsewhere(run_path, protocol) if run_path.suffix == ".json" else make_record(run_path, protocol)
        except RecordError as exc:
            if skip_unfinished and "only completed runs count" in str(exc):
                report.skipped.append((run_path, "not completed"))
                continue
            raise LedgerError(str(exc)) from None
        key = record_key(record)
        if key in counted:
            old, old_path = counted[key]
            if skip_counted and old["run"]["file_sha256"] == record["run"]["file_sha256"]:
                report.skipped.append((run_path, "already counted"))
                continue
            raise LedgerError(f"{run_path}: this run (spec and seed) is already counted in {old_path.relative_to(folder)}"
                              + ("" if old["run"]["file_sha256"] == record["run"]["file_sha256"]
                                 else " from another file: the same spec and seed run twice is one run"))
        if key in new:
            raise LedgerError(f"{run_path}: the same run as {new[key][1]} (spec and seed): a run counts once")
        _check_protocol(record, protocol, ledger.config.protocols[protocol], run_path)
        try:
            record = _with_needed_analyses(record, run_path, ledger.config)
        except MissingAnalysis as exc:
            if skip_unanalysed:
                report.skipped.append((run_path, f"not analysed ({exc.command})"))
                continue
            raise LedgerError(str(exc)) from None
        except RecordError as exc:
            raise LedgerError(str(exc)) from None
        new[key] = (record, run_path)
    out = folder / RECORDS / protocol
    for record, run_path in new.values():
        out.mkdir(parents=True, exist_ok=True)
        target = out / record_file_name(record)
        target.write_text(json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
        report.added.append(target)
    return report
