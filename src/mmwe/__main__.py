"""``python -m mmwe ...``: the same as the ``mmwe`` command."""

import sys

from mmwe.cli import main

sys.exit(main())
