"""The OneRoster CSV binding, 1.1 and 1.2: the files we read, their columns in order, enumerations.

The 1EdTech documents are the authority ("OneRoster 1.1 CSV Tables", v1.1.1 of 2023, and
"OneRoster: CSV Binding" 1.2 of 2022 and 1.2.1 of 2023); their column tables were read here
through public readers and writers of them, each list agreeing in at least two:

- orgs, academicSessions, courses, classes, enrollments: the same in 1.1 and 1.2. The 1.1 lists
  as two 1.1 sample bundles in public test code spell them, and Great Minds' and HMH's 1.1
  import guides (classes.csv, users.csv: "must contain all column headers ... in the order
  shown"); the 1.2 lists as the `meibo` Ruby gem's models (hanachin/meibo, lib/meibo/*.rb) and a
  1.2 exporter written for the Japanese OneRoster pilots spell them.
- users 1.1: Great Minds' and PowerSchool Naviance's guides and the 1.1 sample bundles.
- users 1.2: `orgSourcedIds` and `role` moved to roles.csv; userMasterIdentifier, the preferred
  names, primaryOrgSourcedId and pronouns were added at the end. 1.2 has `resourceSourcedIds`
  after `userMasterIdentifier` (meibo's OneRoster::V1_2::User, the Japanese exporter); the 1.2.1
  errata removed it (meibo's V1_2_1 profile, ManageBac's 1.2 guide). Both are in use, so either
  layout is accepted.
- roles (new in 1.2): ManageBac's 1.2 guide, meibo's Role and the Japanese exporter.
- manifest: `propertyName,value` rows `manifest.version` (1.0), `oneroster.version`,
  `file.<name>` = bulk / delta / absent, `source.systemName`, `source.systemCode` (meibo's
  Manifest and the Japanese exporter).

Enumerations come from the same sources. 1.2 lets a district extend an enumeration with a value
starting `ext:`; 1.1 has no such rule.
"""

from __future__ import annotations

from typing import Final, Literal

Version = Literal["1.1", "1.2"]
Mode = Literal["bulk", "delta"]

MANIFEST: Final = "manifest.csv"
MANIFEST_COLUMNS: Final = ("propertyName", "value")
# oneroster.version as written by exporters of each release, and the reader's name for it.
VERSIONS: Final[dict[str, Version]] = {"1.1": "1.1", "1.2": "1.2", "1.2.1": "1.2"}
MODES: Final = ("bulk", "delta", "absent")

EXTENSION_PREFIX: Final = "metadata."
ENUM_EXTENSION_PREFIX: Final = "ext:"

ORGS: Final = "orgs.csv"
ACADEMIC_SESSIONS: Final = "academicSessions.csv"
COURSES: Final = "courses.csv"
CLASSES: Final = "classes.csv"
USERS: Final = "users.csv"
ROLES: Final = "roles.csv"
ENROLLMENTS: Final = "enrollments.csv"

_COMMON = ("sourcedId", "status", "dateLastModified")

ORG_COLUMNS: Final = (*_COMMON, "name", "type", "identifier", "parentSourcedId")
ACADEMIC_SESSION_COLUMNS: Final = (
    *_COMMON,
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
)
COURSE_COLUMNS: Final = (
    *_COMMON,
    "schoolYearSourcedId",
    "title",
    "courseCode",
    "grades",
    "orgSourcedId",
    "subjects",
    "subjectCodes",
)
CLASS_COLUMNS: Final = (
    *_COMMON,
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
)
ENROLLMENT_COLUMNS: Final = (
    *_COMMON,
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
)
USER_COLUMNS_1_1: Final = (
    *_COMMON,
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
)
_USER_1_2_START = (
    *_COMMON,
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
)
_USER_1_2_END = (
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
)
USER_COLUMNS_1_2: Final = (*_USER_1_2_START, *_USER_1_2_END)
USER_COLUMNS_1_2_WITH_RESOURCES: Final = (*_USER_1_2_START, "resourceSourcedIds", *_USER_1_2_END)
ROLE_COLUMNS: Final = (
    *_COMMON,
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
)

# The column layouts a file may have, by version; the first is the one named in refusals.
LAYOUTS: Final[dict[Version, dict[str, tuple[tuple[str, ...], ...]]]] = {
    "1.1": {
        ORGS: (ORG_COLUMNS,),
        ACADEMIC_SESSIONS: (ACADEMIC_SESSION_COLUMNS,),
        COURSES: (COURSE_COLUMNS,),
        CLASSES: (CLASS_COLUMNS,),
        USERS: (USER_COLUMNS_1_1,),
        ENROLLMENTS: (ENROLLMENT_COLUMNS,),
    },
    "1.2": {
        ORGS: (ORG_COLUMNS,),
        ACADEMIC_SESSIONS: (ACADEMIC_SESSION_COLUMNS,),
        COURSES: (COURSE_COLUMNS,),
        CLASSES: (CLASS_COLUMNS,),
        USERS: (USER_COLUMNS_1_2, USER_COLUMNS_1_2_WITH_RESOURCES),
        ROLES: (ROLE_COLUMNS,),
        ENROLLMENTS: (ENROLLMENT_COLUMNS,),
    },
}

STATUSES: Final = ("active", "tobedeleted")
ORG_TYPES: Final = ("department", "school", "district", "local", "state", "national")
SESSION_TYPES: Final = ("gradingPeriod", "semester", "schoolYear", "term")
CLASS_TYPES: Final = ("homeroom", "scheduled")
ENROLLMENT_ROLES: Final = ("administrator", "proctor", "student", "teacher")
ROLE_TYPES: Final = ("primary", "secondary")
USER_ROLES: Final[dict[Version, tuple[str, ...]]] = {
    "1.1": (
        "administrator",
        "aide",
        "guardian",
        "parent",
        "proctor",
        "relative",
        "student",
        "teacher",
    ),
    "1.2": (
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    ),
}
# CEDS "Entry Grade Level", the vocabulary both versions name for grades.
GRADES: Final = (
    "IT",
    "PR",
    "PK",
    "TK",
    "KG",
    *(f"{grade:02d}" for grade in range(1, 14)),
    "PS",
    "UG",
    "Other",
)
