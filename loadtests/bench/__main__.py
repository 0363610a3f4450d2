import sys

from loadtests.bench.run import main

sys.exit(main())
