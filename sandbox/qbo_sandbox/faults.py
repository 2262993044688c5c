"""QBO fault envelopes and the error codes the sandbox emits (reference §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INACTIVE_DETAIL = (
    "Something you're trying to use has been made inactive. Check the fields with accounts, "
    "customers, items, vendors or employees."
)


@dataclass
class ErrorItem:
    """One ``Error`` entry of a Fault."""

    code: str
    message: str
    detail: str
    element: str | None = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            out["element"] = self.element
        return out


@dataclass
class QBOFault(Exception):
    """A QBO ``Fault`` raised by business logic; rendered by the HTTP layer or per batch item."""

    status: int
    errors: list[ErrorItem]
    type: str = "ValidationFault"
    with_time: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def fault_json(self) -> dict[str, Any]:
        return {"Error": [e.to_json() for e in self.errors], "type": self.type}

    @property
    def code(self) -> str:
        return self.errors[0].code

    def __str__(self) -> str:
        e = self.errors[0]
        return f"{e.code} {e.message}: {e.detail}"


def fault(
    code: str,
    message: str,
    detail: str,
    element: str | None = "",
    status: int = 400,
    ftype: str = "ValidationFault",
) -> QBOFault:
    """Build a single-error fault."""
    return QBOFault(status, [ErrorItem(code, message, detail, element)], ftype)


def stale_object(who: str = "API API") -> QBOFault:
    """5010, the exact text QBO sends on a SyncToken mismatch."""
    return fault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {who} were working on this at the same time. {who} "
        "finished before you did, so your work was not saved.",
    )


def object_not_found(what: str = "") -> QBOFault:
    """610: missing id on read/update/delete, or an inactive referenced object."""
    detail = f"Object Not Found : {INACTIVE_DETAIL}"
    return fault("610", "Object Not Found", detail, element=what)


def invalid_reference(path: str) -> QBOFault:
    """2500: reference to an id that does not exist."""
    return fault("2500", "Invalid Reference Id", f"Invalid Reference Id : {path}")


def required_missing(param: str) -> QBOFault:
    """2020: required field missing; ``element`` names it."""
    return fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {param} is missing in the request",
        element=param,
    )


def unknown_property(prop: str, entity: str, known: list[str]) -> QBOFault:
    """2010: Jackson-style unknown property."""
    shown = ", ".join(f'"{k}"' for k in known[:20])
    detail = (
        f'Property Name:Unrecognized field "{prop}" (class com.intuit.schema.finance.v3.{entity}),'
        f" not marked as ignorable ({len(known)} known properties: {shown}, ...])"
    )
    return fault("2010", "Request has invalid or unsupported property", detail, element=None)


def invalid_id(value: str) -> QBOFault:
    """2030: non-numeric id. QBO sends this one without a ``time`` (observed)."""
    f = fault("2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", "Id")
    f.with_time = False
    return f


def unsupported_operation(relative: str) -> QBOFault:
    """Code 500 (HTTP 400): unknown URL or operation."""
    return fault(
        "500",
        "Unsupported Operation",
        f"Operation Could not find resource for relative : {relative} is not supported.",
        element=None,
    )


def business(detail: str, element: str = "") -> QBOFault:
    """6000: generic business validation error."""
    return fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def duplicate_name() -> QBOFault:
    """6240: name already used (shared Customer/Vendor/Employee namespace)."""
    return fault(
        "6240", "Duplicate Name Exists Error", "The name supplied already exists. : null", None
    )


def duplicate_docnumber(doc: str, txn_type: str, txn_id: str) -> QBOFault:
    """6140, naming the conflicting TxnId (integrations parse it to adopt the existing txn)."""
    return fault(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has "
        f"already been used. DocNumber={doc} is assigned to TxnType={txn_type} with TxnId={txn_id}",
    )


def amount_mismatch(supplied: str) -> QBOFault:
    """6070: Amount != round_half_up(Qty * UnitPrice, 2)."""
    return fault(
        "6070",
        "Amount is not equal to UnitPrice * Qty",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
    )


def period_closed(date: str, close: str) -> QBOFault:
    """6210: transaction dated on/before the books closing date."""
    return fault(
        "6210",
        "Account Period Closed, Cannot Update Through Services API",
        f"The account period has closed and the books are locked (closing date {close}); "
        f"transaction date {date} is not allowed.",
    )


def parent_ref_required() -> QBOFault:
    """6150: Job/ParentRef mismatch."""
    return fault(
        "6150",
        "ParentRef Required Error",
        "ParentRef is either required or not if Job is true or false.",
        "Job",
    )


def query_parse(detail: str) -> QBOFault:
    """4000: query syntax error."""
    return fault("4000", "Error parsing query", f"QueryParserError: {detail}", None)


def query_invalid(detail: str) -> QBOFault:
    """4001: semantically invalid query."""
    return fault("4001", "Invalid query", f"QueryValidationError: {detail}", None)


def system_fault(detail: str = "System Failure Error: An unexpected error occurred.") -> QBOFault:
    """10000 SystemFault (used by 5xx injection)."""
    return fault(
        "10000",
        "An application error has occurred while processing your request",
        detail,
        None,
        status=500,
        ftype="SystemFault",
    )


def error_json(f: QBOFault, time_text: str) -> dict[str, Any]:
    """Standard upper-case envelope."""
    body: dict[str, Any] = {"Fault": f.fault_json()}
    if f.with_time:
        body["time"] = time_text
    return body


def auth_401_json(detail: str, epoch_ms: int) -> dict[str, Any]:
    """The lower-case gateway envelope QBO returns with HTTP 401 (observed)."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": epoch_ms,
        "status": None,
        "cdcresponse": [],
    }


WWW_AUTHENTICATE = 'Bearer realm="Intuit", error="invalid_token"'


def forbidden_403() -> QBOFault:
    """3100: token is valid but not for this realm."""
    return fault(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        "The application is not authorized to access this company.",
        None,
        status=403,
        ftype="SERVICE",
    )


def throttle_xml(time_text: str) -> bytes:
    """429 body: XML even for JSON clients (a real QBO quirk)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse time="{time_text}" xmlns="http://schema.intuit.com/finance/v3">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    ).encode()
