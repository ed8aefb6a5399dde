"""CPU shares of what runs beside the stack, from two readings."""

from __future__ import annotations

import os

import pytest

from schemas.cli.bench_cpu import CLIENTS, Sharing, cpu_s


def _reading(rabbit: dict[int, float], clients: float, busy: float, total: float) -> Sharing:
    return Sharing({"rabbitmq": rabbit, "postgresql": {}}, clients, busy, total)


def test_per_document_cost_counts_new_processes_from_zero() -> None:
    before = _reading({10: 5.0, 11: 1.0}, clients=2.0, busy=100.0, total=400.0)
    after = _reading({10: 6.0, 12: 0.5}, clients=2.5, busy=150.0, total=500.0)
    per_document, busy = after.since(before, count=100)
    # pid 10 spent 1 s, pid 12 (new) 0.5 s; pid 11 ended between the readings and is missed.
    assert per_document == {"rabbitmq": 0.015, "postgresql": 0.0, CLIENTS: 0.005}
    assert busy == pytest.approx(0.5)


def test_a_reading_of_this_machine_is_consistent() -> None:
    reading = Sharing.now()
    assert 0 < reading.busy <= reading.total
    assert cpu_s(os.getpid()) > 0 and cpu_s(-1) == 0.0
