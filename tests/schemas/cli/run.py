"""Run the installed `lienthong` console script as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LIENTHONG = Path(sys.executable).parent / "lienthong"


def lienthong(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LIENTHONG), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
