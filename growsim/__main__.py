import sys
from growsim.cli import main

sys.exit(main())
