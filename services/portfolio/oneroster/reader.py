"""Reading a OneRoster CSV export (a directory or a zip) one row at a time.

`open_export` refuses the whole export, before any row is handed out, if it cannot be read as
OneRoster: no manifest, an unknown version, a file the manifest promises but the export lacks,
a header that is not the spec's columns in the spec's order, bytes that are not UTF-8. After
that, every row comes out as a typed record or as a `RowRejected` saying which line and why;
one bad row never stops the rest. Nothing here knows about a database: whether an org or a
class a row names exists is for the caller to decide.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, TypeVar

from services.portfolio.oneroster import spec
from services.portfolio.oneroster.cells import RowProblem
from services.portfolio.oneroster.files import READ_FAILURES, ExportFiles, open_files
from services.portfolio.oneroster.problems import ExportRefused, RowRejected
from services.portfolio.oneroster.records import (
    AcademicSession,
    Class,
    Course,
    Enrollment,
    Org,
    Record,
    User,
    UserRole,
)
from services.portfolio.oneroster.rows import (
    Builder,
    FileLayout,
    RoleAssignments,
    academic_session_builder,
    class_builder,
    course_builder,
    enrollment_builder,
    org_builder,
    role_builder,
    user_builder,
)

T = TypeVar("T")

PROGRESS_EVERY: Final = 1000
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the reader is in one file: enough for a progress bar with rows per second."""

    file: str
    bytes_read: int
    total_bytes: int
    rows: int


ProgressCallback = Callable[[Progress], None]


def open_export(
    path: str | os.PathLike[str], *, on_progress: ProgressCallback | None = None
) -> OneRosterExport:
    """Open and validate an export; use it as a context manager.

    Raises ExportRefused when the export as a whole cannot be read; then nothing was handed out.
    `on_progress` hears about each file every thousand rows and when the file is done.
    """
    export = OneRosterExport(open_files(Path(path)), on_progress=on_progress)
    try:
        export.validate()
    except BaseException:
        export.close()
        raise
    return export


class OneRosterExport:
    """A validated export. Each method streams one file's rows: records and rejections."""

    def __init__(self, files: ExportFiles, *, on_progress: ProgressCallback | None) -> None:
        self._files = files
        self._on_progress = on_progress
        self._layouts: dict[str, FileLayout] = {}
        self._assignments = RoleAssignments()
        self.version: spec.Version = "1.2"
        self.modes: dict[str, spec.Mode] = {}  # the files read here that the export has
        self.source_system: str | None = None

    def __enter__(self) -> OneRosterExport:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._files.close()

    # --- Validation ------------------------------------------------------------------------------

    def validate(self) -> None:
        """Check the manifest, then every header, then every byte, before any row is read."""
        self._read_manifest()
        self._layouts = {name: self._read_header(name, mode) for name, mode in self.modes.items()}
        for name in self.modes:
            self._check_utf8(name)

    def _read_manifest(self) -> None:
        if not self._files.has(spec.MANIFEST):
            raise ExportRefused(spec.MANIFEST, "missing; every OneRoster export starts with it")
        rows = list(csv.reader(io.StringIO(self._manifest_text(), newline="")))
        if not rows or tuple(cell.strip() for cell in rows[0]) != spec.MANIFEST_COLUMNS:
            raise ExportRefused(spec.MANIFEST, "the header must be propertyName,value")
        properties = {row[0].strip(): row[1].strip() for row in rows[1:] if len(row) >= 2}
        written = properties.get("oneroster.version")
        if written is None:
            raise ExportRefused(spec.MANIFEST, "no oneroster.version row (1.1 or 1.2)")
        if written not in spec.VERSIONS:
            raise ExportRefused(
                spec.MANIFEST,
                f"oneroster.version '{written}' is not one this reader knows (1.1, 1.2)",
            )
        self.version = spec.VERSIONS[written]
        self.source_system = properties.get("source.systemName") or None
        readable = spec.LAYOUTS[self.version]
        for property_name, value in properties.items():
            if not property_name.startswith("file."):
                continue
            name = f"{property_name.removeprefix('file.')}.csv"
            mode = value.casefold()
            if mode not in spec.MODES:
                raise ExportRefused(
                    spec.MANIFEST, f"{property_name} is '{value}', not bulk, delta or absent"
                )
            if mode == "absent":
                continue
            if not self._files.has(name):
                raise ExportRefused(name, f"manifest.csv says {mode}, but the export has no {name}")
            if name in readable:
                self.modes[name] = "bulk" if mode == "bulk" else "delta"

    def _manifest_text(self) -> str:
        with self._files.open(spec.MANIFEST) as raw:
            data = raw.read(_CHUNK)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise ExportRefused(spec.MANIFEST, f"line {line} is not UTF-8 text") from None

    def _read_header(self, name: str, mode: spec.Mode) -> FileLayout:
        try:
            with self._files.open(name) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                header = [cell.strip() for cell in next(csv.reader(text), [])]
        except UnicodeDecodeError:
            self._check_utf8(name)
            raise ExportRefused(name, "the header is not UTF-8 text") from None
        except READ_FAILURES as error:
            raise ExportRefused(name, f"cannot be read ({error})") from None
        layouts = spec.LAYOUTS[self.version][name]
        named = layouts[-1] if "resourceSourcedIds" in header else layouts[0]
        starts = f"(OneRoster {self.version} {name} starts {','.join(named)})"
        columns = next(
            (layout for layout in layouts if tuple(header[: len(layout)]) == layout), None
        )
        if columns is None:
            raise ExportRefused(name, f"{_header_problem(header, named)} {starts}")
        extensions: list[tuple[int, str]] = []
        for position, column in enumerate(header[len(columns) :], start=len(columns)):
            extension = column.removeprefix(spec.EXTENSION_PREFIX)
            if not column.startswith(spec.EXTENSION_PREFIX) or not extension:
                raise ExportRefused(
                    name,
                    f"column '{column}' follows the OneRoster columns but is not named "
                    f"metadata.<name> {starts}",
                )
            if any(extension == known for _, known in extensions):
                raise ExportRefused(name, f"column '{column}' appears twice")
            extensions.append((position, extension))
        return FileLayout(name, self.version, mode, columns, tuple(extensions))

    def _check_utf8(self, name: str) -> None:
        """Refuse a file with bytes that are not UTF-8, naming the line they are on."""
        lines_before, carried = 0, b""
        try:
            with self._files.open(name) as raw:
                while chunk := raw.read(_CHUNK):
                    data = carried + chunk
                    try:
                        data.decode("utf-8")
                        carried = b""
                    except UnicodeDecodeError as error:
                        # A character cut in two by the chunk boundary is finished by the next.
                        if error.end == len(data) and len(data) - error.start < 4:
                            data, carried = data[: error.start], data[error.start :]
                        else:
                            line = lines_before + data.count(b"\n", 0, error.start) + 1
                            raise ExportRefused(
                                name,
                                f"line {line} is not UTF-8 text (byte 0x{data[error.start]:02X});"
                                " export the file as UTF-8",
                            ) from None
                    lines_before += data.count(b"\n")
        except READ_FAILURES as error:
            raise ExportRefused(name, f"cannot be read ({error})") from None
        if carried:
            raise ExportRefused(name, f"line {lines_before + 1} ends in the middle of a character")

    # --- Rows ------------------------------------------------------------------------------------

    def orgs(self) -> Iterator[Org | RowRejected]:
        return self._records(spec.ORGS, org_builder)

    def academic_sessions(self) -> Iterator[AcademicSession | RowRejected]:
        return self._records(spec.ACADEMIC_SESSIONS, academic_session_builder)

    def courses(self) -> Iterator[Course | RowRejected]:
        return self._records(spec.COURSES, course_builder)

    def classes(self) -> Iterator[Class | RowRejected]:
        return self._records(spec.CLASSES, class_builder)

    def enrollments(self) -> Iterator[Enrollment | RowRejected]:
        return self._records(spec.ENROLLMENTS, enrollment_builder)

    def users(self) -> Iterator[User | RowRejected]:
        """users.csv. In 1.2 each user comes with their roles.csv rows, which are read into
        memory first to be joined; a role for someone users.csv lacks is rejected."""
        layout = self._layouts.get(spec.USERS)
        if self.version == "1.1":
            if layout is not None:
                yield from self._stream(layout, user_builder(layout, assignments=self._assignments))
            return
        held: dict[str, UserRole | tuple[UserRole, ...]] = {}
        roles_layout = self._layouts.get(spec.ROLES)
        if roles_layout is not None:
            # (A rejected role names its user: what is held of them is kept as it is.)
            build_role = role_builder(roles_layout, self._assignments)
            user_of_role = roles_layout.position("userSourcedId")
            for item in self._stream(roles_layout, build_role, key_at=user_of_role):
                if isinstance(item, RowRejected):
                    yield item
                    continue
                user_id, role = item
                earlier = held.get(user_id)
                if earlier is None:
                    held[user_id] = role
                elif isinstance(earlier, UserRole):
                    held[user_id] = (earlier, role)
                else:
                    held[user_id] = (*earlier, role)

        def roles_of(user_id: str) -> tuple[UserRole, ...]:
            found = held.pop(user_id, None)
            if found is None:
                return ()
            return (found,) if isinstance(found, UserRole) else found

        if layout is not None:
            build = user_builder(layout, assignments=self._assignments, roles_of=roles_of)
            # A rejected user's roles are dropped with it, not reported a second time.
            yield from self._stream(layout, build, on_rejected=lambda cells: roles_of(cells[0]))
        if roles_layout is not None and held:
            yield from self._roles_without_user(roles_layout, held.keys())

    def records(self) -> Iterator[Record | RowRejected]:
        """Every file, in the order references point: orgs first, enrollments last."""
        yield from self.orgs()
        yield from self.academic_sessions()
        yield from self.courses()
        yield from self.classes()
        yield from self.users()
        yield from self.enrollments()

    def _records(
        self, name: str, make_builder: Callable[[FileLayout], Builder[T]]
    ) -> Iterator[T | RowRejected]:
        layout = self._layouts.get(name)
        if layout is None:
            return iter(())
        return self._stream(layout, make_builder(layout))

    def _stream(
        self,
        layout: FileLayout,
        build: Builder[T],
        *,
        on_rejected: Callable[[list[str]], object] | None = None,
        key_at: int = 0,
    ) -> Iterator[T | RowRejected]:
        name, width, report = layout.file, layout.width, self._on_progress
        total = self._files.size(name)
        rows = 0
        # A cell may be as long as its file (the csv module's default stops at 128 KiB, with an
        # error mid-import): an absurd one is then a row like another, rejected or cut short.
        csv.field_size_limit(max(csv.field_size_limit(), total + 1))
        with self._files.open(name) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            next(reader, None)
            next_line = reader.line_num + 1
            for cells in reader:
                line, next_line = next_line, reader.line_num + 1
                if not cells:
                    continue
                rows += 1
                item: T | RowRejected
                key = cells[key_at] if len(cells) > key_at else None
                if len(cells) != width:
                    item = RowRejected(
                        name, line, f"has {len(cells)} cells; the header has {width}", key
                    )
                else:
                    try:
                        item = build(cells, line)
                    except RowProblem as problem:
                        item = RowRejected(name, line, problem.reason, key)
                if on_rejected is not None and isinstance(item, RowRejected):
                    on_rejected(cells)
                yield item
                if report is not None and rows % PROGRESS_EVERY == 0:
                    report(Progress(name, raw.tell(), total, rows))
        if report is not None:
            report(Progress(name, total, total, rows))

    def _roles_without_user(
        self, layout: FileLayout, user_ids: Iterable[str]
    ) -> Iterator[RowRejected]:
        """A second look at roles.csv, only when some roles named users that never came."""
        missing, user_of_role = set(user_ids), layout.position("userSourcedId")
        with self._files.open(layout.file) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            next(reader, None)
            next_line = reader.line_num + 1
            for cells in reader:
                line, next_line = next_line, reader.line_num + 1
                user_id = cells[user_of_role] if len(cells) == layout.width else None
                if user_id in missing:
                    yield RowRejected(
                        layout.file, line, f"userSourcedId '{user_id}' has no row in users.csv"
                    )


def _header_problem(header: list[str], expected: tuple[str, ...]) -> str:
    if not header:
        return "the file is empty; it needs a header row"
    for position, column in enumerate(expected):
        if column not in header:
            return f"missing column '{column}'"
        if position >= len(header) or header[position] != column:
            found = header[position] if position < len(header) else "nothing"
            return f"column {position + 1} is '{found}', expected '{column}'"
    return "the columns are not in the spec's order"
