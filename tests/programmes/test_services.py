"""The programme workflow: frozen target lists, the status machine, four eyes, double aid,
evidence photos and verification by data."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone
from PIL import Image

from desapresisi.errors import InvalidInput, NotAllowed
from households.indicators.rollup import indicators_refresh
from households.models import Household
from programmes.models import (
    TRANSITIONS,
    EvidencePhoto,
    Intervention,
    InterventionEvent,
    ProgrammeVillageStat,
    SkpdMember,
    Status,
    Target,
    TargetList,
)
from programmes.selectors import (
    double_aid_overlaps,
    interventions_needing_revisit,
    programme_timeline,
    resolved_without_intervention,
)
from programmes.services import (
    evidence_photo_add,
    intervention_transition,
    interventions_bulk_transition,
    interventions_confirm_by_data,
    target_list_freeze,
)
from tests.conftest import make_user
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    ProgrammeFactory,
    SkpdFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(personas):
    dinkes = SkpdFactory(code="dinkes", name="Dinas Kesehatan")
    perkim = SkpdFactory(code="perkim", name="Dinas Perkim")
    second = make_user("analis-dinkes-2", role="analis", areas=["64.09"])
    other = make_user("analis-perkim", role="analis", areas=["64.09"])
    SkpdMember.objects.create(user=personas["analyst"], skpd=dinkes)
    SkpdMember.objects.create(user=second, skpd=dinkes)
    SkpdMember.objects.create(user=other, skpd=perkim)
    return {
        **personas,
        "dinkes": dinkes,
        "perkim": perkim,
        "second": second,
        "perkim_analyst": other,
    }


def no_latrine(region=PENAJAM_KELURAHAN, **kwargs):
    return HouseholdFactory(
        region_id=region, fasilitas_bab=6, jenis_kloset=None, pembuangan_tinja=None, **kwargs
    )


def freeze(actor, programme, **kwargs):
    return target_list_freeze(
        actor=actor, programme=programme, households=Household.objects.all(), criteria={}, **kwargs
    )


def test_freeze_lists_only_households_meeting_the_indicator(team):
    needy, _fine = no_latrine(), HouseholdFactory()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    result = freeze(team["analyst"], programme)
    assert result.target_list.size == 1
    target = Target.objects.get(target_list=result.target_list)
    assert target.household_id == needy.pk
    assert target.reason == {"indicator": "tanpa_jamban", "values": {"fasilitas_bab": 6}}
    assert target.household_version == needy.versi
    intervention = Intervention.objects.get(programme=programme)
    assert intervention.status == Status.PROPOSED
    assert intervention.events.get().to_status == Status.PROPOSED
    assert result.target_list.data_version["household_version_max"] == needy.versi


def test_frozen_list_stays_frozen_after_edits(team):
    needy = no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    result = freeze(team["analyst"], programme)
    Household.objects.filter(pk=needy.pk).update(fasilitas_bab=1, jenis_kloset=1)
    no_latrine()  # a new household in need joins the data, not the frozen list
    target_list = TargetList.objects.get(pk=result.target_list.pk)
    assert list(target_list.targets.values_list("household_id", "reason")) == [
        (needy.pk, {"indicator": "tanpa_jamban", "values": {"fasilitas_bab": 6}})
    ]
    for statement in (
        "UPDATE programmes_target SET region_code = 'x'",
        "DELETE FROM programmes_target",
        "UPDATE programmes_targetlist SET size = 99",
        "DELETE FROM programmes_interventionevent",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_second_freeze_is_a_new_version_without_the_first_ones(team):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    newcomer = no_latrine()
    second = freeze(team["analyst"], programme)
    assert second.target_list.version == 2
    assert list(second.target_list.targets.values_list("household_id", flat=True)) == [newcomer.pk]
    with pytest.raises(InvalidInput) as refused:
        freeze(team["analyst"], programme)
    assert "criteria" in refused.value.fields


def test_freeze_keeps_to_the_callers_area(team):
    no_latrine(BABULU_DESA)
    own = no_latrine(PENAJAM_KELURAHAN)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    result = freeze(team["operator_a"], programme)
    assert list(result.target_list.targets.values_list("household_id", flat=True)) == [own.pk]


def test_only_the_owner_skpd_manages(team):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    for user in (team["perkim_analyst"], team["official"], team["analyst_waru"]):
        with pytest.raises(NotAllowed):
            freeze(user, programme)
    freeze(team["admin"], programme)
    intervention = Intervention.objects.get()
    with pytest.raises(NotAllowed):
        intervention_transition(
            actor=team["perkim_analyst"], intervention=intervention, to_status="disetujui"
        )


def test_double_aid_warns_naming_programme_and_skpd(team):
    household = no_latrine()
    first = ProgrammeFactory(skpd=team["perkim"], code="perkim-jamban", name="Jamban Perkim")
    freeze(team["perkim_analyst"], first)
    second = ProgrammeFactory(skpd=team["dinkes"])
    result = freeze(team["analyst"], second)
    assert result.warnings == {
        household.pk: [
            {"programme": "perkim-jamban", "name": "Jamban Perkim", "skpd": "Dinas Perkim"}
        ]
    }
    [overlap] = double_aid_overlaps(team["analyst"], year=2026)
    assert overlap["household"] == household.pk
    assert {row["programme"] for row in overlap["programmes"]} == {"perkim-jamban", second.code}
    # Another year is another need; "not already in a programme" leaves the household out.
    third = ProgrammeFactory(skpd=team["dinkes"])
    with pytest.raises(InvalidInput):
        freeze(team["analyst"], third, exclude_other_programmes=True)
    assert double_aid_overlaps(team["operator_b"], year=2026) == []


def every_pair():
    for source in Status.values:
        for target in Status.values:
            yield source, target


@pytest.mark.parametrize(("source", "target"), list(every_pair()))
def test_status_machine(team, source, target):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    intervention = Intervention.objects.get()
    # Put the intervention in `source` directly (the machine is what is tested next).
    Intervention.objects.filter(pk=intervention.pk).update(status=source)
    intervention.refresh_from_db()
    allowed = target in TRANSITIONS[source]
    if allowed:
        result = intervention_transition(
            actor=team["admin"], intervention=intervention, to_status=target, note="uji"
        )
        assert result.status == target
        event = InterventionEvent.objects.filter(intervention=intervention).last()
        assert (event.from_status, event.to_status, event.actor, event.note) == (
            source,
            target,
            team["admin"],
            "uji",
        )
    else:
        with pytest.raises(InvalidInput) as refused:
            intervention_transition(
                actor=team["admin"], intervention=intervention, to_status=target
            )
        assert "status" in refused.value.fields
        intervention.refresh_from_db()
        assert intervention.status == source


def test_four_eyes(team):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    intervention = Intervention.objects.get()
    analyst, second = team["analyst"], team["second"]
    intervention_transition(actor=analyst, intervention=intervention, to_status="disetujui")
    intervention_transition(
        actor=team["operator_a"], intervention=intervention, to_status="dikerjakan", progress=40
    )
    intervention.refresh_from_db()
    assert intervention.progress == 40
    intervention_transition(actor=analyst, intervention=intervention, to_status="selesai")
    with pytest.raises(NotAllowed):
        intervention_transition(actor=analyst, intervention=intervention, to_status="terverifikasi")
    # Field workers mark done; only the SKPD verifies.
    with pytest.raises(NotAllowed):
        intervention_transition(
            actor=team["operator_a"], intervention=intervention, to_status="terverifikasi"
        )
    done = intervention_transition(
        actor=second, intervention=intervention, to_status="terverifikasi"
    )
    assert (done.done_by, done.verified_by) == (analyst, second)


def test_operator_cannot_approve(team):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["operator_a"], programme)
    intervention = Intervention.objects.get()
    with pytest.raises(NotAllowed):
        intervention_transition(
            actor=team["operator_a"], intervention=intervention, to_status="disetujui"
        )


def test_bad_progress_and_amount_name_their_field(team):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    intervention = Intervention.objects.get()
    intervention_transition(actor=team["analyst"], intervention=intervention, to_status="disetujui")
    for kwargs, name in (
        ({"progress": 140}, "progress"),
        ({"realised_amount": "x"}, "realised_amount"),
    ):
        with pytest.raises(InvalidInput) as refused:
            intervention_transition(
                actor=team["analyst"], intervention=intervention, to_status="dikerjakan", **kwargs
            )
        assert name in refused.value.fields
    intervention.refresh_from_db()
    assert intervention.status == "disetujui"
    assert intervention.events.count() == 2


def test_bulk_transition_is_all_or_nothing(team):
    no_latrine(), no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    first, second = Intervention.objects.order_by("pk")
    intervention_transition(actor=team["analyst"], intervention=second, to_status="ditolak")
    with pytest.raises(InvalidInput) as refused:
        interventions_bulk_transition(
            actor=team["analyst"], ids=[first.pk, second.pk], to_status="disetujui"
        )
    assert "ids[1]" in refused.value.fields
    first.refresh_from_db()
    assert first.status == "diusulkan"
    assert (
        interventions_bulk_transition(actor=team["analyst"], ids=[first.pk], to_status="disetujui")
        == 1
    )


def test_rollup_rows_follow_every_write(team):
    no_latrine(), no_latrine(BABULU_DESA)
    programme = ProgrammeFactory(skpd=team["dinkes"], unit_cost=1000)
    freeze(team["analyst"], programme)
    stat = ProgrammeVillageStat.objects.get(programme=programme, region_id=PENAJAM_KELURAHAN)
    assert (stat.targets, stat.counts, int(stat.planned)) == (1, {"diusulkan": 1}, 1000)
    intervention = Intervention.objects.get(household__region_id=PENAJAM_KELURAHAN)
    intervention_transition(actor=team["analyst"], intervention=intervention, to_status="disetujui")
    intervention_transition(
        actor=team["analyst"],
        intervention=intervention,
        to_status="selesai",
        realised_amount=900,
    )
    stat.refresh_from_db()
    assert (stat.counts, int(stat.realised)) == ({"selesai": 1}, 900)
    [month] = programme_timeline(team["analyst"], programme)
    labels = dict(zip(Status.values, month["counts"], strict=True))
    assert (labels["diusulkan"], labels["disetujui"], labels["selesai"]) == (2, 1, 1)
    assert month["reached"] == 1 and month["month"] == timezone.localdate().strftime("%Y-%m")


def jpeg_with_exif(*, gps=True) -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "KameraRahasia"  # Make
    exif[0x9286] = "komentar rahasia"  # UserComment
    if gps:
        exif.get_ifd(0x8825).update({1: "S", 2: (1.0, 15.0, 0.0), 3: "E", 4: (116.0, 42.0, 0.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_photo_keeps_only_the_gps_point(team):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    intervention = Intervention.objects.get()
    upload = SimpleUploadedFile("bukti.jpg", jpeg_with_exif(), content_type="image/jpeg")
    photo = evidence_photo_add(actor=team["operator_a"], intervention=intervention, upload=upload)
    assert round(photo.lokasi.y, 4) == -1.25
    assert round(photo.lokasi.x, 4) == 116.7
    stored = bytes(EvidencePhoto.objects.get(pk=photo.pk).image)
    assert b"KameraRahasia" not in stored and b"komentar rahasia" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()


def test_photo_refuses_what_is_no_image_or_too_big(team, settings):
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    intervention = Intervention.objects.get()
    for data in (b"%PDF-1.4 not a photo", b"GIF89a" + b"\0" * 20):
        with pytest.raises(InvalidInput) as refused:
            evidence_photo_add(
                actor=team["analyst"], intervention=intervention, upload=io.BytesIO(data)
            )
        assert "photo" in refused.value.fields
    settings.PROGRAMME_PHOTO_MAX_BYTES = 100
    with pytest.raises(InvalidInput):
        evidence_photo_add(
            actor=team["analyst"], intervention=intervention, upload=io.BytesIO(jpeg_with_exif())
        )
    assert not EvidencePhoto.objects.exists()


def test_verification_by_data(team):
    fixed, still, untouched = no_latrine(), no_latrine(), no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    for household in (fixed, still):
        intervention = Intervention.objects.get(household=household)
        intervention_transition(
            actor=team["analyst"], intervention=intervention, to_status="disetujui"
        )
        intervention_transition(
            actor=team["analyst"], intervention=intervention, to_status="selesai"
        )
    # The re-survey: the first and the untouched household now have a private latrine.
    for household in (fixed, untouched):
        household.fasilitas_bab, household.jenis_kloset, household.pembuangan_tinja = 1, 1, 1
        household.save()
    assert interventions_confirm_by_data() == 1
    confirmed = Intervention.objects.get(household=fixed)
    assert confirmed.confirmed_by_data_at is not None
    revisit = interventions_needing_revisit(team["analyst"], programme)
    assert list(revisit.values_list("household_id", flat=True)) == [still.pk]
    resolved = resolved_without_intervention(team["analyst"], programme)
    assert list(resolved.values_list("pk", flat=True)) == [untouched.pk]
    assert ProgrammeVillageStat.objects.get(programme=programme).confirmed_by_data == 1


def test_member_programme_proposes_each_child(team):
    household = HouseholdFactory()
    child = MemberFactory(
        household=household, tanggal_lahir=dt.date(2015, 1, 1), partisipasi_sekolah=3
    )
    MemberFactory(household=household, tanggal_lahir=dt.date(2015, 1, 1), partisipasi_sekolah=2)
    programme = ProgrammeFactory(skpd=team["dinkes"], unit="member", indicator_id="ats_7_18")
    result = freeze(team["analyst"], programme)
    assert result.interventions == 1
    assert Intervention.objects.get().member == child


def test_verification_by_data_follows_the_refresh_by_itself(
    team, django_capture_on_commit_callbacks
):
    fixed = no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    freeze(team["analyst"], programme)
    intervention = Intervention.objects.get(household=fixed)
    for status in ("disetujui", "selesai"):
        intervention_transition(actor=team["analyst"], intervention=intervention, to_status=status)
    fixed.fasilitas_bab, fixed.jenis_kloset, fixed.pembuangan_tinja = 1, 1, 1
    fixed.save()  # the re-survey; the worker's refresh follows the commit
    with django_capture_on_commit_callbacks(execute=True):
        indicators_refresh()
    intervention.refresh_from_db()
    assert intervention.confirmed_by_data_at is not None
