"""Throwaway databases from the shell, for CI: on the server the service is configured for
(``DATABASE_URL``'s, else the embedded PostgreSQL under ``.mediqueue/``).

    python -m loadtests.harness create-database NAME     (prints its URL)
    python -m loadtests.harness drop-database NAME [NAME ...]
"""

from __future__ import annotations

import argparse

from loadtests.harness.databases import create_database, drop_database, server_admin_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create-database").add_argument("name")
    commands.add_parser("drop-database").add_argument("names", nargs="+")
    options = parser.parse_args(argv)
    admin_url = server_admin_url()
    if options.command == "create-database":
        print(create_database(admin_url, options.name))
    else:
        for name in options.names:
            drop_database(admin_url, name)


if __name__ == "__main__":
    main()
