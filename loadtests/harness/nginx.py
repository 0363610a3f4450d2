"""nginx in front of MediQueue for local runs, with the deployment's own configuration.

``deploy/nginx/mediqueue.conf.template`` is rendered with the production values of
``deploy/nginx/mediqueue.env`` (a run may override some, e.g. a test shortens the read
timeouts) and the given upstreams, placed beside ``deploy/nginx/nginx.conf`` in a throwaway
directory, and served by Debian's nginx in the foreground. Nothing of a system nginx is used
or touched: not its configuration, its port, its pid file nor its logs.

    python -m loadtests.harness.nginx --upstream 127.0.0.1:8000 --port 8080   # before `make run`
    python -m loadtests.harness.nginx --upstream app1:8000 --upstream app2:8000 --render   # print
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from loadtests.harness.environment import BASE_DIR
from loadtests.harness.processes import stop, wait_until_answering

DEPLOY_DIR = BASE_DIR / "deploy" / "nginx"
TEMPLATE = DEPLOY_DIR / "mediqueue.conf.template"
PRODUCTION_VALUES = DEPLOY_DIR / "mediqueue.env"
MAIN_CONFIG = DEPLOY_DIR / "nginx.conf"
# The placeholders the official nginx image's envsubst fills in, and only those.
PLACEHOLDER = re.compile(r"\$\{(MEDIQUEUE_NGINX_[A-Z0-9_]+)\}")


def production_values() -> dict[str, str]:
    """The template's production values, from the env file docker-compose also reads."""
    values = {}
    for line in PRODUCTION_VALUES.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def render(upstreams: list[str], **settings: str) -> str:
    """mediqueue.conf for ``upstreams`` ("host:port"), production values unless ``settings``
    override them by lower-case name (``client_header_timeout="3s"``)."""
    if not upstreams:
        raise ValueError("nginx needs at least one upstream")
    values = production_values()
    for name, value in settings.items():
        key = f"MEDIQUEUE_NGINX_{name.upper()}"
        if key not in values:
            raise ValueError(f"{name} is not a setting of {TEMPLATE.name}: {sorted(values)}")
        values[key] = str(value)
    values["MEDIQUEUE_NGINX_UPSTREAM_SERVERS"] = "\n    ".join(f"server {u};" for u in upstreams)

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{TEMPLATE.name} uses {match.group(1)}, which has no value")
        return values[match.group(1)]

    return PLACEHOLDER.sub(fill, TEMPLATE.read_text())


def nginx_binary() -> str:
    # /usr/sbin is not on a normal user's PATH on Debian.
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if not found:
        raise RuntimeError("nginx is not installed: `make nginx` installs Debian's package")
    return found


@contextmanager
def nginx_proxy(
    upstreams: list[str],
    *,
    listen_port: int,
    log_dir: Path | None = None,
    **settings: str,
) -> Iterator[str]:
    """Yield the base URL of an nginx on 127.0.0.1:``listen_port`` proxying to ``upstreams``;
    stop it afterwards (SIGQUIT, then SIGKILL to its process group).

    Its access and error logs go to ``log_dir`` when given (kept), else into the throwaway
    directory. ``settings`` override production values, as for :func:`render`."""
    with tempfile.TemporaryDirectory(prefix="mediqueue-nginx-") as workdir:
        prefix = Path(workdir)
        # Workers started by root run as nobody and must reach their temporary files.
        prefix.chmod(0o755)
        (prefix / "temp").mkdir()
        logs = log_dir or prefix / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        error_log = logs / "nginx-error.log"
        shutil.copy(MAIN_CONFIG, prefix / "nginx.conf")
        (prefix / "mediqueue.conf").write_text(
            render(
                upstreams,
                **{
                    "listen": f"127.0.0.1:{listen_port}",
                    "access_log": str(logs / "nginx-access.log"),
                    **settings,
                },
            )
        )
        command = [nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        with error_log.open("ab") as startup_output:
            process = subprocess.Popen(
                [*command, "-e", str(error_log)],
                stdout=startup_output,
                stderr=startup_output,
                # Its own process group: the workers can be killed with the master if need be.
                start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{listen_port}"
        try:
            # nginx's own status page answers without any upstream.
            wait_until_answering(
                f"{base_url}/nginx_status",
                process=process,
                log_path=error_log,
                seconds=15,
                interval=0.05,
                name="nginx",
            )
            yield base_url
        finally:
            # SIGQUIT is nginx's graceful stop: open requests finish (worker_shutdown_timeout
            # caps it); its workers are in its process group, should it have to be killed.
            stop(process, sig=signal.SIGQUIT, seconds=10, group=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--upstream", action="append", required=True, help="host:port of an app node (repeat)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (8080)")
    parser.add_argument("--log-dir", type=Path, help="keep nginx's access and error logs here")
    parser.add_argument(
        "--render", action="store_true", help="print mediqueue.conf with production values"
    )
    options = parser.parse_args()
    if options.render:
        print(render(options.upstream), end="")
        return
    with nginx_proxy(
        options.upstream, listen_port=options.port, log_dir=options.log_dir
    ) as base_url:
        print(f"nginx on {base_url} -> {', '.join(options.upstream)}; Ctrl-C stops it")
        with suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
