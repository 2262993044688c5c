"""The QBO query language subset real clients use: parser and evaluator."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from . import faults
from .clock import parse_time
from .entities import SPECS
from .state import Entity, Realm

DEFAULT_MAX = 100
HARD_MAX = 1000
SINGLETONS = {"CompanyInfo", "Preferences"}
NOT_QUERYABLE = frozenset(
    {
        "UnappliedAmt",
        "Line",
        "CustomField",
        "LinkedTxn",
        "TxnTaxDetail",
        "BillAddr",
        "ShipAddr",
        "PrimaryEmailAddr",
        "PrimaryPhone",
    }
)
EXTRA_FIELDS = frozenset(
    {"Id", "SyncToken", "MetaData.CreateTime", "MetaData.LastUpdatedTime", "Active"}
)

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:\\.|[^'\\])*')
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str
    text: str
    col: int


@dataclass
class Cond:
    field: str
    op: str  # = < > <= >= != in like
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[Cond] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX


@dataclass
class QueryResult:
    """Either a count or a page of entities."""

    entity: str
    rows: list[Entity]
    start: int
    count: int | None = None

    def to_json(self) -> dict[str, Any]:
        if self.count is not None:
            return {"totalCount": self.count}
        if not self.rows:
            return {}
        return {self.entity: self.rows, "startPosition": self.start, "maxResults": len(self.rows)}


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        kind = m.lastgroup or "bad"
        val = m.group(kind)
        col = m.start(kind) + 1
        if kind == "bad":
            if val == "'":
                raise faults.query_parse(
                    f'Encountered " <UNTERMINATED_STRING> "{text[col - 1 : col + 10]}"" at '
                    f"line 1, column {col}."
                )
            raise faults.query_parse(
                f'Lexical error at line 1, column {col}.  Encountered: "{val}"'
            )
        out.append(Token(kind, val, col))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def word(self) -> str:
        t = self.peek()
        return t.text.upper() if t is not None and t.kind == "word" else ""

    def take(self) -> Token:
        t = self.peek()
        if t is None:
            raise faults.query_parse('Encountered "<EOF>" at line 1.')
        self.i += 1
        return t

    def expect_word(self, *words: str) -> str:
        t = self.take()
        if t.kind != "word" or t.text.upper() not in words:
            self.fail(t)
        return t.text.upper()

    def expect(self, text: str) -> None:
        t = self.take()
        if t.text != text:
            self.fail(t)

    def fail(self, t: Token) -> None:
        raise faults.query_parse(
            f'Encountered " <IDENTIFIER> "{t.text} "" at line 1, column {t.col}.\n'
            'Was expecting one of:\n    <EOF> \n    "and" ...\n    "iterator" ...\n'
            '    "maxresults" ...\n    "order" ...\n    "orderby" ...\n'
            '    "startposition" ...\n    '
        )

    def value(self) -> Any:
        t = self.take()
        if t.kind == "str":
            return re.sub(r"\\(.)", r"\1", t.text[1:-1])
        if t.kind == "num":
            return Decimal(t.text)
        if t.kind == "word" and t.text.lower() in ("true", "false"):
            return t.text.lower() == "true"
        self.fail(t)
        return None

    def int_value(self, what: str) -> int:
        t = self.take()
        if t.kind != "num" or "." in t.text:
            self.fail(t)
        n = int(t.text)
        if what == "MAXRESULTS":
            if n < 1:
                raise faults.query_invalid(f"value {n} is too small. Min allowed value is 1")
            if n > HARD_MAX:
                raise faults.query_invalid(
                    f"value {n} is too large. Max allowed value is {HARD_MAX}"
                )
        return max(n, 1)

    def parse(self) -> Query:
        self.expect_word("SELECT")
        count = False
        if self.word() == "COUNT":
            self.take()
            self.expect("(")
            self.expect("*")
            self.expect(")")
            count = True
        else:
            t = self.take()
            if t.text != "*" and t.kind != "word":
                self.fail(t)
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                self.take()
        self.expect_word("FROM")
        ent = self.take()
        if ent.kind != "word":
            self.fail(ent)
        q = Query(entity=ent.text, count=count)
        if self.word() == "WHERE":
            self.take()
            q.where.append(self.cond())
            while self.word() == "AND":
                self.take()
                q.where.append(self.cond())
            if self.word() == "OR":
                raise faults.query_parse("OR is not supported in the QuickBooks query language")
        while self.peek() is not None:
            w = self.word()
            if w in ("ORDERBY", "ORDER"):
                self.take()
                if w == "ORDER":
                    self.expect_word("BY")
                while True:
                    f = self.take()
                    if f.kind != "word":
                        self.fail(f)
                    desc = False
                    if self.word() in ("ASC", "DESC"):
                        desc = self.take().text.upper() == "DESC"
                    q.order.append((f.text, desc))
                    if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                        self.take()
                        continue
                    break
            elif w == "STARTPOSITION":
                self.take()
                q.start = self.int_value(w)
            elif w == "MAXRESULTS":
                self.take()
                q.max_results = self.int_value(w)
            else:
                self.fail(self.take())
        return q

    def cond(self) -> Cond:
        f = self.take()
        if f.kind != "word":
            self.fail(f)
        w = self.word()
        if w == "IN":
            self.take()
            self.expect("(")
            vals = [self.value()]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                vals.append(self.value())
            self.expect(")")
            return Cond(f.text, "in", vals)
        if w == "LIKE":
            self.take()
            return Cond(f.text, "like", [self.value()])
        op = self.take()
        if op.kind != "op":
            self.fail(op)
        return Cond(f.text, "!=" if op.text == "<>" else op.text, [self.value()])


def parse(text: str) -> Query:
    """Parse query text (keywords case-insensitive)."""
    return _Parser(text.strip().rstrip(";")).parse()


# --------------------------------------------------------------------------- evaluation
def _resolve_entity(name: str) -> str:
    for known in list(SPECS) + sorted(SINGLETONS):
        if known.lower() == name.lower():
            return known
    raise faults.query_invalid(f"invalid context declaration: {name}")


def _get(obj: Entity, path: str) -> Any:
    cur: Any = obj
    parts = path.split(".")
    for i, part in enumerate(parts):
        if isinstance(cur, list):  # e.g. AttachableRef.EntityRef.value: any element may match
            rest = ".".join(parts[i:])
            found = _AnyOf()
            for v in cur:
                got = _get(v, rest) if isinstance(v, dict) else None
                if isinstance(got, _AnyOf):
                    found.extend(got)
                else:
                    found.append(got)
            return found
        if not isinstance(cur, dict):
            return None
        if part in cur:
            cur = cur[part]
            continue
        low = part.lower()
        cur = next((v for k, v in cur.items() if k.lower() == low), None)
    if isinstance(cur, dict) and "value" in cur:
        return cur["value"]
    return cur


def _check_field(entity: str, path: str) -> None:
    top = path.split(".")[0]
    spec = SPECS.get(entity)
    props = {p.lower() for p in (spec.props if spec else ())} | {"id", "metadata", "active"}
    if top.lower() not in props or top in NOT_QUERYABLE:
        raise faults.query_invalid(f"property '{path}' is not queryable")


def _coerce(actual: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(actual, bool) or isinstance(wanted, bool):
        a = actual if isinstance(actual, bool) else str(actual).lower() == "true"
        w = wanted if isinstance(wanted, bool) else str(wanted).lower() == "true"
        return a, w
    if isinstance(actual, (int, Decimal)) and not isinstance(actual, bool):
        try:
            return Decimal(actual), Decimal(str(wanted))
        except InvalidOperation:
            return str(actual), str(wanted)
    if (
        isinstance(actual, str)
        and isinstance(wanted, str)
        and "T" in wanted
        and len(wanted) >= 19
        and wanted[4] == "-"
    ):
        try:
            return parse_time(actual), parse_time(wanted)
        except ValueError:
            pass
    if isinstance(wanted, Decimal) and isinstance(actual, str):
        try:
            return Decimal(actual), wanted
        except InvalidOperation:
            return actual, str(wanted)
    return ("" if actual is None else str(actual)), str(wanted)


class _AnyOf(list[Any]):
    """Values found under a list-valued property: a condition holds if it holds for one."""


def _match(obj: Entity, c: Cond) -> bool:
    actual = _get(obj, c.field)
    if isinstance(actual, _AnyOf):
        return any(_match_value(v, c) for v in actual)
    return _match_value(actual, c)


def _match_value(actual: Any, c: Cond) -> bool:
    if c.op == "in":
        return any(_cmp(actual, "=", v) for v in c.values)
    if c.op == "like":
        pattern = "^" + ".*".join(re.escape(p) for p in str(c.values[0]).split("%")) + "$"
        return (
            actual is not None and re.match(pattern, str(actual), re.IGNORECASE | re.S) is not None
        )
    return _cmp(actual, c.op, c.values[0])


def _cmp(actual: Any, op: str, wanted: Any) -> bool:
    if actual is None:
        return op == "!="
    a, w = _coerce(actual, wanted)
    try:
        if op == "=":
            return bool(a == w)
        if op == "!=":
            return bool(a != w)
        if op == "<":
            return bool(a < w)
        if op == ">":
            return bool(a > w)
        if op == "<=":
            return bool(a <= w)
        if op == ">=":
            return bool(a >= w)
    except TypeError:
        return False
    return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, Decimal)):
        return (1, Decimal(value))
    if isinstance(value, str):
        if value.isdigit():
            return (1, Decimal(value))
        return (2, value)
    if isinstance(value, datetime):
        return (3, value.timestamp())
    return (2, str(value))


def _row_key(fld: str, row: Entity) -> tuple[int, Any]:
    return _sort_key(_get(row, fld))


def execute(realm: Realm, text: str) -> QueryResult:
    """Run a query against one realm."""
    q = parse(text)
    entity = _resolve_entity(q.entity)
    if entity == "CompanyInfo":
        rows = [realm.company_info]
    elif entity == "Preferences":
        rows = [realm.preferences]
    else:
        for c in q.where:
            _check_field(entity, c.field)
        for f, _ in q.order:
            _check_field(entity, f)
        rows = list(realm.table(entity).values())
        spec = SPECS[entity]
        mentions_active = any(c.field.lower() == "active" for c in q.where)
        if spec.kind == "name" and not mentions_active:
            rows = [r for r in rows if r.get("Active", True) is not False]
        for c in q.where:
            rows = [r for r in rows if _match(r, c)]
        if q.order:
            for fld, desc in reversed(q.order):
                rows.sort(key=functools.partial(_row_key, fld), reverse=desc)
        elif spec.kind == "name":
            key = spec.name_field or "Name"
            rows.sort(key=lambda r: str(r.get("FullyQualifiedName") or r.get(key) or ""))
        else:
            rows.sort(key=lambda r: int(r["Id"]) if str(r["Id"]).isdigit() else 0)
    if q.count:
        return QueryResult(entity, [], 1, count=len(rows))
    start = max(q.start, 1)
    page = rows[start - 1 : start - 1 + q.max_results]
    return QueryResult(entity, page, start)
