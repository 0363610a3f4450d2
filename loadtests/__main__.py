"""``python -m loadtests``: the load-test runner (``make loadtest``)."""

import sys

from loadtests.locust.runner import main

sys.exit(main())
