"""The SQLite database file: created readable by its owner only, or one sentence saying why not.

SQLite creates its -wal and -journal files with the mode of the database file, so creating
the database file 0600 before SQLite first opens it keeps all three private (nominations with
their reasons, survey tokens).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

PRIVATE = 0o600


class DatabaseFileError(Exception):
    """The SQLite file cannot be created or opened; the message is one sentence."""


def ensure_private_file(path: Path) -> None:
    """Create `path` 0600 if it does not exist yet; an existing file is left as it is."""
    if path.exists():
        if path.is_dir():
            raise DatabaseFileError(
                f"cannot open the SQLite database {path}: it is a directory, not a file"
            )
        return
    if not path.parent.is_dir():
        raise DatabaseFileError(
            f"cannot create the SQLite database {path}: the directory {path.parent} does not exist"
        )
    try:
        # O_EXCL: another process creating it at the same moment keeps its own (0600) file.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE)
    except FileExistsError:
        return
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise DatabaseFileError(
                f"cannot create the SQLite database {path}: the directory {path.parent} "
                "is not writable"
            ) from None
        raise DatabaseFileError(
            f"cannot create the SQLite database {path}: {exc.strerror or exc}"
        ) from None
    os.close(fd)
