"""CPU time from /proc, for `lienthong bench`: per process, and for what shares the machine.

The full path runs beside RabbitMQ, PostgreSQL and the bench's own clients on the same cores,
so the CPU each of them spends per document is reported too, with how busy the machine was:
on a saturated machine a document's cost anywhere lowers the rate.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
# Process names (/proc/PID/comm) of the services lienthong runs on, as the distributions ship them.
_SERVICES = {"rabbitmq": ("beam.smp",), "postgresql": ("postgres",)}
CLIENTS = "bench clients (this command)"


def cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _pids_named(names: tuple[str, ...]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:  # gone meanwhile
                continue
            if comm in names:
                found.append(int(entry.name))
    return found


def _machine_busy_s() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy and in all, over all cores, since boot."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / TICKS, sum(ticks) / TICKS


@dataclass(frozen=True)
class Sharing:
    """A reading of what shares the machine with the stack: CPU seconds by group so far."""

    groups: dict[str, dict[int, float]]
    clients: float
    busy: float
    total: float

    @classmethod
    def now(cls) -> Sharing:
        groups = {name: {pid: cpu_s(pid) for pid in _pids_named(comms)}
                  for name, comms in _SERVICES.items()}  # fmt: skip
        busy, total = _machine_busy_s()
        return cls(groups, time.process_time(), busy, total)

    def since(self, before: Sharing, count: int) -> tuple[dict[str, float], float]:
        """CPU seconds per document of each group between two readings (a process that
        started in between counts from zero; one that ended is missed), and the share of the
        machine's CPU, all cores, that was busy."""
        spent = {
            name: sum(cpu - before.groups[name].get(pid, 0.0) for pid, cpu in pids.items())
            for name, pids in self.groups.items()
        }
        spent[CLIENTS] = self.clients - before.clients
        per_document = {name: round(max(0.0, s) / count, 5) for name, s in spent.items()}
        elapsed = self.total - before.total
        return per_document, round((self.busy - before.busy) / elapsed, 3) if elapsed else 0.0
