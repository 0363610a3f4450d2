"""``python -m loadtests.cluster``: make cluster-test (or make cluster with --serve)."""

import sys

from loadtests.cluster.run import main

sys.exit(main())
