"""The one validator of values every way in shares: the operator's forms (through the write
services), the REST API (the same services) and the census import (`census_import.validate`).

Each rule takes plain values and returns what is wrong as a `Message` (an Indonesian msgid
with its parameters, translated when shown; the import stores it, a form or the API shows
it at once), or None. The callers decide only which field or column the verdict belongs
to, so the same bad value gets the same message wherever it was typed.

Rules here read no database and know no request: checks against stored rows (a number
held by another record, the location rule's village boundary) stay with the services
that own those reads (`services.locations_check`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from django.db.models import CheckConstraint, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_noop

from desapresisi.i18n import Message
from desapresisi.masking import mask_number

from . import codebook as cb

# Prefix digit of a portal's temporary NIK or No. KK (no province code starts with 0): a
# birth or a split recorded before Dukcapil issued the number.
TEMPORARY_PREFIX = "0"
# The earliest birth date and survey date a record may carry (the models' check constraints
# say so too).
SIXTEEN_DIGITS = re.compile(r"[0-9]{16}")
FEWER_DIGITS = re.compile(r"[0-9]{1,15}")
EARLIEST_BIRTH = dt.date(1900, 1, 1)
EARLIEST_SURVEY = dt.date(2000, 1, 1)

_SCIENTIFIC = re.compile(r"^[0-9]([.,][0-9]+)?[eE][+]?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^[0-9]+[.,]0+$")
_LONG_DIGITS = re.compile(r"[0-9]{11,}")

REQUIRED = gettext_noop("Wajib diisi.")
FUTURE_EVENT = gettext_noop("Tanggal peristiwa tidak boleh di masa depan.")
BEFORE_BIRTH = gettext_noop("Tanggal peristiwa tidak boleh sebelum tanggal lahir.")


def mask_digits(text: str) -> str:
    """Every identity-length run of digits in `text` masked as the portal masks NIK/KK
    (a mangled cell such as 6409010903850001.0 keeps its shape, not its digits)."""
    return _LONG_DIGITS.sub(lambda match: mask_number(match.group()), text)


def identity_problem(text: str, label: str) -> Message | None:
    """The shape of a NIK or No. KK (`label` names which): 16 digits as text. Names the
    usual ways a spreadsheet mangles one (scientific notation, a decimal, lost leading
    zeros), which a number pasted into a form shows just the same."""
    if SIXTEEN_DIGITS.fullmatch(text):
        return None
    if _SCIENTIFIC.match(text):
        return Message(
            gettext_noop(
                "%(label)s ditulis dalam notasi ilmiah (%(text)s): Excel mengubahnya menjadi "
                "angka dan digit terakhirnya hilang. Format kolom sebagai Teks dan ketik ulang."
            ),
            label=label,
            text=text,
        )
    if _FLOAT_TEXT.match(text):
        return Message(
            gettext_noop(
                "%(label)s tersimpan sebagai angka desimal (%(text)s). Format kolom sebagai Teks."
            ),
            label=label,
            text=mask_digits(text),
        )
    if FEWER_DIGITS.fullmatch(text):
        return Message(
            gettext_noop(
                "%(label)s hanya %(digits)s digit, harus 16: angka 0 di depan kemungkinan "
                "hilang karena kolom disimpan sebagai angka."
            ),
            label=label,
            digits=len(text),
        )
    return Message(gettext_noop("%(label)s harus 16 digit angka."), label=label)


def issued_identity_problem(text: str, label: str) -> Message | None:
    """An issued NIK or No. KK as typed: given, of the right shape, and not one of the
    portal's temporary numbers (prefix 0)."""
    if not text:
        return Message(REQUIRED)
    problem = identity_problem(text, label)
    if problem is not None:
        return problem
    if text.startswith(TEMPORARY_PREFIX):
        return Message(
            gettext_noop(
                "%(label)s berawalan 0 adalah nomor sementara portal: isi nomor yang "
                "diterbitkan Dukcapil."
            ),
            label=label,
        )
    return None


def nik_birth_mismatch(nik: str, birth: dt.date, sex: int | None) -> tuple[str, Message] | None:
    """The one rule of a NIK against its holder: digits 7-12 state the birth date (DDMMYY,
    +40 on the day for women). Returns the answer that contradicts the NIK
    ("tanggal_lahir" or "jenis_kelamin") and why, or None. A NIK that is not 16 digits is
    `identity_problem`'s and is not judged here."""
    if not SIXTEEN_DIGITS.fullmatch(nik or ""):
        return None
    day = int(nik[6:8])
    female = day > 40
    day -= 40 if female else 0
    if (day, int(nik[8:10]), int(nik[10:12])) != (birth.day, birth.month, birth.year % 100):
        return "tanggal_lahir", Message(
            gettext_noop(
                "Tanggal lahir tidak cocok dengan NIK (digit 7-12 menyatakan %(digits)s: "
                "DDMMYY, +40 pada tanggal untuk perempuan)."
            ),
            digits=nik[6:12],
        )
    if sex is not None and female != (sex == 2):
        return "jenis_kelamin", Message(
            gettext_noop("Jenis kelamin tidak cocok dengan NIK (tanggal +40 berarti perempuan).")
        )
    return None


def birth_date_problem(birth: dt.date, *, latest: dt.date | None = None) -> Message | None:
    """A birth date of a record: from 1900 up to `latest` (the survey date of the
    household, or today)."""
    latest = latest or timezone.localdate()
    if EARLIEST_BIRTH <= birth <= latest:
        return None
    return Message(gettext_noop("Tanggal lahir tidak masuk akal (1900 s.d. tanggal survei)."))


def survey_date_problem(survey: dt.date) -> Message | None:
    """A household's survey date: from 2000 up to today."""
    if EARLIEST_SURVEY <= survey <= timezone.localdate():
        return None
    return Message(gettext_noop("Tanggal survei tidak masuk akal (2000 s.d. hari ini)."))


def member_identity_problems(
    *, nik: str, birth: dt.date | None, sex: int | None
) -> dict[str, Message]:
    """A member's birth date and sex as typed against the rules, by the answer they
    concern: a plausible birth date (1900 to today), and agreeing with the NIK unless the
    NIK is one of the portal's temporary numbers (which state no birth date)."""
    problems: dict[str, Message] = {}
    if birth is not None:
        problem = birth_date_problem(birth)
        if problem:
            problems["tanggal_lahir"] = problem
    judged = birth is not None and "tanggal_lahir" not in problems
    if judged and nik and not nik.startswith(TEMPORARY_PREFIX):
        mismatch = nik_birth_mismatch(nik, birth, sex)
        if mismatch:
            problems[mismatch[0]] = mismatch[1]
    return problems


@functools.cache
def skip_rules(model) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{answer: (question, codes)}: an answer asked only when `question` has one of
    `codes`, read from the model's check constraints of the shape
    `Q(answer__isnull=True) | Q(question__in=codes)` (the questionnaire's skip rules).
    Read once per model and process (constraints are code); callers must not change it."""
    found = {}
    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if not isinstance(constraint, CheckConstraint) or not isinstance(condition, Q):
            continue
        if condition.connector != Q.OR or condition.negated or len(condition.children) != 2:
            continue
        lookups = dict(
            child for child in condition.children if isinstance(child, tuple) and len(child) == 2
        )
        empty = [key[: -len("__isnull")] for key, value in lookups.items() if key.endswith(
            "__isnull") and value is True]  # fmt: skip
        asked = [(key[: -len("__in")], value) for key, value in lookups.items()
                 if key.endswith("__in")]  # fmt: skip
        if len(empty) == 1 and len(asked) == 1 and empty[0] != asked[0][0]:
            found[empty[0]] = (asked[0][0], tuple(asked[0][1]))
    return found


def skipped_answer_problems(model, values: dict) -> dict[str, Message]:
    """Answers given where the questionnaire skips them (`skip_rules`), by answer: the
    question that asks them and its codes, named by their labels in the active language.
    Only answers and questions present in `values` are judged."""
    problems = {}
    for answer, (question, codes) in skip_rules(model).items():
        if answer not in values or question not in values or values[answer] is None:
            continue
        if values[question] in codes:
            continue
        field = model._meta.get_field(question)
        labels = dict(cb.choices(field.codebook_variable)) if hasattr(
            field, "codebook_variable") else {}  # fmt: skip
        problems[answer] = Message(
            gettext_noop("Hanya diisi bila “%(question)s” adalah: %(codes)s."),
            question=str(capfirst(field.verbose_name)),
            codes=", ".join(str(labels.get(code, code)) for code in codes),
        )
    return problems


def decile_source_problem(decile: int | None, source: str) -> Message | None:
    """A welfare decile is stored with where it came from (DTSEN, P3KE)."""
    if decile is not None and not (source or "").strip():
        return Message(gettext_noop("Desil butuh sumbernya (mis. DTSEN)."))
    return None


def event_date_problem(date: dt.date, *, birth: dt.date | None = None) -> Message | None:
    """The date of a life event: not in the future and, for a member's event, not before
    the member's birth."""
    if date > timezone.localdate():
        return Message(FUTURE_EVENT)
    if birth is not None and date < birth:
        return Message(BEFORE_BIRTH)
    return None
