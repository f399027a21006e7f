"""The households app's models, one module per concern, re-exported here so that
`from households.models import Household` keeps working (Zulip's `zerver/models/`)."""

from .events import EventKind, LifeEvent, TemporarySerial
from .fieldwork import FieldSubmission, ReviewState, SubmissionKind
from .households import CURRENT_MEMBER, DataSource, Household, Member, MemberStatus, SanitationLevel
from .indicators import (
    AreaTotal,
    DirtyRegion,
    Indicator,
    IndicatorValue,
    TileCache,
    TileCell,
    Topic,
    UnitIndicatorValue,
)
from .jobs import (
    UPLOAD_RELEASED,
    ExportJob,
    ExportKind,
    ExportStatus,
    ImportJob,
    ImportStatus,
    JobLease,
)
from .rounds import HouseholdObservation, RoundSource, RoundStatus, SurveyRound

__all__ = [
    "CURRENT_MEMBER",
    "UPLOAD_RELEASED",
    "AreaTotal",
    "DataSource",
    "DirtyRegion",
    "EventKind",
    "ExportJob",
    "ExportKind",
    "ExportStatus",
    "FieldSubmission",
    "Household",
    "HouseholdObservation",
    "ImportJob",
    "ImportStatus",
    "Indicator",
    "IndicatorValue",
    "JobLease",
    "LifeEvent",
    "Member",
    "MemberStatus",
    "ReviewState",
    "RoundSource",
    "RoundStatus",
    "SanitationLevel",
    "SubmissionKind",
    "SurveyRound",
    "TemporarySerial",
    "TileCache",
    "TileCell",
    "Topic",
    "UnitIndicatorValue",
]
