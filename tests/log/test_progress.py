"""Progress when the output is not a terminal: plain lines on a clock, and one at the end."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from growsim.log import progress
from growsim.log.progress import ProgressLogger

TINY = Path(__file__).parents[1] / "data" / "tiny.yaml"


class _Info:
    name, n_neurons, batches, network_kind = "tiny", 16, 1000, "leaky_rnn"


def _logger(clock):
    out = io.StringIO()
    logger = ProgressLogger(Console(file=out, force_terminal=False, width=200))
    return logger, out, clock


def test_plain_lines_on_a_clock_with_rate_metrics_and_time_left(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    logger, out, _ = _logger(now)
    logger.start(_Info())
    logger.progress(25, {"loss": 0.5})  # the rate's origin: no line yet
    now[0] += 10
    logger.progress(125, {"loss": 0.25})  # 10 s after start: still no line
    logger.log_metrics(125, {"perf_mean": 0.5, "connections": 30, "modularity_q": 0.4}, {})
    now[0] += progress.PLAIN_EVERY_S
    logger.progress(425, {"loss": 0.125})  # 400 batches in 40 s: 10 batches/s, 575 left: 58 s
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("tiny: 16 neurons, 1000 batches")
    assert len(lines) == 2
    assert lines[1] == "batch 425/1000 (42%)  10.0 batches/s  loss 0.1250  perf 0.50  syn 30  Q 0.400  58 s left"
    now[0] += 1
    logger.close("completed", None, 1000, None)  # the end always gets its line
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("batch 1000/1000 (100%)") and "left" not in last


def test_durations_read_as_people_write_them():
    assert progress._duration(42) == "42 s"
    assert progress._duration(12 * 60) == "12 min"
    assert progress._duration(3 * 3600 + 5 * 60) == "3 h 05 min"


def test_a_redirected_run_prints_plain_lines_not_a_bar(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "growsim", "run", str(TINY), "--out", str(tmp_path / "r.h5"), "--set", "log.progress=true"],
        capture_output=True, text=True, env={"OMP_NUM_THREADS": "1", "PATH": ""}, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("batch 40/40 (100%)") for line in lines), done.stderr
    assert "\r" not in done.stderr and "\x1b[" not in done.stderr  # no bar redrawn, no escape codes
