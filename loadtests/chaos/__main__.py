"""``python -m loadtests.chaos``: faults during flash crowds (``make chaos``)."""

import sys

from loadtests.chaos.run import main

sys.exit(main())
