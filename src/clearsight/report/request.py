"""What an export is asked for (format, selection, options) and what it knows of its case.

Options hold only what the person exporting states and the case cannot know: the
CyberTipline incident type and time, who reports, whether the files were public. A
field the caller leaves out is left out of the output, never guessed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from clearsight.categories import CybertipClass
from clearsight.report.selection import ALL, Selection


class ReportFormat(enum.StrEnum):
    HTML = "html"
    JSON = "json"
    CSV = "csv"
    VICS = "vics"
    CYBERTIP = "cybertip"
    BANK_CSV = "bank-csv"
    VICS_HASHSET = "vics-hashset"


class Thumbnails(enum.StrEnum):
    NONE = "none"
    BLURRED = "blurred"


class IncidentType(enum.Enum):
    """The CyberTipline's incident types: a short name for the command line, and the
    text the report carries."""

    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"

    @property
    def key(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_key(cls, key: str) -> IncidentType:
        return cls[key.upper().replace("-", "_")]


@dataclass(frozen=True)
class Reporter:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.first_name or self.last_name or self.email)


@dataclass(frozen=True)
class CybertipOptions:
    """What a CyberTipline report needs that only the reporter knows.

    ``classification`` maps the category codes of human decisions to the industry
    classification (see :mod:`clearsight.report.classification`); a category it does
    not name gets none. ``publicly_available`` None leaves the element out."""

    incident_type: IncidentType
    incident_time: datetime
    reporter: Reporter = field(default_factory=Reporter)
    publicly_available: bool | None = None
    classification: Mapping[str, CybertipClass] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportRequest:
    format: ReportFormat
    selection: Selection = ALL
    thumbnails: Thumbnails = Thumbnails.NONE
    cybertip: CybertipOptions | None = None
    case_number: str | None = None  # the agency's case number, for VICS


@dataclass(frozen=True)
class CaseInfo:
    name: str
    created_at: datetime
    created_by: str  # the clearsight version that created the case


@dataclass(frozen=True)
class ExportContext:
    """What every writer may print about the export itself."""

    case: CaseInfo
    request: ExportRequest
    version: str  # the clearsight version writing the export
    generated_at: datetime  # UTC, naive, as the stores keep times
    audit_head: str  # the audit log's head before this export's own entry
