"""Who may open the lake's files: a domain's tables its OS group, the platform's own state its user only.

A table's folder is `<lake>/<domain>/<layer>/<table>`, mode 2750 with the domain's group
(MESH_DOMAIN_GROUPS, default the platform user's group); its files are 0640. The platform folder
`<lake>/_platform` (read audit, access requests, masking key, logs) is 0700, its files 0600. Nothing is
ever readable or writable by others, whatever the umask.

Why not set a umask around writes: `os.umask` is per process, so a write in one thread would change
(or restore too early) the mode of files other threads create at the same time, and Spark's executors
(a JVM, maybe other hosts) never see it. Instead, in two steps:
1. before a write the table's folder exists, closed (2750, or 0700 under `_platform`): from its creation
   on, no file delta-rs or Spark creates inside is reachable by others, whatever mode it gets. The setgid
   bit makes every file and folder created inside inherit the domain's group.
2. after the commit, the files of the new versions (log entries, checkpoints, the data files they add,
   Spark's staging folder) get their mode, so they stay closed when copied out with their modes
   (`cp -p`, `rsync -p`, backups). Walking back from the newest log entry stops at the first already
   closed one: a commit costs a few chmods however long the table's history, and commits of concurrent
   writers are closed too.
"""

from __future__ import annotations

import fcntl
import grp
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from mesh_platform import settings
from mesh_platform.storage.layout import BRONZE, GOLD

PLATFORM_DIR = "_platform"
LOG_DIR = "_delta_log"


@dataclass(frozen=True)
class Access:
    gid: int
    file_mode: int
    dir_mode: int


def domain_access(domain: str) -> Access:
    """A domain's tables: read by its group (consumers' code locations run as members), written by the owner."""
    group = settings.domain_groups().get(domain)
    if group is None:
        return Access(os.getgid(), 0o640, 0o2750)
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValueError(f"MESH_DOMAIN_GROUPS: {domain}={group}: no OS group {group!r}; create it "
                         f"(groupadd {group}) or map {domain} to an existing group") from None
    return Access(gid, 0o640, 0o2750)


PLATFORM = Access(os.getgid(), 0o600, 0o700)


def _close(path: Path, access: Access) -> bool:
    """Gives `path` its mode and group; False if it already had them."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return False
    mode = access.dir_mode if stat.S_ISDIR(info.st_mode) else access.file_mode
    if stat.S_IMODE(info.st_mode) == mode and info.st_gid == access.gid:
        return False
    if info.st_gid != access.gid:
        try:
            os.chown(path, -1, access.gid)
        except PermissionError:
            raise PermissionError(f"{path}: cannot give it to group {access.gid}: the platform user must be a "
                                  "member of every group in MESH_DOMAIN_GROUPS") from None
    os.chmod(path, mode)  # after chown, which may clear the setgid bit
    return True


def _ensure_dir(path: Path, access: Access) -> None:
    path.mkdir(exist_ok=True)
    _close(path, access)


def table_access(uri: str | Path) -> Access:
    path = Path(uri)
    if path.parent.name == PLATFORM_DIR:
        return PLATFORM
    if path.parent.name in (BRONZE, GOLD):
        return domain_access(path.parents[1].name)
    return Access(os.getgid(), 0o640, 0o2750)


def _lake_folder(folder: Path) -> None:
    """The lake root: traversable by every domain's group, never writable by others (no forged domain folder)."""
    new = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if (new or folder == settings.lake_root()) and mode & 0o022:
        os.chmod(folder, mode & ~0o022)


def platform_folder(lake_root: Path) -> Path:
    """`<lake>/_platform`, created closed (0700) if missing, closed again if someone opened it."""
    folder = Path(lake_root) / PLATFORM_DIR
    _lake_folder(folder.parent)
    _ensure_dir(folder, PLATFORM)
    return folder


def private_folder(folder: Path) -> Path:
    """A folder of the platform user only (0700), e.g. the seed's raw TPC-H files, created if missing."""
    _lake_folder(folder.parent)
    _ensure_dir(folder, PLATFORM)
    return folder


def prepare_table(uri: str | Path) -> Access:
    """Before a write: the table's folder exists and is closed; returns the access its files get.

    The lake, domain and layer folders are closed too when they are new or in the configured lake, never
    a folder of the machine that merely happens to hold a table.
    """
    path, access = Path(uri), table_access(uri)
    if access is PLATFORM:
        platform_folder(path.parent.parent)
    elif path.parent.name in (BRONZE, GOLD):
        layer, domain = path.parent, path.parents[1]
        in_lake = domain.parent == settings.lake_root()
        _lake_folder(domain.parent)
        for folder in (domain, layer):
            new = not folder.exists()
            folder.mkdir(exist_ok=True)
            if new or in_lake:
                _close(folder, access)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    _ensure_dir(path, access)
    return access


def close_new_versions(uri: str | Path, access: Access, latest: int) -> int:
    """After a commit: closes the files of versions `latest`, `latest - 1`, ... back to the first closed
    one (no listing of the log, however long); returns how many versions it closed."""
    table, closed = Path(uri), 0
    log = table / LOG_DIR
    _close(table, access)
    _close(log, access)
    for version in range(latest, -1, -1):
        entry = log / f"{version:020d}.json"
        if not entry.exists() or not _close(entry, access):
            break
        closed += 1
        for line in entry.read_text().splitlines():
            added = json.loads(line).get("add")
            if added:
                data = table / unquote(added["path"])
                for folder in reversed(data.relative_to(table).parents[:-1]):  # partition or staging folders
                    _close(table / folder, access)
                if data.exists():
                    _close(data, access)
        for checkpoint in log.glob(f"{entry.stem}.checkpoint*.parquet"):
            _close(checkpoint, access)
    if (log / "_last_checkpoint").exists():
        _close(log / "_last_checkpoint", access)
    return closed


def close_tree(root: Path, access: Access) -> None:
    """Every file and folder under `root` (a Spark staging folder: its checksums and _SUCCESS too)."""
    _close(root, access)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            _close(Path(folder) / name, access)


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """One holder at a time across processes: an advisory lock on `path` (created 0600 in a closed folder)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def replace_private(path: Path, text: str, durable: bool = True) -> None:
    """Writes `text` to `path` (0600 whatever the umask) atomically: readers see the previous file or the
    new one, never half of one. `durable`: flushed to disk before it replaces the previous file."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(text)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise

