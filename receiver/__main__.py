"""`python -m receiver`: the same command line as `receiver`."""

import sys

from receiver.cli import main

sys.exit(main())
