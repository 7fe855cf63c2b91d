"""OneRoster CSV exports (1.1 and 1.2) read as typed records, one row at a time.

    with open_export("district.zip", on_progress=show) as export:
        for item in export.records():
            if isinstance(item, RowRejected):
                report(str(item))  # "users.csv:17: givenName is empty"
            else:
                apply(item)

Pure: no database, no network. See reader.py for what refuses an export and records.py for
what each record carries.
"""

from services.portfolio.oneroster.problems import ExportRefused, RowRejected
from services.portfolio.oneroster.reader import (
    OneRosterExport,
    Progress,
    ProgressCallback,
    open_export,
)
from services.portfolio.oneroster.records import (
    KIND_OF_ROLE,
    AcademicSession,
    Class,
    Course,
    Enrollment,
    Org,
    Record,
    RoleKind,
    Sourced,
    Status,
    User,
    UserRole,
)

__all__ = [
    "KIND_OF_ROLE",
    "AcademicSession",
    "Class",
    "Course",
    "Enrollment",
    "ExportRefused",
    "OneRosterExport",
    "Org",
    "Progress",
    "ProgressCallback",
    "Record",
    "RoleKind",
    "RowRejected",
    "Sourced",
    "Status",
    "User",
    "UserRole",
    "open_export",
]
