"""Households (rumah tangga / keluarga) and their members.

Raw answers are stored with their Regsosek 2022 / Dukcapil codes (see `codebook.py`).
Fields that maps and indicators filter on are derived from them in the database itself,
so that every writer (ORM, admin, COPY, raw SQL, a future integration) keeps them in step:
- from the row alone: PostgreSQL generated columns (`tangga_sanitasi`, `air_minum_layak`,
  `rumah_tidak_layak_huni`);
- from the members: statement-level triggers (`jumlah_anggota`, `jumlah_ats`), see
  migration 0002. A deferred constraint trigger there also enforces exactly one head of
  household per household at commit.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Left, Substr
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from desapresisi.masking import mask_number
from villages.models import Level
from villages.selectors import unit_index_for

from .. import codebook as cb

NUMBER_16 = r"^[0-9]{16}$"


class SanitationLevel(models.IntegerChoices):
    """The JMP sanitation ladder, with Indonesia's stricter reading (see DOMAIN.md)."""

    OPEN_DEFECATION = 0, _("BABS (buang air besar sembarangan)")
    UNIMPROVED = 1, _("Belum layak")
    LIMITED = 2, _("Layak bersama")
    BASIC = 3, _("Layak sendiri")
    SAFELY_MANAGED = 4, _("Aman")


class MemberStatus:
    """Codes of `status_anggota` (labels: the codebook variable of the same name): only
    current members count in household sizes and indicators; the others stay on record."""

    CURRENT = 1
    DIED = 2
    MOVED_OUT = 3


class DataSource(models.TextChoices):
    SYNTHETIC = "sintetis", _("Data demo sintetis")
    IMPORT = "impor", _("Impor berkas sensus")
    MANUAL = "manual", _("Entri operator")


# The same code list serves two fields; one name keeps the API schema tidy.
WATER_SOURCE_CHOICES = cb.choices("sumber_air_minum")


def _in_codebook(field: str, variable: str, *, exclude: tuple[int, ...] = ()) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(
        **{f"{field}__in": cb.codes(variable, exclude=exclude)}
    )


def coded(
    variable: str,
    verbose_name: str,
    *,
    required: bool = False,
    exclude: tuple[int, ...] = (),
    **options,
):
    """An answer coded with a codebook variable. The field remembers its variable (not a
    migration attribute), so the field catalogue (households.schema) knows it is coded and
    every path (API, exports, import, labels) reads its codes from the codebook."""
    field = models.PositiveSmallIntegerField(
        verbose_name,
        choices=cb.choices(variable, exclude=exclude),
        null=not required,
        blank=not required,
        **options,
    )
    field.codebook_variable = variable
    field.codebook_exclude = tuple(exclude)
    return field


# A village code whose last segment starts with 1 is a kelurahan (urban).
_IN_KELURAHAN = Exact(Substr("region", 10, 1), Value("1"))

SANITATION_LADDER = Case(
    When(fasilitas_bab__isnull=True, then=None),
    When(fasilitas_bab__in=[5, 6], then=Value(SanitationLevel.OPEN_DEFECATION)),
    When(fasilitas_bab=4, then=Value(SanitationLevel.UNIMPROVED)),
    When(jenis_kloset__in=[2, 3, 4], then=Value(SanitationLevel.UNIMPROVED)),
    When(pembuangan_tinja__in=[3, 5, 6], then=Value(SanitationLevel.UNIMPROVED)),
    # A pit is an acceptable final disposal in a desa, not in a kelurahan.
    When(Q(_IN_KELURAHAN, pembuangan_tinja=4), then=Value(SanitationLevel.UNIMPROVED)),
    When(Q(jenis_kloset__isnull=True) | Q(pembuangan_tinja__isnull=True), then=None),
    # From here on: gooseneck toilet and septic tank/IPAL (or a pit in a desa).
    When(fasilitas_bab__in=[2, 3], then=Value(SanitationLevel.LIMITED)),
    # Regsosek does not ask about emptying: safely managed only when it was recorded.
    When(
        Q(pembuangan_tinja=2) | Q(pembuangan_tinja=1, tangki_septik_disedot=True),
        then=Value(SanitationLevel.SAFELY_MANAGED),
    ),
    default=Value(SanitationLevel.BASIC),
    output_field=models.PositiveSmallIntegerField(),
)

# Piped water, rainwater; borehole, protected well and protected spring unless within
# 10 m of faeces disposal. Bottled/refill counts only when the other water is improved.
_IMPROVED_SOURCES = [3, 4, 5, 7, 10]
_DISTANCE_SENSITIVE = [4, 5, 7]
IMPROVED_DRINKING_WATER = Case(
    When(sumber_air_minum__isnull=True, then=None),
    When(
        sumber_air_minum__in=[1, 2],
        then=Case(
            When(sumber_air_mandi__isnull=True, then=None),
            When(sumber_air_mandi__in=_IMPROVED_SOURCES, then=Value(True)),
            default=Value(False),
        ),
    ),
    When(
        Q(sumber_air_minum__in=_DISTANCE_SENSITIVE, jarak_sumber_air_tinja=1),
        then=Value(False),
    ),
    When(sumber_air_minum__in=_IMPROVED_SOURCES, then=Value(True)),
    default=Value(False),
    output_field=models.BooleanField(),
)

# Earth floor, bamboo or log walls, or a straw/leaf roof.
UNINHABITABLE_HOUSE = Case(
    When(Q(lantai=8) | Q(dinding__in=[4, 5, 6]) | Q(atap=7), then=Value(True)),
    When(Q(lantai__isnull=True) | Q(dinding__isnull=True) | Q(atap__isnull=True), then=None),
    default=Value(False),
    output_field=models.BooleanField(),
)


class Household(models.Model):
    no_kk = models.CharField(_("No. KK"), max_length=16, unique=True)
    region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("desa/kelurahan"),
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": Level.DESA},
    )
    dusun = models.CharField(_("dusun/lingkungan"), max_length=60, blank=True)
    rw = models.CharField(_("RW"), max_length=3, blank=True)
    rt = models.CharField(_("RT"), max_length=3, blank=True)
    alamat = models.CharField(_("alamat"), max_length=200, blank=True)
    lokasi = models.PointField(_("lokasi GPS"), srid=4326, null=True, blank=True)
    tanggal_survei = models.DateField(_("tanggal survei"))

    # Sanitation (Regsosek 309a, 309b, 310)
    fasilitas_bab = coded("fasilitas_bab", _("fasilitas buang air besar (309a)"))
    jenis_kloset = coded("jenis_kloset", _("jenis kloset (309b)"))
    pembuangan_tinja = coded("pembuangan_tinja", _("pembuangan akhir tinja (310)"))
    tangki_septik_disedot = models.BooleanField(
        _("tangki septik disedot dalam 5 tahun terakhir"),
        null=True,
        blank=True,
        help_text=_("Tidak ditanyakan di Regsosek; isi hanya bila tercatat."),
    )
    # Drinking water (306a, 306b)
    sumber_air_minum = coded("sumber_air_minum", _("sumber air minum utama (306a)"))
    jarak_sumber_air_tinja = coded(
        "jarak_sumber_air_tinja", _("jarak sumber air ke pembuangan tinja (306b)")
    )
    sumber_air_mandi = coded(
        "sumber_air_minum",
        _("sumber air untuk mandi/cuci"),
    )
    # House (301a, 303-305, 307a, 308)
    kepemilikan_rumah = coded("kepemilikan_rumah", _("status kepemilikan rumah (301a)"))
    lantai = coded("lantai", _("jenis lantai terluas (303)"))
    dinding = coded("dinding", _("jenis dinding terluas (304)"))
    atap = coded("atap", _("jenis atap terluas (305)"))
    penerangan = coded("penerangan", _("sumber penerangan utama (307a)"))
    bahan_bakar_memasak = coded("bahan_bakar_memasak", _("bahan bakar utama memasak (308)"))

    # Welfare ranking: stored as received (DTSEN/P3KE), never recomputed here.
    desil_kesejahteraan = coded("desil_kesejahteraan", _("desil kesejahteraan"))
    desil_sumber = models.CharField(_("sumber desil"), max_length=20, blank=True)
    desil_tahun = models.PositiveSmallIntegerField(_("tahun desil"), null=True, blank=True)

    # Social assistance received
    penerima_pkh = models.BooleanField(_("penerima PKH"), default=False)
    penerima_bpnt = models.BooleanField(_("penerima BPNT/Sembako"), default=False)
    penerima_blt_dd = models.BooleanField(_("penerima BLT Dana Desa"), default=False)
    penerima_pbi_jk = models.BooleanField(_("penerima PBI JK"), default=False)

    sumber_data = models.CharField(
        _("sumber data"), max_length=10, choices=DataSource.choices, default=DataSource.MANUAL
    )
    # The round of the last write: stamped with the open round by a database trigger
    # (households/sql/households_round_stamp.sql), whatever wrote the row.
    survey_round = models.ForeignKey(
        "households.SurveyRound",
        verbose_name=_("putaran pendataan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    dibuat = models.DateTimeField(_("dibuat"), auto_now_add=True)
    diubah = models.DateTimeField(_("diubah"), auto_now=True)
    # Raised by a database trigger on every real change: the optimistic lock of edits.
    versi = models.PositiveIntegerField(_("versi"), default=1, db_default=1, editable=False)

    # Derived, kept in step by the database (see the module docstring).
    tangga_sanitasi = models.GeneratedField(
        expression=SANITATION_LADDER,
        output_field=models.PositiveSmallIntegerField(
            _("tangga sanitasi"), choices=SanitationLevel.choices
        ),
        db_persist=True,
    )
    air_minum_layak = models.GeneratedField(
        expression=IMPROVED_DRINKING_WATER,
        output_field=models.BooleanField(_("air minum layak")),
        db_persist=True,
    )
    rumah_tidak_layak_huni = models.GeneratedField(
        expression=UNINHABITABLE_HOUSE,
        output_field=models.BooleanField(_("rumah tidak layak huni")),
        db_persist=True,
    )
    jumlah_anggota = models.PositiveSmallIntegerField(
        _("jumlah anggota"), default=0, db_default=0, editable=False
    )
    jumlah_ats = models.PositiveSmallIntegerField(
        _("anak 7-18 tahun tidak sekolah"),
        default=0,
        db_default=0,
        editable=False,
        help_text=_("Dihitung pada tanggal survei."),
    )

    class Meta:
        verbose_name = _("rumah tangga")
        verbose_name_plural = _("rumah tangga")
        ordering = ["region_id", "no_kk"]
        # The region foreign key gets Django's varchar_pattern_ops index too, which serves
        # subtree filters (`region_id LIKE '64.09.%'`). An area's households in id order
        # (a page of the list, an export) are read from one index per level instead:
        # `villages.codes.area_q` asks `left(region_id, n) = code`, and each index gives
        # that area's rows in id order whatever ids they have (without them the planner
        # walks the primary key past every household of the areas imported before:
        # 3.2 s for the first page of a village at 3,500,000 households, docs/benchmark.md).
        indexes = [
            models.Index(fields=["tanggal_survei"], name="household_survey_date_idx"),
            models.Index(fields=["region", "id"], name="household_village_id_idx"),
            *(
                models.Index(Left("region_id", length), F("id"), name=f"household_{level}_id_idx")
                for level, length in (("kecamatan", 8), ("kabupaten", 5), ("province", 2))
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(no_kk__regex=NUMBER_16), name="household_kk_16_digits"
            ),
            models.CheckConstraint(
                condition=_in_codebook("fasilitas_bab", "fasilitas_bab"), name="household_309a_code"
            ),
            models.CheckConstraint(
                condition=_in_codebook("jenis_kloset", "jenis_kloset"), name="household_309b_code"
            ),
            # Skip rule: the toilet type is asked only when the family uses its own or a
            # shared facility (309a = 1-3).
            models.CheckConstraint(
                condition=Q(jenis_kloset__isnull=True) | Q(fasilitas_bab__in=[1, 2, 3]),
                name="household_309b_only_with_facility",
            ),
            models.CheckConstraint(
                condition=_in_codebook("pembuangan_tinja", "pembuangan_tinja"),
                name="household_310_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("sumber_air_minum", "sumber_air_minum"),
                name="household_306a_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("jarak_sumber_air_tinja", "jarak_sumber_air_tinja"),
                name="household_306b_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("sumber_air_mandi", "sumber_air_minum"),
                name="household_water_other_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("kepemilikan_rumah", "kepemilikan_rumah"),
                name="household_301a_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("lantai", "lantai"), name="household_303_code"
            ),
            models.CheckConstraint(
                condition=_in_codebook("dinding", "dinding"), name="household_304_code"
            ),
            models.CheckConstraint(
                condition=_in_codebook("atap", "atap"), name="household_305_code"
            ),
            models.CheckConstraint(
                condition=_in_codebook("penerangan", "penerangan"), name="household_307a_code"
            ),
            models.CheckConstraint(
                condition=_in_codebook("bahan_bakar_memasak", "bahan_bakar_memasak"),
                name="household_308_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("desil_kesejahteraan", "desil_kesejahteraan"),
                name="household_decile_code",
            ),
            models.CheckConstraint(
                condition=Q(desil_kesejahteraan__isnull=True) | ~Q(desil_sumber=""),
                name="household_decile_has_source",
            ),
            models.CheckConstraint(
                condition=Q(tanggal_survei__gte="2000-01-01"),
                name="household_survey_date_plausible",
            ),
        ]

    def clean(self) -> None:
        # The dusun, RW and RT must be units of the village once it has any (the database
        # holds the same rule in a deferred trigger; this one names the field).
        if self.region_id:
            problems = unit_index_for(region_code=self.region_id).problems(
                self.dusun, self.rw, self.rt
            )
            if problems:
                raise ValidationError(problems)

    def __str__(self) -> str:
        # Shown in admin breadcrumbs, logs and confirmations: never the full number.
        return f"KK {mask_number(self.no_kk)}"

    @property
    def is_synthetic(self) -> bool:
        return self.sumber_data == DataSource.SYNTHETIC


class Member(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("rumah tangga"), on_delete=models.CASCADE, related_name="members"
    )
    nik = models.CharField(_("NIK"), max_length=16, unique=True)
    nama = models.CharField(_("nama"), max_length=120)
    jenis_kelamin = coded("jenis_kelamin", _("jenis kelamin"), required=True)
    tanggal_lahir = models.DateField(_("tanggal lahir"))
    hubungan_keluarga = coded(
        "hubungan_keluarga", _("hubungan dengan kepala keluarga"), required=True
    )
    partisipasi_sekolah = coded("partisipasi_sekolah", _("partisipasi sekolah (412)"))
    jenjang_pendidikan = coded(
        "jenjang_pendidikan",
        _("jenjang pendidikan tertinggi yang pernah diduduki (413)"),
        exclude=(23,),
    )
    ijazah_tertinggi = coded("jenjang_pendidikan", _("ijazah tertinggi (415)"))
    disabilitas = models.BooleanField(_("penyandang disabilitas"), default=False)
    pekerjaan = models.CharField(_("pekerjaan utama"), max_length=100, blank=True)
    # Life events (households.services.member_event_record): a member who died or moved
    # out stays on record with the date, and stops counting (see CURRENT_MEMBER).
    status_anggota = coded(
        "status_anggota",
        _("status anggota"),
        required=True,
        default=MemberStatus.CURRENT,
        db_default=MemberStatus.CURRENT,
    )
    tanggal_status = models.DateField(
        _("tanggal status"),
        null=True,
        blank=True,
        help_text=_("Tanggal meninggal atau pindah keluar."),
    )
    tujuan_pindah = models.CharField(
        _("tujuan pindah"),
        max_length=200,
        blank=True,
        db_default="",  # writers that leave it out (imports' COPY, raw SQL) get ""
        help_text=_("Bila pindah keluar dan tujuannya diketahui."),
    )
    dibuat = models.DateTimeField(_("dibuat"), auto_now_add=True)
    diubah = models.DateTimeField(_("diubah"), auto_now=True)
    versi = models.PositiveIntegerField(_("versi"), default=1, db_default=1, editable=False)

    class Meta:
        verbose_name = _("anggota keluarga")
        verbose_name_plural = _("anggota keluarga")
        ordering = ["household_id", "hubungan_keluarga", "tanggal_lahir"]
        indexes = [models.Index(fields=["tanggal_lahir"], name="member_birth_date_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(nik__regex=NUMBER_16), name="member_nik_16_digits"),
            models.CheckConstraint(
                condition=Q(jenis_kelamin__in=cb.codes("jenis_kelamin")), name="member_sex_code"
            ),
            models.CheckConstraint(
                condition=Q(hubungan_keluarga__in=cb.codes("hubungan_keluarga")),
                name="member_relationship_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("partisipasi_sekolah", "partisipasi_sekolah"),
                name="member_412_code",
            ),
            models.CheckConstraint(
                condition=_in_codebook("jenjang_pendidikan", "jenjang_pendidikan", exclude=(23,)),
                name="member_413_code",
            ),
            # Skip rule: the level attended is asked only of those who ever went to school.
            models.CheckConstraint(
                condition=Q(jenjang_pendidikan__isnull=True) | Q(partisipasi_sekolah__in=[2, 3]),
                name="member_413_only_if_schooled",
            ),
            models.CheckConstraint(
                condition=_in_codebook("ijazah_tertinggi", "jenjang_pendidikan"),
                name="member_415_code",
            ),
            models.CheckConstraint(
                condition=Q(tanggal_lahir__gte="1900-01-01"), name="member_birth_date_plausible"
            ),
            models.CheckConstraint(
                condition=Q(status_anggota__in=cb.codes("status_anggota")),
                name="member_status_code",
            ),
            # A current member has no status date; one who died or moved out has one, not
            # before birth.
            models.CheckConstraint(
                condition=Q(status_anggota=MemberStatus.CURRENT, tanggal_status__isnull=True)
                | Q(
                    ~Q(status_anggota=MemberStatus.CURRENT),
                    tanggal_status__gte=F("tanggal_lahir"),
                ),
                name="member_status_date",
            ),
            models.CheckConstraint(
                condition=Q(tujuan_pindah="") | Q(status_anggota=MemberStatus.MOVED_OUT),
                name="member_destination_only_if_moved_out",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(hubungan_keluarga=1),
                name="member_at_most_one_head",
            ),
        ]

    def __str__(self) -> str:
        return self.nama

    @property
    def is_head(self) -> bool:
        return self.hubungan_keluarga == 1

    @property
    def is_current(self) -> bool:
        return self.status_anggota == MemberStatus.CURRENT


# The members who count: in household sizes, indicators, map criteria and the default
# member list. The database triggers say the same in SQL (households_member_counts).
CURRENT_MEMBER = Q(status_anggota=MemberStatus.CURRENT)
