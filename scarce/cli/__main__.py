"""``python -m scarce.cli``: the ``scarce`` command."""

import sys

from scarce.cli import main

sys.exit(main())
