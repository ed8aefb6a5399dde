"""Migrating a service's database in a short-lived child process.

Alembic, its templates and the migration scripts take about 10 MB once imported, and Python
never gives a module's memory back. A hub or an adapter runs for months, and a province runs
one adapter per agency, so they migrate in a child (`python -m <service>.migrate`) that exits
when the schema is at head. The database URL goes to the child on its standard input, never on
its command line, where `ps` would show the password to every user of the machine.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from schemas.errors import LienthongError


class MigrationFailed(LienthongError):
    code = "migration"


async def upgrade_in_child(module: str, database_url: str) -> None:
    """Run `python -m module`, which reads the URL from stdin and brings the schema to head."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, errors = await child.communicate(database_url.encode())
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines() or ["(no message)"]
        raise MigrationFailed(f"migrating the database failed: {lines[-1]}")


def child_main(upgrade: Callable[[str], None]) -> None:
    """The child's side: the URL from stdin, `upgrade(url)`, one line on stderr if it fails."""
    try:
        upgrade(sys.stdin.read().strip())
    except Exception as error:  # any failure becomes the parent's one-line error
        reason = getattr(error, "orig", None) or error
        print(f"{type(error).__name__}: {reason}", file=sys.stderr)
        sys.exit(1)
