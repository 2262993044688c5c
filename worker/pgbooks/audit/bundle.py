"""Export bundles and their standalone verifier (no database needed).

A bundle is a directory of files plus ``manifest.json`` (sha256 of every file),
``manifest.sha256`` (sha256 of the manifest itself) and, when a key was given,
``manifest.sig`` (Ed25519 over the manifest). The verifier checks, in order: the manifest,
every file's hash (and that no file is missing or unlisted), the audit chain range
(``audit_events.jsonl``: each hash = sha256(prev_hash || canonical), consecutive seq, links;
canonical encoding v1 or v2, see sql/code/audit/chain.sql),
and every signed checkpoint (``checkpoints.jsonl``): its signature, and that its head sits on
the exported chain. Any changed byte in any file makes it fail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pgbooks.audit import signing

MANIFEST = "manifest.json"
MANIFEST_SHA = "manifest.sha256"
MANIFEST_SIG = "manifest.sig"
GENESIS = "00" * 32


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(
    directory: Path,
    files: dict[str, str],
    *,
    kind: str,
    key: Ed25519PrivateKey | None = None,
    on_file: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write ``files`` (name -> text) and the manifest into ``directory`` (created, must be
    empty). Returns the manifest. ``on_file(name)`` is called after each file (progress)."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty")
    hashes: dict[str, str] = {}
    for name in sorted(files):
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad file name {name!r}")
        data = files[name].encode()
        (directory / name).write_bytes(data)
        hashes[name] = _sha256(data)
        if on_file is not None:
            on_file(name)
    manifest: dict[str, Any] = {
        "format": "pgbooks-bundle/1",
        "kind": kind,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": hashes,
        "public_key": signing.public_hex(key) if key else None,
    }
    raw = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (directory / MANIFEST).write_bytes(raw)
    (directory / MANIFEST_SHA).write_text(_sha256(raw) + "\n")
    if key is not None:
        (directory / MANIFEST_SIG).write_text(key.sign(signing.MANIFEST_DOMAIN + raw).hex() + "\n")
    return manifest


@dataclass
class Report:
    """Outcome of a bundle verification."""

    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def _jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name} line {n} is not JSON: {exc}") from exc
    return out


def _check_chain(events: list[dict[str, Any]], tenant: str | None, rep: Report) -> dict[int, str]:
    """Re-hash the exported range; returns seq -> hash of the events that verified."""
    chain: dict[int, str] = {}
    prev_seq: int | None = None
    prev_hash: str | None = None
    for ev in events:
        seq, canonical = int(ev["seq"]), str(ev["canonical"])
        # v1: one JSON array line; v2: a JSON array header line + row_key, before, after lines
        lines = canonical.split("\n")
        fields = json.loads(lines[0])
        shape_ok = (fields[0] == 1 and len(lines) == 1) or (fields[0] == 2 and len(lines) == 4)
        if not shape_ok or fields[2] != seq or (tenant is not None and fields[1] != tenant):
            rep.problems.append(f"audit seq {seq}: canonical row does not match its seq/tenant")
            return chain
        if prev_seq is None:
            if seq == 1 and ev["prev_hash"] != GENESIS:
                rep.problems.append("audit seq 1: prev_hash is not the genesis hash")
                return chain
        elif seq != prev_seq + 1:
            rep.problems.append(f"audit seq {seq}: follows seq {prev_seq} (missing or re-ordered)")
            return chain
        elif ev["prev_hash"] != prev_hash:
            rep.problems.append(f"audit seq {seq}: prev_hash does not match seq {prev_seq}")
            return chain
        digest = _sha256(bytes.fromhex(ev["prev_hash"]) + canonical.encode())
        if digest != ev["hash"]:
            rep.problems.append(f"audit seq {seq}: content does not match its hash")
            return chain
        chain[seq] = digest
        prev_seq, prev_hash = seq, digest
    if events:
        rep.facts["audit_from_seq"] = int(events[0]["seq"])
        rep.facts["audit_head_seq"] = prev_seq
        rep.facts["audit_head_hash"] = prev_hash
    return chain


def _check_checkpoints(
    cps: list[dict[str, Any]],
    chain: dict[int, str],
    tenant: str | None,
    trusted: bytes | None,
    rep: Report,
) -> None:
    verified = 0
    for cp in cps:
        statement = str(cp["statement"])
        pub, sig = bytes.fromhex(cp["public_key"]), bytes.fromhex(cp["signature"])
        doc = json.loads(statement)
        where = f"checkpoint seq {doc.get('seq')}"
        if trusted is not None and pub != trusted:
            rep.problems.append(f"{where}: signed by an unknown key {pub.hex()[:16]}...")
        elif not signing.verify_signature(signing.CHECKPOINT_DOMAIN, statement.encode(), pub, sig):
            rep.problems.append(f"{where}: signature does not verify")
        elif tenant is not None and doc.get("tenant_id") != tenant:
            rep.problems.append(f"{where}: is about tenant {doc.get('tenant_id')}")
        elif chain.get(int(doc["seq"])) != doc.get("head"):
            rep.problems.append(f"{where}: signed head is not on the exported chain")
        else:
            verified += 1
    rep.facts["checkpoints_verified"] = verified


def verify_bundle(directory: Path, public_key: bytes | None = None) -> Report:
    """Verify a bundle offline. ``public_key``: the auditor's trusted key (required signer)."""
    rep = Report()
    mpath = directory / MANIFEST
    if not mpath.is_file():
        rep.problems.append("manifest.json is missing")
        return rep
    raw = mpath.read_bytes()
    sha_path = directory / MANIFEST_SHA
    if not sha_path.is_file() or sha_path.read_bytes() != (_sha256(raw) + "\n").encode():
        rep.problems.append("manifest.json does not match manifest.sha256")
    try:
        manifest = json.loads(raw)
        files: dict[str, str] = dict(manifest["files"])
    except (ValueError, KeyError, TypeError):
        rep.problems.append("manifest.json is not a pgbooks manifest")
        return rep
    sig_path = directory / MANIFEST_SIG
    signer = _unhex(str(manifest["public_key"])) if manifest.get("public_key") else None
    if public_key is not None and signer != public_key:
        rep.problems.append("manifest is not signed by the trusted key")
    if signer is not None:
        sig = sig_path.read_bytes() if sig_path.is_file() else b""
        ok = (
            len(sig) == 129
            and sig.endswith(b"\n")
            and signing.verify_signature(
                signing.MANIFEST_DOMAIN, raw, signer, _unhex(sig[:-1].decode("ascii", "replace"))
            )
        )
        if not ok:
            rep.problems.append("manifest.sig does not verify")
    elif sig_path.exists():
        rep.problems.append("manifest.sig present but the manifest names no public key")
    listed = set(files) | {MANIFEST, MANIFEST_SHA, MANIFEST_SIG}
    for extra in sorted(p.name for p in directory.iterdir() if p.name not in listed):
        rep.problems.append(f"{extra} is not listed in the manifest")
    for name, digest in sorted(files.items()):
        path = directory / name
        if not path.is_file():
            rep.problems.append(f"{name} is missing")
        elif _sha256(path.read_bytes()) != digest:
            rep.problems.append(f"{name}: sha256 differs from the manifest")
    if rep.problems:
        return rep

    rep.facts["kind"] = manifest.get("kind")
    info_name = "period.json" if "period.json" in files else "chain.json"
    info = json.loads((directory / info_name).read_text()) if info_name in files else {}
    tenant = info.get("tenant_id")
    rep.facts["tenant_id"] = tenant
    rep.facts["period"] = info.get("period")
    events: list[dict[str, Any]] = []
    try:
        events = _jsonl(directory / "audit_events.jsonl") if "audit_events.jsonl" in files else []
        cps = _jsonl(directory / "checkpoints.jsonl") if "checkpoints.jsonl" in files else []
        chain = _check_chain(events, tenant, rep)
        _check_checkpoints(cps, chain, tenant, public_key, rep)
        if "documents.jsonl" in files:
            docs = _jsonl(directory / "documents.jsonl")
            rep.facts["documents"] = len(docs)
            if "document_count" in info and info["document_count"] != len(docs):
                rep.problems.append("documents.jsonl does not hold document_count documents")
    except (ValueError, KeyError, TypeError) as exc:
        rep.problems.append(f"malformed bundle content: {exc}")
    if not events:
        rep.problems.append("the bundle holds no audit events")
    if info.get("audit_head_seq") is not None and rep.facts.get("audit_head_seq") != info.get(
        "audit_head_seq"
    ):
        rep.problems.append("audit range does not end at the announced head")
    return rep
