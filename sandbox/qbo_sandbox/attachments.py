"""Attachments: the Attachable entity's rules, multipart ``/upload``, ``/download`` and the
temporary file URLs (QBO serves those from S3; the sandbox serves them itself).

Multipart bodies are parsed with the standard library's MIME parser (``email``), not with
Starlette's form parser: python-quickbooks sends LF-only line breaks and base64-encoded parts
(``Content-Transfer-Encoding: base64``), which QBO accepts and python-multipart rejects.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import faults
from .entities import BY_LOWER
from .state import Entity, Realm, StoredFile

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # QBO's per-file limit
SERVER_OWNED = (
    "FileAccessUri",
    "TempDownloadUri",
    "Size",
    "ThumbnailFileAccessUri",
    "ThumbnailTempDownloadUri",
)
NOT_LINKABLE = frozenset({"Attachable", "TaxCode", "TaxRate"})


@dataclass
class Upload:
    """One uploaded file, waiting to become (or replace) an Attachable's content."""

    filename: str | None
    content_type: str | None
    content: bytes


def _link_error(etype: str, value: str) -> faults.QBOFault:
    # recorded: "The entity Estimate 75 that you are trying to link does not exist. Estimate 75"
    return faults.business(
        f"The entity {etype} {value} that you are trying to link does not exist. {etype} {value}"
    )


def _check_refs(realm: Realm, obj: Entity) -> None:
    refs = obj.get("AttachableRef")
    if refs is None:
        return
    if not isinstance(refs, list):
        raise faults.required_missing("AttachableRef")
    for ref in refs:
        ent = ref.get("EntityRef") if isinstance(ref, dict) else None
        if not isinstance(ent, dict) or not ent.get("value") or not ent.get("type"):
            raise faults.required_missing("AttachableRef.EntityRef")
        etype, value = str(ent["type"]), str(ent["value"])
        spec = BY_LOWER.get(etype.lower())
        if spec is None or spec.name in NOT_LINKABLE or realm.visible(spec.name, value) is None:
            raise _link_error(etype, value)
        ref["EntityRef"] = {"value": value, "type": spec.name}
        ref.setdefault("IncludeOnSend", False)


def file_uris(realm: Realm, eid: str, stored: StoredFile, filename: str, base_url: str) -> Entity:
    """``FileAccessUri`` (the authenticated download endpoint) and ``TempDownloadUri``."""
    return {
        "FileAccessUri": f"/v3/company/{realm.realm_id}/download/{eid}",
        "TempDownloadUri": f"{base_url}/attachments/{realm.realm_id}/{eid}/{stored.key}/"
        + quote(filename),
    }


def prepare(
    realm: Realm, obj: Entity, eid: str, old: Entity | None, upload: Upload | None, base_url: str
) -> None:
    """Validate and complete an Attachable before it is stored (create or update)."""
    for k in SERVER_OWNED:
        obj.pop(k, None)
    _check_refs(realm, obj)
    if upload is not None:
        name = obj.get("FileName") or upload.filename
        if not name:
            raise faults.required_missing("FileName")
        if len(upload.content) > MAX_UPLOAD_BYTES:
            raise faults.business(
                f"The file is larger than the {MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit.",
                "Size",
            )
        ctype = str(obj.get("ContentType") or upload.content_type or "application/octet-stream")
        stored = StoredFile(secrets.token_hex(16), upload.content, ctype)
        obj["FileName"] = str(name)
        obj.update(file_uris(realm, eid, stored, str(name), base_url))
        obj["Size"] = len(upload.content)
        obj["ContentType"] = ctype
        realm.attachments[eid] = stored
    elif old is not None and eid in realm.attachments:
        # metadata update: the file stays; its name and type can't be changed without a new file
        for k in ("FileName", "ContentType", *SERVER_OWNED):
            if k in old:
                obj[k] = old[k]
    elif not obj.get("Note") and not obj.get("FileName"):
        raise faults.required_missing("Note")  # a note-only attachable needs its note


def download_uri(realm: Realm, eid: str) -> str:
    """What ``GET /download/{id}`` returns: the temporary URL of the file, as plain text."""
    obj = realm.get("Attachable", eid)
    if obj is None or eid not in realm.attachments or not obj.get("TempDownloadUri"):
        raise faults.object_not_found()
    return str(obj["TempDownloadUri"])


def parse_upload(content_type: str, body: bytes) -> list[tuple[Entity | None, Upload | None]]:
    """Pair ``file_metadata_NN`` (JSON) with ``file_content_NN`` parts, in NN order."""
    if not content_type.lower().startswith("multipart/"):
        raise faults.fault(
            "2010",
            "Request has invalid or unsupported property",
            "Upload requires a multipart/form-data body",
            None,
        )
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n"
    msg = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not isinstance(msg, EmailMessage) or not msg.is_multipart():
        raise faults.fault(
            "2010",
            "Request has invalid or unsupported property",
            "Could not parse the multipart body",
            None,
        )
    meta: dict[str, Entity] = {}
    files: dict[str, Upload] = {}
    for part in msg.iter_parts():
        name = str(part.get_param("name", "", header="content-disposition") or "")
        raw = part.get_payload(decode=True)
        data = raw if isinstance(raw, bytes) else b""
        if name.startswith("file_metadata_"):
            try:
                parsed = json.loads(data.decode("utf-8") or "{}")
            except (UnicodeDecodeError, ValueError) as exc:
                raise faults.fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"Error parsing {name}: {exc}",
                    name,
                ) from exc
            if not isinstance(parsed, dict):
                raise faults.required_missing(name)
            meta[name.removeprefix("file_metadata_")] = parsed
        elif name.startswith("file_content_"):
            files[name.removeprefix("file_content_")] = Upload(
                part.get_filename(), part.get_content_type(), data
            )
    if not files and not meta:
        raise faults.required_missing("file_content_01")
    out: list[tuple[Entity | None, Upload | None]] = []
    for n in sorted(set(meta) | set(files)):
        out.append((meta.get(n), files.get(n)))
    return out


async def temp_download(request: Request) -> Response:
    """The file behind a ``TempDownloadUri`` (no bearer token, like an S3 pre-signed URL)."""
    sb = request.app.state.sandbox
    realm = sb.realms.get(request.path_params["realm"])
    stored = realm.attachments.get(request.path_params["eid"]) if realm is not None else None
    if stored is None or not secrets.compare_digest(stored.key, request.path_params["key"]):
        return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404, media_type="application/xml")
    name = request.path_params["filename"]
    return Response(
        stored.content,
        media_type=stored.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


ROUTES = [Route("/attachments/{realm}/{eid}/{key}/{filename:path}", temp_download)]
