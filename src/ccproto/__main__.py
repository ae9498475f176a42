"""``python -m ccproto``: the command line."""

import sys

from ccproto.cli import main

sys.exit(main())
