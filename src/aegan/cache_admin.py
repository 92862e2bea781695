"""``aegan cache``: what aegan's caches hold, and removing what is no longer used.

Two caches grow with use (``aegan.data.cache.user_cache``): ``datasets`` (decoded images,
``<stem>.x.npy``, ``.y.npy``, ``.json``) and ``fid_stats`` (reference statistics,
``<stem>.npz``). An *entry* is the files sharing a stem; its *last use* is the newest
modification time among them: a run that reads an entry touches it (``touch``). Removing an
entry is safe while a run memory-maps it (the mapping outlives the name); a half-written
temporary file (``.<name>.tmp-...``) is removed only when older than a day, so a builder at
work is left alone. Standard library only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

KINDS = ("datasets", "fid_stats")
TEMP_GRACE_SECONDS = 86400


@dataclass
class Entry:
    kind: str
    stem: str
    files: list[Path]
    size: int
    last_use: float
    temporary: bool = False


def user_cache(kind: str, cache_dir: str | None = None) -> Path:
    """aegan's cache folder for ``kind`` ("datasets", "fid_stats"): ``cache_dir`` if given, else
    ``$AEGAN_CACHE/<kind>``, else ``$XDG_CACHE_HOME/aegan/<kind>`` (``~/.cache`` by default)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get("AEGAN_CACHE"):
        return Path(os.environ["AEGAN_CACHE"]).expanduser() / kind
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aegan" / kind


def touch(path: Path) -> None:
    """Mark a cache file as used now (its modification time); a read-only cache is left as it is."""
    try:
        os.utime(path)
    except OSError:
        pass


def entries(kind: str, root: Path) -> list[Entry]:
    """The entries of one cache folder, oldest last use first."""
    groups: dict[tuple[str, bool], list[Path]] = {}
    for path in root.iterdir() if root.is_dir() else []:
        if not path.is_file():
            continue
        temporary = path.name.startswith(".") and ".tmp-" in path.name
        stem = path.name if temporary else path.name.split(".", 1)[0]
        groups.setdefault((stem, temporary), []).append(path)
    out = []
    for (stem, temporary), files in groups.items():
        stats = [f.stat() for f in files]
        out.append(Entry(kind, stem, sorted(files), sum(s.st_size for s in stats), max(s.st_mtime for s in stats),
                         temporary))
    return sorted(out, key=lambda e: e.last_use)


def all_entries(roots: dict[str, Path]) -> list[Entry]:
    return [e for kind, root in roots.items() for e in entries(kind, root)]


def stale(found: list[Entry], older_than_days: float | None, now: float | None = None) -> list[Entry]:
    """The entries to remove: unused for ``older_than_days`` (None: all), temporary files only
    past their grace period."""
    now = time.time() if now is None else now
    limit = None if older_than_days is None else now - older_than_days * 86400
    return [e for e in found
            if (limit is None or e.last_use < limit) and (not e.temporary or e.last_use < now - TEMP_GRACE_SECONDS)]


def remove(chosen: list[Entry]) -> int:
    """Delete the entries' files (the metadata file first, so a half-removed entry is never used); bytes freed."""
    freed = 0
    for entry in chosen:
        for path in sorted(entry.files, key=lambda p: (p.suffix not in (".json", ".npz"), p.name)):
            try:
                size = path.stat().st_size
                path.unlink()
                freed += size
            except FileNotFoundError:
                pass
    return freed


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def summary(roots: dict[str, Path], now: float | None = None) -> str:
    """One line per cache: its folder, entries, size and the oldest last use."""
    now = time.time() if now is None else now
    lines = []
    for kind, root in roots.items():
        found = entries(kind, root)
        if not found:
            lines.append(f"{kind}: {root} (empty)")
            continue
        oldest = (now - found[0].last_use) / 86400
        lines.append(f"{kind}: {root}: {len(found)} entries, {human(sum(e.size for e in found))}, "
                     f"oldest last used {oldest:.0f} days ago")
    return "\n".join(lines)
