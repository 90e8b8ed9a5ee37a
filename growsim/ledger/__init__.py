"""The results ledger: small records of real runs, and the figures and statistics drawn
from them alone.

    growsim ledger add results/wu_gu/fig3 runs/wu_gu_fig3/*.h5 --protocol full
    growsim ledger build results/wu_gu/fig3

Reads run files with h5py; imports no training code. Layout of a ledger folder:
:mod:`growsim.ledger._ledger`; of a record: :mod:`growsim.ledger._record`; docs/results.md.
"""

from growsim.ledger._ledger import AddReport, Ledger, LedgerConfig, LedgerError, add, load
from growsim.ledger._record import MissingAnalysis, RecordError, check_record, make_record, run_key


def build(folder):
    """Redraw the figures and tables of the ledger at ``folder`` from its records alone."""
    from pathlib import Path

    from growsim.ledger.figures import builders

    ledger = load(folder)
    available = builders()
    if ledger.config.figure not in available:
        raise LedgerError(f"{Path(folder) / 'ledger.yaml'}: figure: {ledger.config.figure!r} is not a figure builder "
                          f"({', '.join(sorted(available))})")
    return available[ledger.config.figure](ledger, Path(folder))


__all__ = ["AddReport", "Ledger", "LedgerConfig", "LedgerError", "MissingAnalysis", "RecordError", "add", "build", "check_record", "load",
           "make_record", "run_key"]
