"""The hub's migrations on PostgreSQL: from 0008 the signed packages it keeps are compressed
with lz4 (pglz cost the server about 100 us of CPU per package), and going back to 0007
restores the server's default; 0009 drops two indexes of `delivery` that wider ones cover;
0010 adds the partial indexes the metrics count by; 0011 widens the envelope's index on its
sender; 0012 drops the audit entries' index on their hashes; at head the tables are what the
models describe."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db import Base
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


async def _indexes(db: asyncpg.Connection, table: str) -> set[str]:
    rows = await db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = $1", table)
    return {row["indexname"] for row in rows}


async def _delivery_indexes(db: asyncpg.Connection) -> set[str]:
    return await _indexes(db, "delivery")


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


# Kept by triggers (0007) and read with plain SQL: no model describes it.
WITHOUT_MODEL = {"directory_version"}


def _modelled(item: object, name: str | None, kind: str, reflected: bool, _: object) -> bool:
    return not (kind == "table" and reflected and name in WITHOUT_MODEL)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_object": _modelled})
    return list(compare_metadata(context, Base.metadata))


async def test_at_head_the_tables_are_what_the_models_describe() -> None:
    """Alembic finds nothing to change; 0010's partial indexes, 0011's wider one and 0012's
    dropped one come and go with them."""
    added = {"ix_timeline_event_answers", "ix_timeline_event_deletions"}
    widened, narrow = "ix_envelope_sender_received", "ix_envelope_sender_code"
    tables = ("timeline_event", "envelope", "audit_entry")
    async with temporary_database() as dsn:
        url = dsn.replace("postgresql://", "postgresql+asyncpg://")
        await asyncio.to_thread(upgrade, url)
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                differences = await connection.run_sync(_differences)
        finally:
            await engine.dispose()
        db = await asyncpg.connect(dsn)
        try:
            at_head = set().union(*[await _indexes(db, table) for table in tables])
            await asyncio.to_thread(downgrade, url, "0009")
            before = set().union(*[await _indexes(db, table) for table in tables])
        finally:
            await db.close()
    assert differences == []
    dropped = {narrow, "uq_audit_entry_hash"}
    assert at_head >= {*added, widened} and not at_head & dropped
    assert not before & {*added, widened} and before >= dropped
