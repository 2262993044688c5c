"""Sync health per realm (one definition with `pgbooks status`) and completeness per day and
source (lost-event detection)."""

from __future__ import annotations

from decimal import Decimal

import psycopg
from psycopg import sql

from tests.recon.test_examples import seed

SHARED = (
    "tenant_id, realm_id, paused, backlog, held, oldest_pending_s, accepted_5m, accepted_1h,"
    " failures_1h, last_success_at, access_expires_at, refresh_hard_expires_at, open_exceptions"
)


def test_sync_health_is_realms_status_plus_rates(db: psycopg.Connection) -> None:
    seed(db)
    db.execute("INSERT INTO orders.tenants (tenant_id, name) VALUES ('idle', 'Idle')")
    doc = db.execute(
        "SELECT document_id FROM books.documents WHERE tenant_id = 'demo' LIMIT 1"
    ).fetchone()
    assert doc is not None
    # three HTTP requests in the last minute (one accepted twice: counted once), one failure
    db.execute(
        "INSERT INTO sync.attempts (tenant_id, document_id, event, request_id, created_at) VALUES"
        " ('demo', %(d)s, 'accepted', 'r1', now()), ('demo', %(d)s, 'accepted', 'r1', now()),"
        " ('demo', %(d)s, 'transient', 'r2', now()), ('demo', %(d)s, 'accepted', 'r3', now()),"
        " ('demo', %(d)s, 'accepted', 'r0', now() - interval '10 minutes'),"
        " ('demo', %(d)s, 'held', NULL, now())",
        {"d": doc[0]},
    )
    db.execute("INSERT INTO sync.settings (tenant_id, per_minute) VALUES ('demo', 40)")
    cols = sql.SQL(SHARED)
    with db.transaction():  # one now() for both (oldest_pending_s is relative to it)
        view = db.execute(
            sql.SQL("SELECT {} FROM analytics.rpt_sync_health ORDER BY 1").format(cols)
        ).fetchall()
        func = db.execute(
            sql.SQL("SELECT {} FROM api.realms__status() ORDER BY 1").format(cols)
        ).fetchall()
    assert view == func and len(view) == 2
    row = db.execute(
        "SELECT accepted_1h, failures_1h, error_rate_pct, rate_limit_per_minute,"
        " requests_last_minute, rate_headroom_per_minute, rate_headroom_pct, backlog"
        " FROM analytics.rpt_sync_health WHERE tenant_id = 'demo'"
    ).fetchone()
    assert row == (4, 1, Decimal("20.00"), 40, 3, 37, Decimal("92.5"), row[7])
    assert row is not None and row[7] > 0
    idle = db.execute(
        "SELECT backlog, error_rate_pct, requests_last_minute, rate_headroom_pct"
        " FROM analytics.rpt_sync_health WHERE tenant_id = 'idle'"
    ).fetchone()
    assert idle == (0, None, 0, Decimal("100.0"))


def _completeness(db: psycopg.Connection) -> list[tuple]:
    return db.execute(
        "SELECT day::text, source_type, source_count, documents, acknowledged, completeness,"
        " diverges FROM analytics.rpt_completeness"
        " WHERE tenant_id = 'demo' AND source_type = 'order' ORDER BY day"
    ).fetchall()


def test_completeness_flags_each_divergence(db: psycopg.Connection) -> None:
    seed(db)
    got = _completeness(db)
    # o1 acknowledged but a delivery of that day was quarantined; o3's document differs (blocked)
    assert got == [
        ("2024-03-01", "order", 1, 1, 1, "events_not_applied", True),
        ("2024-03-03", "order", 1, 1, 0, "amount_mismatch", True),
    ]
    # the quarantined delivery is resolved (applied after a fix): that day is complete
    db.execute("UPDATE ingest.raw_events SET status = 'applied', reason_code = NULL")
    assert _completeness(db)[0][5:] == ("complete", False)
    # an order whose document never came (its rules never ran: lost on the way) is detected
    db.execute("SET session_replication_role = replica")
    db.execute(
        "INSERT INTO orders.orders (tenant_id, channel_id, order_id, currency, stated_total,"
        " placed_at) VALUES ('demo', 'shop', 'o9', 'USD', 7.00, '2024-03-01 12:00+00')"
    )
    db.execute("RESET session_replication_role")
    first = _completeness(db)[0]
    assert first[2:] == (2, 1, 1, "missing_documents", True)


def test_analyst_role_reads_the_new_views(db: psycopg.Connection) -> None:
    seed(db)
    db.execute("SET ROLE pgbooks_analyst")
    try:
        health = db.execute("SELECT count(*) FROM analytics.rpt_sync_health").fetchone()
        complete = db.execute(
            "SELECT count(*) FROM analytics.rpt_completeness WHERE diverges"
        ).fetchone()
        summary = db.execute("SELECT count(*) FROM analytics.rpt_recon_summary").fetchone()
    finally:
        db.execute("RESET ROLE")
    assert health == (1,) and complete is not None and complete[0] > 0
    assert summary is not None and summary[0] > 0
