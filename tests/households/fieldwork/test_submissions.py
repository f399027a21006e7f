"""Submissions of ODK Central and KoboToolbox exports through the census importer: the
expected errors and nothing more, review states, idempotence by instance ID."""

from __future__ import annotations

import datetime as dt

import pytest

from desapresisi.models import ChangeRecord
from households.census_import.columns import ImportFileError
from households.fieldwork.service import submissions_import
from households.fieldwork.submissions import KOBO, ODK_CENTRAL, submissions_read
from households.models import FieldSubmission, Household, Member, ReviewState
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, point_in_village
from tests.households.census_import.test_import import household, member

from .exports import central_zip, kobo_csv, kobo_xlsx

pytestmark = pytest.mark.django_db

A, B, C, D = (f"uuid:0000000{n}-1111-4222-8333-444455556666" for n in "1234")


def family(kk: str, serial: int, **changes) -> tuple[dict, list[dict]]:
    return household(kk, **changes), [
        member(kk, serial),
        member(kk, serial + 1, sex=2, birth=dt.date(2012, 7, 21), head=False),
    ]


def field_export(*, b_outside: bool) -> list[dict]:
    """Four families and a duplicate: A approved (and sent twice), B approved (its point in
    another village unless fixed), C rejected, D with issues."""
    submissions = []
    outside = point_in_village(BABULU_DESA, 3)
    for instance, kk, serial, review in (
        (A, "6409010101250001", 1, "approved"),
        (B, "6409010101250002", 11, "approved"),
        (C, "6409010101250003", 21, "rejected"),
        (D, "6409010101250004", 31, "hasIssues"),
    ):
        extra = {}
        if instance == B and b_outside:
            extra = {"lintang": f"{outside.y:.6f}", "bujur": f"{outside.x:.6f}"}
        hh, members = family(kk, serial, **extra)
        submissions.append(
            {"instance": instance, "review": review, "household": hh, "members": members}
        )
    submissions.insert(2, dict(submissions[0]))  # A, sent twice by the device
    return submissions


def run(data: bytes, *, user, name="desapresisi_sensus.zip", dry_run=False, **options):
    upload = submissions_read(name=name, data=data)
    return submissions_import(upload=upload, user=user, dry_run=dry_run, **options)


def summary(messages) -> list[tuple]:
    return [(m.submission, m.column, m.message) for m in messages]


@pytest.mark.parametrize(
    ("build", "name", "source"),
    [(central_zip, "desapresisi_sensus.zip", ODK_CENTRAL), (kobo_xlsx, "kobo.xlsx", KOBO)],
)
def test_an_export_imports_with_exactly_the_expected_errors(personas, build, name, source):
    operator = personas["operator_a"]
    data = build(field_export(b_outside=True))
    upload = submissions_read(name=name, data=data)
    assert upload.source == source
    assert [len(s.members) for s in upload.submissions] == [2, 2, 2, 2, 2]

    dry = submissions_import(upload=upload, user=operator, dry_run=True)
    # Exactly one error: B's point lies outside its village (the importer's location rule),
    # named by its submission, its file and row, and the field.
    assert [(e.submission, e.column) for e in dry.errors] == [(B, "lintang")]
    assert "di luar desa" in dry.errors[0].message
    assert dry.errors[0].sheet == upload.files[0]
    assert dry.errors[0].row == 3  # header, A, B
    warnings = summary(dry.warnings)
    assert (A, "instanceID") in [(w[0], w[1]) for w in warnings]
    assert (C, "ReviewState") in [(w[0], w[1]) for w in warnings]
    assert (D, "ReviewState") in [(w[0], w[1]) for w in warnings]
    assert dry.counts["submissions"] == {
        "in_file": 5, ReviewState.APPROVED: 3, ReviewState.REJECTED: 1,
        ReviewState.HAS_ISSUES: 1, "duplicate": 1, "selected": 2,
    }  # fmt: skip
    # All or nothing: the commit is refused while B is wrong.
    refused = submissions_import(upload=upload, user=operator, dry_run=False)
    assert not refused.committed
    assert Household.objects.count() == 0 and FieldSubmission.objects.count() == 0

    fixed = run(build(field_export(b_outside=False)), user=operator, name=name)
    assert fixed.committed and fixed.errors == []
    assert fixed.counts["households"]["new"] == 2
    assert fixed.counts["members"]["new"] == 4
    assert set(Household.objects.values_list("no_kk", flat=True)) == {
        "6409010101250001", "6409010101250002",
    }  # fmt: skip
    kept = dict(FieldSubmission.objects.values_list("instance_id", "review_state"))
    assert kept == {A: ReviewState.APPROVED, B: ReviewState.APPROVED}
    assert FieldSubmission.objects.get(instance_id=A).household.no_kk == "6409010101250001"
    assert set(FieldSubmission.objects.values_list("source", flat=True)) == {source}

    history = ChangeRecord.objects.count()
    versions = list(Household.objects.order_by("pk").values_list("versi", "diubah"))
    again = run(build(field_export(b_outside=False)), user=operator, name=name)
    # A second import changes nothing: every submission was imported already.
    assert again.errors == []
    assert again.counts["submissions"]["already_imported"] == 2
    assert again.counts["households"]["total"] == 0
    assert ChangeRecord.objects.count() == history
    assert list(Household.objects.order_by("pk").values_list("versi", "diubah")) == versions
    assert FieldSubmission.objects.count() == 2


def test_unreviewed_submissions_only_when_asked_and_rejected_never(personas):
    data = central_zip(field_export(b_outside=False))
    result = run(data, user=personas["operator_a"], include_unreviewed=True)
    assert result.committed
    kept = dict(FieldSubmission.objects.values_list("instance_id", "review_state"))
    assert kept == {A: "approved", B: "approved", D: "has_issues"}
    assert not Household.objects.filter(no_kk="6409010101250003").exists()


def test_one_instance_id_with_different_answers_is_an_error(personas):
    submissions = field_export(b_outside=False)[:2]
    twin = dict(submissions[0])
    twin["household"] = {**twin["household"], "lantai": "8"}
    result = run(central_zip([*submissions, twin]), user=personas["operator_a"])
    assert [(e.submission, e.column) for e in result.errors] == [(A, "instanceID")]
    assert "isian berbeda" in result.errors[0].message
    assert not result.committed and Household.objects.count() == 0


def test_a_member_error_names_the_repeat_file_row_and_submission(personas):
    hh, members = family("6409010101250001", 1)
    members[1]["tanggal_lahir"] = "2012-07-22"  # the NIK says the 21st
    data = central_zip([{"instance": A, "review": "approved", "household": hh, "members": members}])
    result = run(data, user=personas["operator_a"], dry_run=True)
    assert [(e.submission, e.sheet, e.row, e.column) for e in result.errors] == [
        (A, "desapresisi_sensus-anggota.csv", 3, "tanggal_lahir")
    ]


def test_submissions_for_another_village_are_refused_for_an_operator(personas):
    hh, members = family("6409010101250001", 1)
    data = central_zip([{"instance": A, "review": "approved", "household": hh, "members": members}])
    result = run(data, user=personas["operator_b"], dry_run=True)
    assert {(e.submission, e.column) for e in result.errors} == {(A, "kode_desa")}
    assert PENAJAM_KELURAHAN in result.errors[0].message
    assert Member.objects.count() == 0


def test_a_kobo_csv_export_with_its_members_file_imports(personas):
    main, members = kobo_csv(field_export(b_outside=False))
    upload = submissions_read(
        name="kobo.csv", data=main, members_data=members, members_name="anggota.csv"
    )
    assert upload.source == KOBO
    assert [len(s.members) for s in upload.submissions] == [2, 2, 2, 2, 2]
    result = submissions_import(upload=upload, user=personas["operator_a"], dry_run=False)
    assert result.committed and result.errors == []
    assert result.counts["households"]["new"] == 2


def test_another_forms_export_is_refused_by_its_headers(personas):
    hh, members = family("6409010101250001", 1)
    data = central_zip([{"instance": A, "review": "approved", "household": hh, "members": members}])
    upload = submissions_read(name="x.zip", data=data)
    for submission in upload.submissions:
        submission.main.values.pop("no_kk")
    result = submissions_import(upload=upload, user=personas["operator_a"], dry_run=True)
    assert [(e.row, e.column) for e in result.errors] == [(1, "no_kk")]
    assert "Kolom wajib tidak ada" in result.errors[0].message


def test_a_broken_file_is_a_file_error(personas):
    with pytest.raises(ImportFileError):
        submissions_read(name="x.zip", data=b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportFileError):
        submissions_read(name="x.pdf", data=b"%PDF-1.4")
