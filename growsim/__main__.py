import sys
from pathlib import Path

# `python -m growsim` puts the working directory first on sys.path; a plugin module named
# in a spec must not resolve to a file that merely lies there.
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == Path.cwd().resolve():
    del sys.path[0]

from growsim.cli import main  # noqa: E402

sys.exit(main())
