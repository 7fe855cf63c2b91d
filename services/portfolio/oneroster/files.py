"""Where an export's files come from: a directory, or a zip with them at its root or in one
top-level folder. Files are opened as byte streams and never unpacked to disk."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import IO, Final, Protocol

from services.portfolio.oneroster import spec
from services.portfolio.oneroster.problems import ExportRefused

# What reading a broken or truncated zip member, or a vanished file, raises.
READ_FAILURES: Final = (zipfile.BadZipFile, zlib.error, EOFError, OSError)


def open_files(path: Path) -> ExportFiles:
    if path.is_dir():
        return DirectoryFiles(path)
    if path.is_file():
        return ZipFiles(path)
    raise ExportRefused(path.name or str(path), "no such directory or zip file")


class ExportFiles(Protocol):
    def has(self, name: str) -> bool: ...
    def open(self, name: str) -> IO[bytes]: ...
    def size(self, name: str) -> int: ...
    def close(self) -> None: ...


class DirectoryFiles:
    def __init__(self, path: Path) -> None:
        self._path = path

    def has(self, name: str) -> bool:
        return (self._path / name).is_file()

    def open(self, name: str) -> IO[bytes]:
        return (self._path / name).open("rb")

    def size(self, name: str) -> int:
        return (self._path / name).stat().st_size

    def close(self) -> None:
        pass


class ZipFiles:
    """A zip with the files at its root, or all inside one top-level folder."""

    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except READ_FAILURES as error:
            raise ExportRefused(path.name, f"not a readable zip file ({error})") from None
        members = {
            info.filename: info
            for info in infos
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        }
        prefix = ""
        if spec.MANIFEST not in members:
            folders = {name.split("/", 1)[0] for name in members if "/" in name}
            if len(folders) == 1:
                prefix = f"{folders.pop()}/"
        self._members = {
            name.removeprefix(prefix): info
            for name, info in members.items()
            if name.startswith(prefix) and "/" not in name.removeprefix(prefix)
        }

    def has(self, name: str) -> bool:
        return name in self._members

    def open(self, name: str) -> IO[bytes]:
        return self._zip.open(self._members[name])

    def size(self, name: str) -> int:
        return self._members[name].file_size

    def close(self) -> None:
        self._zip.close()
