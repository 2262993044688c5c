"""Backfill / polling: ``pgbooks backfill RESOURCE --source DIR|URL --tenant T --channel C``.

A source export is read page by page; every record of a page goes through the same path as a
webhook (``api.raw_event__receive`` with source ``backfill``: stored, deduplicated, normalized
later by ``pgbooks ingest process``), and the cursor moves in the same transaction
(``api.backfill_cursor__advance``). Re-running resumes after the last stored page; records seen
twice are stored as duplicates and never applied twice.

Pages:

- a directory: each ``*.json`` file (sorted by name) is a page; the cursor is the last file stored,
  and a later run picks up files that sort after it (a directory is polled);
- an http(s) URL: each response is a page; the next one is the ``Link: <…>; rel="next"`` header
  (Shopify), else ``starting_after=<last id>`` while ``has_more`` (Stripe lists), else
  ``page=N+1`` while ``X-WP-TotalPages`` says more remain (WooCommerce); the cursor is the next
  page's URL (a URL read to its end is done: ``--reset`` reads it again).

Records in a page: a JSON array, or the array under the resource's key (``{"orders": [...]}``),
or ``data`` (Stripe list objects), or the single object under the singular key
(``{"order": {...}}``), or the object itself. Each record is stored as compact JSON; its
delivery id is ``backfill:<resource>:<id>@<updated-at>`` so an unchanged record dedupes and a
changed one is a new event. Stripe objects are wrapped in an Event envelope (see
:func:`as_delivery`) because Stripe webhooks, and so the Stripe normalizer, carry events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import psycopg
from psycopg.types.json import Jsonb

from pgbooks.config import redact_url

# The webhook topic a backfilled record stands for, per platform and resource.
DEFAULT_TOPICS: dict[str, dict[str, str]] = {
    "shopify": {
        "orders": "orders/updated",
        "refunds": "refunds/create",
        "transactions": "order_transactions/create",
        "payouts": "payouts/updated",
    },
    "woocommerce": {
        "orders": "order.updated",
        "refunds": "order_refund.created",
    },
    "stripe": {
        "charges": "charge.updated",
        "refunds": "refund.updated",
        "payouts": "payout.updated",
        "balance_transactions": "balance_transaction.created",
    },
}
_UPDATED_KEYS = ("updated_at", "date_modified_gmt", "date_modified", "processed_at", "created_at")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

_RECEIVE_SQL = (
    "SELECT status FROM api.raw_event__receive(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_CURSOR_SQL = "SELECT cursor, completed FROM api.backfill_cursor__get(%s, %s, %s, %s)"
_ADVANCE_SQL = "SELECT api.backfill_cursor__advance(%s, %s, %s, %s, %s, %s, %s)"
_RESET_SQL = "SELECT api.backfill_cursor__reset(%s, %s, %s, %s)"
_CHANNEL_SQL = "SELECT channel_state FROM api.raw_event__channel_secrets(%s, %s, %s)"


class BackfillError(Exception):
    """A source that cannot be paged (bad directory, HTTP error, not JSON)."""


@dataclass
class Page:
    """One page of a source: its records and the cursor of the page after it."""

    records: list[Any]
    next_cursor: str | None
    last: bool
    label: str


@dataclass
class Result:
    """What a backfill run did."""

    pages: int = 0
    records: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    completed: bool = False


def records_of(doc: Any, resource: str) -> list[Any]:
    """The records a page holds (see the module docstring for the shapes understood)."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise BackfillError(
            f"page is neither a JSON array nor an object (got {type(doc).__name__})"
        )
    if isinstance(doc.get(resource), list):
        return list(doc[resource])
    if doc.get("object") == "list" and isinstance(doc.get("data"), list):
        return list(doc["data"])
    singular = resource[:-1] if resource.endswith("s") else resource
    if isinstance(doc.get(singular), dict):
        return [doc[singular]]
    return [doc]


def delivery_id(resource: str, record: Any) -> str | None:
    """``backfill:<resource>:<id>@<updated-at>``, or None when the record has no id."""
    if not isinstance(record, dict) or record.get("id") in (None, ""):
        return None
    stamp = next((str(record[k]) for k in _UPDATED_KEYS if record.get(k) not in (None, "")), "")
    return f"backfill:{resource}:{record['id']}@{stamp}"


def as_delivery(platform: str, topic: str, record: Any, delivery: str | None) -> tuple[str, Any]:
    """(topic, payload) to store for one record, shaped as the platform's webhook would be.

    Stripe webhooks carry Event objects (``{id, type, created, data: {object}}``) and the Stripe
    normalizer reads events; a listed object is wrapped in such an envelope, marked
    ``"pgbooks_backfill": true``, typed ``<object>.updated`` and dated by the object's
    ``created`` (so a backfilled state never outranks a newer webhook event). Other platforms'
    webhooks carry the resource itself: the record is stored as is.
    """
    if platform != "stripe" or not isinstance(record, dict) or record.get("object") == "event":
        return topic, record
    kind = record.get("object")
    event_type = f"{kind}.updated" if isinstance(kind, str) and kind else topic
    envelope = {
        "id": delivery,
        "object": "event",
        "type": event_type,
        "created": record.get("created"),
        "data": {"object": record},
        "pgbooks_backfill": True,
    }
    return event_type, envelope


def source_key(source: str) -> str:
    """How a source is named in its cursor row: a resolved path, or the URL without secrets."""
    if re.match(r"^https?://", source):
        return redact_url(source)
    return str(Path(source).resolve())


def dir_pages(directory: Path, resource: str, cursor: str | None) -> Iterator[Page]:
    """Pages of a directory: one per ``*.json`` file after ``cursor`` (a file name)."""
    if not directory.is_dir():
        raise BackfillError(f"--source {directory}: not a directory")
    files = sorted(p for p in directory.glob("*.json") if p.is_file())
    todo = [p for p in files if cursor is None or p.name > cursor]
    for i, path in enumerate(todo):
        try:
            doc = json.loads(path.read_bytes())
        except json.JSONDecodeError as exc:
            raise BackfillError(f"{path}: not JSON ({exc})") from exc
        yield Page(records_of(doc, resource), path.name, i == len(todo) - 1, path.name)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_url(url: str, response: httpx.Response, doc: Any, records: list[Any]) -> str | None:
    """The next page after ``url``, or None when this was the last one."""
    match = _LINK_NEXT.search(response.headers.get("link", ""))
    if match:
        return str(httpx.URL(url).join(match.group(1)))
    if isinstance(doc, dict) and "has_more" in doc:
        if doc.get("has_more") and records and isinstance(records[-1], dict):
            return _with_query(url, starting_after=str(records[-1]["id"]))
        return None
    total = response.headers.get("x-wp-totalpages")
    if total is not None and total.isdigit():
        page = int(dict(parse_qsl(urlsplit(url).query)).get("page", "1"))
        return _with_query(url, page=str(page + 1)) if page < int(total) else None
    return None


def url_pages(url: str, resource: str, cursor: str | None, client: httpx.Client) -> Iterator[Page]:
    """Pages of an HTTP endpoint, starting at ``cursor`` (a URL) or ``url``."""
    current: str | None = cursor or url
    while current is not None:
        try:
            response = client.get(current)
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BackfillError(f"{redact_url(current)}: {exc}") from exc
        records = records_of(doc, resource)
        nxt = next_url(current, response, doc, records)
        yield Page(records, nxt, nxt is None, redact_url(current))
        current = nxt


def run(
    url: str,
    *,
    tenant_id: str,
    channel_id: str,
    platform: str,
    resource: str,
    source: str,
    topic: str | None = None,
    reset: bool = False,
    max_pages: int | None = None,
    http: httpx.Client | None = None,
    on_page: Callable[[Page, Result], None] | None = None,
) -> Result:
    """Backfill ``resource`` from ``source`` into ``ingest.raw_events``; resumable."""
    topic = topic or DEFAULT_TOPICS.get(platform, {}).get(resource) or f"{resource}/backfill"
    key = source_key(source)
    result = Result()
    with psycopg.connect(url) as conn:
        state = conn.execute(_CHANNEL_SQL, (tenant_id, channel_id, platform)).fetchone()
        if state is None or state[0] != "ok":
            raise BackfillError(
                f"--channel {channel_id}: no {platform} channel with that id for tenant {tenant_id}"
            )
        if reset:
            conn.execute(_RESET_SQL, (tenant_id, channel_id, resource, key))
        row = conn.execute(_CURSOR_SQL, (tenant_id, channel_id, resource, key)).fetchone()
        conn.commit()
        cursor, completed = (row[0], bool(row[1])) if row else (None, False)
        is_url = bool(re.match(r"^https?://", source))
        if completed and is_url:
            # A URL export was read to its end; --reset reads it again (records dedupe).
            result.completed = True
            return result
        # A directory is polled: files sorting after the cursor are new pages.
        client = http or httpx.Client(timeout=30.0, follow_redirects=True)
        try:
            pages = (
                url_pages(source, resource, cursor, client)
                if is_url
                else dir_pages(Path(source), resource, cursor)
            )
            for page in pages:
                _store_page(
                    conn, page, result, tenant_id, channel_id, platform, resource, key, topic
                )
                if on_page is not None:
                    on_page(page, result)
                if page.last:
                    result.completed = True
                if max_pages is not None and result.pages >= max_pages:
                    break
            else:
                if result.pages == 0 and not completed:
                    # Nothing (left) to read: the backfill is complete.
                    with conn.transaction():
                        conn.execute(
                            _ADVANCE_SQL, (tenant_id, channel_id, resource, key, cursor, 0, True)
                        )
                if result.pages == 0:
                    result.completed = True
        finally:
            if http is None:
                client.close()
    return result


def _store_page(
    conn: psycopg.Connection[Any],
    page: Page,
    result: Result,
    tenant_id: str,
    channel_id: str,
    platform: str,
    resource: str,
    key: str,
    topic: str,
) -> None:
    """Store one page's records and move the cursor, in one transaction."""
    headers = {"x-pgbooks-backfill-source": key, "x-pgbooks-backfill-page": page.label}
    with conn.transaction():
        for record in page.records:
            delivery = delivery_id(resource, record)
            record_topic, payload = as_delivery(platform, topic, record, delivery)
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            row = conn.execute(
                _RECEIVE_SQL,
                (
                    tenant_id,
                    platform,
                    channel_id,
                    Jsonb(headers),
                    body,
                    "not_applicable",
                    len(body),
                    False,
                    "backfill",
                    record_topic,
                    delivery,
                ),
            ).fetchone()
            status = row[0] if row else "unknown"
            result.statuses[status] = result.statuses.get(status, 0) + 1
        conn.execute(
            _ADVANCE_SQL,
            (tenant_id, channel_id, resource, key, page.next_cursor, len(page.records), page.last),
        )
    result.pages += 1
    result.records += len(page.records)
