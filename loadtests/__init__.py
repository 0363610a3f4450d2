"""Everything that runs MediQueue from outside, by job: ``harness`` (the one place that starts
the service as production does), ``locust`` (``python -m loadtests``, ``make loadtest``),
``chaos`` (``make chaos``) and ``bench`` (``make bench``). Each job stands on the harness and
on no other job (import-linter holds that, see pyproject.toml)."""
