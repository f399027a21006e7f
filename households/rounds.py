"""Survey rounds: opening one, closing one (the panel and the frozen figures), and which
round an import belongs to. See docs/architecture.md, "Rounds".
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from desapresisi.errors import InvalidInput, NotReady
from desapresisi.i18n import Message

from .indicators.panel import household_shares_sql
from .indicators.rollup import indicators_refresh
from .models import HouseholdObservation, Indicator, RoundSource, RoundStatus, SurveyRound


def open_round() -> SurveyRound | None:
    return SurveyRound.objects.filter(status=RoundStatus.OPEN).first()


def round_open(
    *,
    code: str,
    name: str,
    source: str,
    reference_date: dt.date,
    fieldwork_start: dt.date | None = None,
    fieldwork_end: dt.date | None = None,
    decile_source: str = "",
    decile_vintage: str = "",
) -> SurveyRound:
    """Open a new round: from now on every import and edit belongs to it, and the rollup
    counts the current households as its figures (recounted here, in full)."""
    if source not in RoundSource.values:
        raise InvalidInput({"source": _("Sumber putaran tidak dikenal.")})
    if SurveyRound.objects.filter(code=code).exists():
        raise InvalidInput({"code": _("Kode putaran sudah dipakai.")})
    if open_round() is not None:
        raise NotReady(_("Tutup dulu putaran yang terbuka sebelum membuka yang baru."))
    try:
        with transaction.atomic():
            survey_round = SurveyRound.objects.create(
                code=code,
                name=name,
                source=source,
                reference_date=reference_date,
                fieldwork_start=fieldwork_start,
                fieldwork_end=fieldwork_end,
                decile_source=decile_source,
                decile_vintage=decile_vintage,
            )
    except IntegrityError as error:  # a second round opened concurrently
        raise NotReady(_("Hanya satu putaran pendataan yang boleh terbuka.")) from error
    indicators_refresh(full=True)
    return survey_round


def round_close(*, survey_round: SurveyRound, user=None) -> int:
    """Close the open round: bring its figures up to date, write every household's
    observation (one INSERT ... SELECT) and mark the round closed, in one transaction.
    From then on the rollup never rewrites this round's values. Returns the households
    observed."""
    with transaction.atomic():
        locked = SurveyRound.objects.select_for_update().get(pk=survey_round.pk)
        if locked.status != RoundStatus.OPEN:
            raise NotReady(_("Putaran ini sudah ditutup."))
        sql, params = household_shares_sql(list(Indicator.objects.filter(active=True)))
        with connection.cursor() as cursor:
            # Held until commit: an edit committed now would be in the figures but not in
            # the panel (or the other way round).
            cursor.execute("LOCK TABLE households_household, households_member IN SHARE MODE")
            # The figures the round freezes: every pending edit counted first.
            indicators_refresh()
            cursor.execute(
                f"""
                INSERT INTO households_householdobservation
                    (survey_round_id, household_id, region_id, answers, indicators)
                SELECT %s, s.household_id, s.region_id, s.answers, s.indicators
                FROM ({sql}) s
                """,  # noqa: S608 - built from our own specs, values are parameters
                [locked.pk, *params],
            )
            observed = cursor.rowcount
        locked.status = RoundStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.closed_by = user if user is not None and user.is_authenticated else None
        locked.save(update_fields=["status", "closed_at", "closed_by"])
    survey_round.refresh_from_db()
    return observed


def import_round_problem(*, code: str | None) -> Message | None:
    """Why an import may not declare round `code` (empty: the open round), or None. It
    must be the open round: a closed round's answers are frozen. An installation that
    never opened a round imports without one."""
    current = open_round()
    if not code:
        if current is None and SurveyRound.objects.exists():
            return Message(
                gettext_noop("Tidak ada putaran pendataan yang terbuka; buka putaran dulu.")
            )
        return None
    if not SurveyRound.objects.filter(code=code).exists():
        return Message(gettext_noop("Putaran %(code)s tidak dikenal."), code=code)
    if current is None or current.code != code:
        return Message(
            gettext_noop(
                "Putaran %(code)s tidak terbuka; impor hanya masuk ke putaran yang terbuka."
            ),
            code=code,
        )
    return None


def import_round(*, code: str | None) -> SurveyRound | None:
    """The round an import declares (see `import_round_problem`); InvalidInput naming
    `survey_round` when it may not."""
    problem = import_round_problem(code=code)
    if problem is not None:
        raise InvalidInput({"survey_round": str(problem)})
    return open_round()


def observations_for(*, survey_round: SurveyRound):
    return HouseholdObservation.objects.filter(survey_round=survey_round)
