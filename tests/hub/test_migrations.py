"""The hub's migrations on PostgreSQL: from 0008 the signed packages it keeps are compressed
with lz4 (pglz cost the server about 100 us of CPU per package), and going back to 0007
restores the server's default; 0009 drops two indexes of `delivery` that wider ones cover."""

from __future__ import annotations

import asyncio

import asyncpg

from hub.migrate import downgrade, upgrade
from tests.services import temporary_database

# Compressible, and larger than the 2 KB from which PostgreSQL compresses a row's values.
PACKAGE = b"<edXML:Header>" + b"<edXML:OrganId>000.04.29.H40</edXML:OrganId>" * 200
BODIES = ("envelope", "quarantine", "dead_letter")
# As 0008 asks (migrations are not importable): PostgreSQL 14+, built with lz4.
_LZ4_AVAILABLE = (
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


async def _methods(db: asyncpg.Connection) -> dict[str, str]:
    """The compression each table's body column is set to ('l': lz4, '': the default)."""
    rows = await db.fetch(
        "SELECT attrelid::regclass::text AS tablename, attcompression::text AS method"
        " FROM pg_attribute"
        " WHERE attname = 'body' AND attrelid = ANY($1::regclass[])", list(BODIES),
    )  # fmt: skip
    return {row["tablename"]: row["method"] for row in rows}


async def _quarantined_compression(db: asyncpg.Connection) -> str:
    """How a package quarantined now is stored."""
    pk = await db.fetchval(
        "INSERT INTO quarantine (reason, sha256, body) VALUES ('test', $1, $2) RETURNING id",
        "0" * 64, PACKAGE,
    )  # fmt: skip
    method = await db.fetchval("SELECT pg_column_compression(body) FROM quarantine WHERE id = $1",
                               pk)  # fmt: skip
    assert method is not None, "the package was stored uncompressed"
    return str(method)


async def test_packages_are_stored_with_lz4_and_back_with_a_downgrade() -> None:
    async with temporary_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        await asyncio.to_thread(upgrade, url, "0007")
        db = await asyncpg.connect(dsn)
        try:
            assert await _methods(db) == dict.fromkeys(BODIES, "")
            assert await _quarantined_compression(db) == "pglz"
            await asyncio.to_thread(upgrade, url)
            # Where the server has no lz4, 0008 changes nothing.
            lz4 = bool(await db.fetchval(_LZ4_AVAILABLE))
            assert await _methods(db) == dict.fromkeys(BODIES, "l" if lz4 else "")
            assert await _quarantined_compression(db) == ("lz4" if lz4 else "pglz")
            await asyncio.to_thread(downgrade, url, "0007")
            assert await _methods(db) == dict.fromkeys(BODIES, "")
            assert await _quarantined_compression(db) == "pglz"
        finally:
            await db.close()


async def _delivery_indexes(db: asyncpg.Connection) -> set[str]:
    rows = await db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'delivery'")
    return {row["indexname"] for row in rows}


async def test_delivery_keeps_only_indexes_that_no_wider_one_covers() -> None:
    covered = {"ix_delivery_envelope_pk", "ix_delivery_recipient_code"}
    wider = {"uq_delivery_envelope_pk", "ix_delivery_recipient_queued"}
    async with temporary_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        await asyncio.to_thread(upgrade, url, "0008")
        db = await asyncpg.connect(dsn)
        try:
            assert covered | wider <= await _delivery_indexes(db)
            await asyncio.to_thread(upgrade, url)
            at_head = await _delivery_indexes(db)
            assert wider <= at_head and not covered & at_head
            await asyncio.to_thread(downgrade, url, "0008")
            assert covered | wider <= await _delivery_indexes(db)
        finally:
            await db.close()
