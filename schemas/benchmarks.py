"""How fast one core signs and verifies packages of a given size (``lienthong bench-signing``).

Each package carries one attachment of random bytes, so base64 and canonicalization costs are
those of real documents of that size. Wall time (time.perf_counter) and this process' CPU time
(time.process_time) are both reported: their ratio shows the work ran on one core.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from schemas.keys import Algorithm, SigningIdentity, create_ca, issue_agency_certificate
from schemas.model import VIETNAM_TIME, Attachment, DocumentPackage, Organization, TraceHeader
from schemas.safe_xml import ParseLimits
from schemas.signing import SignatureState, sign_package, verify_package
from schemas.writer import write_package

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?)i?B?\s*$", re.IGNORECASE)
# A 5 MB package is 5 MB of input; the default parse limit (64 MiB) already fits big ones.
_BENCH_LIMITS = ParseLimits()


def parse_size(text: str) -> int:
    """Bytes in a size like '10K', '5M' or '2048' (binary units)."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 10K, 5M or a number of bytes)")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def sample_package(
    attachment: bytes,
    *,
    sender: str = "000.00.05.H40",
    receiver: str = "000.12.05.H40",
    name: str = "bao-cao.pdf",
) -> bytes:
    """A minimal unsigned edXML document package carrying one attachment."""
    sent = datetime(2026, 11, 26, 9, 30, tzinfo=VIETNAM_TIME)
    package = DocumentPackage(
        sender=Organization(organ_id=sender, organ_name="UBND huyện Hải Hậu"),
        recipients=(Organization(organ_id=receiver, organ_name="UBND xã Hải Hà"),),
        document_id=f"{sender},2026/11/26,15/UBND-VP",
        subject="V/v báo cáo tình hình thu hoạch lúa mùa",
        trace=(TraceHeader(organ_id=sender, timestamp=sent),),
        attachments=(
            Attachment(
                content_id="1", name=name, content_type="application/pdf", content=attachment
            ),
        ),
    )
    return write_package(package)


def package_of_size(total: int) -> bytes:
    """An unsigned package of about `total` bytes, most of it one random attachment."""
    overhead = len(sample_package(b""))
    encoded = max(0, total - overhead)
    return sample_package(os.urandom(encoded * 3 // 4))


@dataclass(frozen=True)
class BenchResult:
    """One operation on one package size with one key algorithm."""

    operation: str
    algorithm: str
    size_bytes: int
    iterations: int
    wall_seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.iterations / self.wall_seconds

    @property
    def ms_per_package(self) -> float:
        return 1000 * self.wall_seconds / self.iterations

    @property
    def cpu_ms_per_package(self) -> float:
        return 1000 * self.cpu_seconds / self.iterations

    def as_dict(self) -> dict[str, Any]:
        extra = {
            "per_second": self.per_second,
            "ms_per_package": self.ms_per_package,
            "cpu_ms_per_package": self.cpu_ms_per_package,
        }
        return asdict(self) | extra


def _repeat(work: Callable[[], object], seconds: float) -> tuple[int, float, float]:
    """Run `work` until `seconds` of wall time have passed (at least once)."""
    iterations = 0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    while True:
        work()
        iterations += 1
        wall = time.perf_counter() - wall_start
        if wall >= seconds:
            return iterations, wall, time.process_time() - cpu_start


def _signer(algorithm: Algorithm) -> tuple[SigningIdentity, SigningIdentity]:
    ca = create_ca("lienthong bench CA", algorithm=algorithm)
    return ca, issue_agency_certificate(
        ca, "000.00.05.H40", "UBND huyện Hải Hậu", algorithm=algorithm
    )


def bench_one(size: int, algorithm: Algorithm, seconds: float) -> list[BenchResult]:
    """Sign and then verify (against the test CA) a package of `size` bytes for ~`seconds` each."""
    ca, agency = _signer(algorithm)
    package = package_of_size(size)
    signed = sign_package(package, agency, limits=_BENCH_LIMITS)
    if verify_package(signed, trust=[ca.certificate]).state is not SignatureState.VALID:
        raise RuntimeError("the benchmark package does not verify")
    results = []
    for operation, work in (
        ("sign", lambda: sign_package(package, agency, limits=_BENCH_LIMITS)),
        ("verify", lambda: verify_package(signed, trust=[ca.certificate], limits=_BENCH_LIMITS)),
    ):
        iterations, wall, cpu = _repeat(work, seconds)
        results.append(BenchResult(operation, algorithm, len(package), iterations, wall, cpu))
    return results


def run_benchmark(
    sizes: Sequence[int], algorithms: Sequence[Algorithm], seconds: float
) -> list[BenchResult]:
    """Every size with every algorithm, one after the other in this process."""
    return [
        result
        for algorithm in algorithms
        for size in sizes
        for result in bench_one(size, algorithm, seconds)
    ]


def format_results(results: Sequence[BenchResult]) -> str:
    """A plain-text table of the results."""
    lines = [
        f"{'operation':<9} {'alg':<4} {'size':>12} {'runs':>6} {'pkg/s':>9} "
        f"{'ms/pkg':>9} {'cpu ms/pkg':>11}"
    ]
    lines.extend(
        f"{r.operation:<9} {r.algorithm:<4} {r.size_bytes:>12,} {r.iterations:>6} "
        f"{r.per_second:>9.1f} {r.ms_per_package:>9.2f} {r.cpu_ms_per_package:>11.2f}"
        for r in results
    )
    return "\n".join(lines)
