"""The bench process itself never sets Django up (each server it starts has its own settings)."""

import os
import subprocess
import sys

from loadtests.harness import BASE_DIR


def test_the_bench_imports_without_any_django_setting():
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_"))
    }
    imports = "import loadtests.bench.run, loadtests.bench.ablation"
    result = subprocess.run(
        [sys.executable, "-c", imports], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
