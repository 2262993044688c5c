"""Parse ``sql/LOADORDER``: the explicit order in which SQL files are loaded.

The file has two sections. ``[tables]`` lists the declarative state (tables, types, indexes,
comments) used to build a database *without* migrations, which a test diffs against the
database the migrations build. ``[code]`` lists replaceable objects (functions, triggers,
views) that are dropped and reloaded on every deploy. Paths are relative to the repository
root; ``#`` starts a comment. A line ``@path/to/LOADORDER`` includes another list (same
format, no sections) into the current section, so that each area owns its own list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pgbooks import paths


class LoadOrderError(ValueError):
    """LOADORDER is malformed or names a file that does not exist."""


@dataclass(frozen=True)
class LoadOrder:
    """The two ordered lists of files."""

    tables: tuple[Path, ...]
    code: tuple[Path, ...]

    def code_checksum(self) -> str:
        """sha256 over every code file's path and bytes, in load order."""
        digest = hashlib.sha256()
        for path in self.code:
            digest.update(str(path.relative_to(paths.ROOT)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        return digest.hexdigest()


def read_loadorder(path: Path | None = None, root: Path | None = None) -> LoadOrder:
    """Read and validate LOADORDER; every named file must exist and appear once."""
    path = path or paths.LOADORDER
    root = root or paths.ROOT
    sections: dict[str, list[Path]] = {"tables": [], "code": []}
    current: str | None = None
    seen: set[Path] = set()
    for where, line in _lines(path, root):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in sections:
                raise LoadOrderError(f"{where}: unknown section [{current}]")
            continue
        if current is None:
            raise LoadOrderError(f"{where}: file listed before any [section]")
        file = (root / line).resolve()
        if not file.is_file():
            raise LoadOrderError(f"{where}: no such file {line}")
        if file in seen:
            raise LoadOrderError(f"{where}: {line} is listed twice")
        seen.add(file)
        sections[current].append(file)
    return LoadOrder(tables=tuple(sections["tables"]), code=tuple(sections["code"]))


def _lines(path: Path, root: Path, depth: int = 0) -> list[tuple[str, str]]:
    """(location, entry) pairs of a list file with ``@include`` lines expanded."""
    if depth > 4:
        raise LoadOrderError(f"{path}: includes nested too deeply")
    out: list[tuple[str, str]] = []
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@"):
            inc = (root / line[1:].strip()).resolve()
            if not inc.is_file():
                raise LoadOrderError(f"{path}:{lineno}: no such include {line[1:].strip()}")
            included = _lines(inc, root, depth + 1)
            if any(e.startswith("[") for _, e in included):
                raise LoadOrderError(f"{inc}: an included list cannot open sections")
            out.extend(included)
            continue
        out.append((f"{path}:{lineno}", line))
    return out
