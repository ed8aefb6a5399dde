"""Files that survive a power cut: a rename or a new directory is durable only once the
directory holding it is synced (both services keep content-addressed attachment files)."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def sync_directory(directory: Path) -> None:
    """Make the directory's entries (a file renamed in or out) survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directories(directory: Path) -> None:
    """Make the directory and any missing parent, each new one synced into its parent: a file
    moved into a directory the disk never recorded is lost with it."""
    if directory.is_dir():
        return
    make_directories(directory.parent)
    with suppress(FileExistsError):  # made by another writer meanwhile: sync it all the same
        directory.mkdir()
    sync_directory(directory.parent)
