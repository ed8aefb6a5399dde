"""Years of history for the intake bench, written straight into its throw-away database.

A province's hub holds millions of envelopes after a few years, and every one it accepts is
written into indexes that hold them all (envelope ids, digests, deliveries, the timeline,
the audit chain). ``lienthong hub bench-intake --history N`` first writes N documents
between the bench's sender and its recipients, each delivered and answered 01 (so 2N
envelopes, deliveries and timeline events, and 4N audit entries), spread over the last
three years, then vacuums, freezes and analyzes the tables as autovacuum would have. The
history is made by the database itself (`generate_series`): a million documents in about
three minutes, where the hub's own intake would take hours. Nothing reads it but the
indexes: the audit entries chain to nothing, and the bench's database is dropped afterwards.
"""

from __future__ import annotations

import asyncpg

# $1: how many documents; $2: the recipients' codes, taken in turn.
_DOCUMENTS = """
CREATE TEMPORARY TABLE history AS
SELECT i, gen_random_uuid() AS document_pk, gen_random_uuid() AS answer_pk,
       ($2::text[])[1 + i % cardinality($2::text[])] AS recipient,
       now() - interval '3 years' + (interval '3 years' / $1::integer) * i AS at
FROM generate_series(1, $1::integer) AS i
"""
_WITH_SENDER = (  # $1::text: the sender's code
    """INSERT INTO envelope (id, envelope_id, kind, sender_code, document_id, business_type,
                             subject, sha256, size, body, received_at)
       SELECT document_pk, 'history-d-' || i, 'document', $1::text,
              $1::text || ',history,' || i, 0, 'Văn bản lưu trữ số ' || i,
              encode(sha256(('d' || i)::bytea), 'hex'), 7000, '\\x00', at
       FROM history""",
    """INSERT INTO envelope (id, envelope_id, kind, sender_code, document_id, status_code,
                             sha256, size, body, received_at)
       SELECT answer_pk, 'history-s-' || i, 'status', recipient, $1::text || ',history,' || i,
              '01', encode(sha256(('s' || i)::bytea), 'hex'), 1000, '\\x00',
              at + interval '2 s'
       FROM history""",
    """INSERT INTO delivery (envelope_pk, recipient_code, state, created_at, queued_at)
       SELECT document_pk, recipient, 'queued', at, at FROM history
       UNION ALL
       SELECT answer_pk, $1::text, 'queued', at + interval '2 s', at + interval '2 s'
       FROM history""",
)
_TIMELINE = """INSERT INTO timeline_event (document_pk, recipient_code, event, status_code,
                                   source_envelope_id, at)
       SELECT document_pk, recipient, 'sent', NULL, 'history-d-' || i, at FROM history
       UNION ALL
       SELECT document_pk, recipient, 'status', '01', 'history-s-' || i, at + interval '2 s'
       FROM history"""
# Each envelope's acceptance and delivery, as the hub records them.
_AUDIT = """
INSERT INTO audit_entry (at, action, actor, subject, detail, previous_hash, hash)
SELECT h.at, a.action, 'history', 'history-' || a.kind || '-' || h.i, '{}',
       encode(sha256(('p' || a.kind || a.action || h.i)::bytea), 'hex'),
       encode(sha256(('h' || a.kind || a.action || h.i)::bytea), 'hex')
FROM history AS h
CROSS JOIN (VALUES ('d', 'accept'), ('d', 'deliver'), ('s', 'accept'), ('s', 'deliver'))
    AS a(kind, action)
ORDER BY h.at
"""


async def add_history(dsn: str, sender: str, recipients: list[str], documents: int) -> None:
    """Write `documents` answered documents from `sender` to `recipients` in turn (see the
    module's docstring) into the database at `dsn` (a plain postgresql:// address)."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(_DOCUMENTS, documents, recipients)
            for statement in _WITH_SENDER:
                await connection.execute(statement, sender)
            await connection.execute(_TIMELINE)
            await connection.execute(_AUDIT)
        # Vacuumed and frozen, as autovacuum leaves old rows: else it would set to work on
        # them during the run, and its reads and WAL would count against the run's.
        await connection.execute("VACUUM (FREEZE, ANALYZE)")
    finally:
        await connection.close()
