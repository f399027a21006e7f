"""Follow-up visits: the Entity list of an area, a visit that updates exactly its
household (in its history), and the optimistic lock against changes made meanwhile."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from desapresisi.models import AuditAction, AuditEntry, ChangeRecord
from households.fieldwork.entities import entity_list_csv, entity_properties
from households.fieldwork.service import entity_name, submissions_import
from households.fieldwork.submissions import submissions_read
from households.models import FieldSubmission, Household
from households.selectors import households_editable_by
from households.services import household_update
from tests.factories import BABULU_DESA, HouseholdFactory

from .exports import central_visits_zip

pytestmark = pytest.mark.django_db

V1, V2 = "uuid:aaaaaaa1-1111-4222-8333-444455556666", "uuid:aaaaaaa2-1111-4222-8333-444455556666"


def entity_list(user) -> dict[str, dict]:
    rows = list(csv.DictReader(io.StringIO(entity_list_csv(user=user).decode())))
    return {row["name"]: row for row in rows}


def visit(entity: dict, instance: str, **changed) -> dict:
    """What ODK Central exports of a visit: the pre-filled answers, some changed."""
    answers = {name: entity[name] for name in entity_properties() if name in entity}
    answers["tanggal_survei"] = timezone.localdate().isoformat()  # the form's default
    answers.update(changed)
    return {"instance": instance, "entity": entity["name"], "versi": entity["versi"],
            "answers": answers}  # fmt: skip


def run(visits, *, user, dry_run=False):
    upload = submissions_read(name="desapresisi_kunjungan.zip", data=central_visits_zip(visits))
    return submissions_import(upload=upload, user=user, dry_run=dry_run)


def test_the_entity_list_holds_the_callers_households_with_their_version(personas):
    own = HouseholdFactory(alamat="Jl. Kenanga 3")
    HouseholdFactory(region_id=BABULU_DESA)
    listed = entity_list(personas["operator_a"])
    assert list(listed) == [entity_name(own.pk)]
    row = listed[entity_name(own.pk)]
    text = entity_list_csv(user=personas["operator_a"]).decode()
    header = next(csv.reader(io.StringIO(text)))
    assert header[:2] == ["name", "label"] and "versi" in header
    assert row["versi"] == str(own.versi)
    assert row["fasilitas_bab"] == "1" and row["penerima_pkh"] == "0"
    assert row["no_kk"] != own.no_kk and row["no_kk"].endswith(own.no_kk[-4:])
    assert own.no_kk not in row["label"] and "Jl. Kenanga 3" in row["label"]
    assert AuditEntry.objects.filter(
        action=AuditAction.EXPORT, user=personas["operator_a"]
    ).exists()


def test_an_entity_round_trip_changes_exactly_that_household_and_is_in_its_history(personas):
    operator = personas["operator_a"]
    visited, other = HouseholdFactory(lantai=2), HouseholdFactory(lantai=2)
    listed = entity_list(operator)
    before_other = Household.objects.filter(pk=other.pk).values().get()
    history_before = ChangeRecord.objects.count()

    result = run(
        [visit(listed[entity_name(visited.pk)], V1, lantai="5", penerima_pkh="1")], user=operator
    )
    assert result.errors == [] and result.committed
    assert result.counts["households"]["updated"] == 1
    visited.refresh_from_db()
    assert (visited.lantai, visited.penerima_pkh) == (5, True)
    assert visited.tanggal_survei == timezone.localdate()  # a visit is a new survey
    assert visited.versi == int(listed[entity_name(visited.pk)]["versi"]) + 1
    assert Household.objects.filter(pk=other.pk).values().get() == before_other
    records = ChangeRecord.objects.filter(household_id=visited.pk).order_by("-id")
    assert ChangeRecord.objects.count() == history_before + 1
    assert records[0].changes["lantai"] == [2, 5]
    assert (
        not ChangeRecord.objects.filter(household_id=other.pk, id__gt=0)
        .exclude(action="insert")
        .exists()
    )
    assert FieldSubmission.objects.get(instance_id=V1).household_id == visited.pk

    again = run(
        [visit(listed[entity_name(visited.pk)], V1, lantai="5", penerima_pkh="1")], user=operator
    )
    assert again.errors == [] and again.counts["submissions"]["already_imported"] == 1
    assert ChangeRecord.objects.count() == history_before + 1


def test_a_household_changed_in_the_portal_since_the_export_is_reported_not_overwritten(personas):
    operator = personas["operator_a"]
    household = HouseholdFactory(lantai=2, atap=3)
    listed = entity_list(operator)
    household_update(
        queryset=households_editable_by(operator),
        pk=household.pk,
        changes={"atap": 2},
        expected_version=household.versi,
    )
    result = run([visit(listed[entity_name(household.pk)], V1, lantai="5")], user=operator)
    assert [(e.submission, e.column) for e in result.errors] == [(V1, "versi")]
    assert "diubah di portal" in result.errors[0].message
    assert not result.committed
    household.refresh_from_db()
    assert (household.lantai, household.atap) == (2, 2)
    assert not FieldSubmission.objects.exists()


def test_a_visit_to_a_household_outside_the_callers_area_is_refused(personas):
    elsewhere = HouseholdFactory(region_id=BABULU_DESA)
    listed = entity_list(personas["operator_b"])
    result = run(
        [visit(listed[entity_name(elsewhere.pk)], V2, lantai="5")], user=personas["operator_a"]
    )
    assert [(e.submission, e.column) for e in result.errors] == [(V2, "rt_dikunjungi")]
    elsewhere.refresh_from_db()
    assert elsewhere.lantai == 2


def test_a_wrong_answer_in_a_visit_names_the_submission_and_writes_nothing(personas):
    operator = personas["operator_a"]
    first, second = HouseholdFactory(lantai=2), HouseholdFactory(lantai=2)
    listed = entity_list(operator)
    result = run(
        [
            visit(listed[entity_name(first.pk)], V1, lantai="5"),
            visit(listed[entity_name(second.pk)], V2, lantai="99"),
        ],
        user=operator,
    )
    assert [(e.submission, e.column) for e in result.errors] == [(V2, "lantai")]
    assert "kodebook" in result.errors[0].message
    assert not result.committed
    first.refresh_from_db()
    assert first.lantai == 2  # all or nothing: the good visit waits for the bad one
    assert not FieldSubmission.objects.exists()
