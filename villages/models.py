"""The area tree: province > kabupaten/kota > kecamatan > desa/kelurahan.

Rows are keyed by the dotted Kemendagri code (`64.09.01.2001`). The code is
hierarchical, so a prefix match selects a whole subtree; households reference their
village by this code, which lets every area filter run on the households table alone.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .codes import CODE_PATTERN, subtree_q


class Level(models.TextChoices):
    PROVINCE = "province", _("Provinsi")
    KABUPATEN = "kabupaten", _("Kabupaten/Kota")
    KECAMATAN = "kecamatan", _("Kecamatan")
    DESA = "desa", _("Desa/Kelurahan")


LEVEL_CODE_LENGTH = {Level.PROVINCE: 2, Level.KABUPATEN: 5, Level.KECAMATAN: 8, Level.DESA: 13}


class Kind(models.TextChoices):
    PROVINSI = "provinsi", _("Provinsi")
    KABUPATEN = "kabupaten", _("Kabupaten")
    KOTA = "kota", _("Kota")
    KECAMATAN = "kecamatan", _("Kecamatan")
    DESA = "desa", _("Desa")
    KELURAHAN = "kelurahan", _("Kelurahan")
    DESA_ADAT = "desa_adat", _("Desa adat")


class RegionQuerySet(models.QuerySet):
    def subtree(self, code: str) -> RegionQuerySet:
        """The area with this code and everything below it."""
        return self.filter(subtree_q(code))

    def villages(self) -> RegionQuerySet:
        return self.filter(level=Level.DESA)


class Region(models.Model):
    code = models.CharField(_("kode Kemendagri"), max_length=13, primary_key=True)
    name = models.CharField(_("nama"), max_length=100)
    level = models.CharField(_("tingkat"), max_length=10, choices=Level.choices)
    kind = models.CharField(_("jenis"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("induk"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    boundary = models.MultiPolygonField(_("batas wilayah"), srid=4326, null=True, blank=True)
    area_km2 = models.FloatField(_("luas (km²)"), null=True, blank=True)
    bps_code = models.CharField(_("kode BPS"), max_length=10, blank=True)
    code_version = models.CharField(_("versi tabel kode"), max_length=60)
    boundary_source = models.CharField(_("sumber batas"), max_length=120, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("wilayah")
        verbose_name_plural = _("wilayah")
        ordering = ["code"]
        # Django adds a varchar_pattern_ops index beside the key, which serves
        # `code LIKE '64.09.%'` (subtree) queries under any collation.
        indexes = [models.Index(fields=["level", "parent"], name="region_level_parent_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=CODE_PATTERN), name="region_code_format"
            ),
            models.CheckConstraint(
                condition=(
                    Q(level=Level.PROVINCE, parent__isnull=True)
                    | Q(
                        level__in=[Level.KABUPATEN, Level.KECAMATAN, Level.DESA],
                        parent__isnull=False,
                    )
                ),
                name="region_parent_by_level",
            ),
            models.CheckConstraint(
                condition=(
                    Q(level=Level.PROVINCE, kind=Kind.PROVINSI)
                    | Q(level=Level.KABUPATEN, kind__in=[Kind.KABUPATEN, Kind.KOTA])
                    | Q(level=Level.KECAMATAN, kind=Kind.KECAMATAN)
                    | Q(level=Level.DESA, kind__in=[Kind.DESA, Kind.KELURAHAN, Kind.DESA_ADAT])
                ),
                name="region_kind_by_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_village(self) -> bool:
        return self.level == Level.DESA


class UnitKind(models.TextChoices):
    """The units below a village: dusun (lingkungan in a kelurahan), RW and RT."""

    DUSUN = "dusun", _("Dusun/lingkungan")
    RW = "rw", _("RW")
    RT = "rt", _("RT")


# Which kinds a unit of each kind may sit under (no parent: directly under the village).
UNIT_PARENT_KINDS: dict[str, tuple[str, ...]] = {
    UnitKind.DUSUN: (),
    UnitKind.RW: (UnitKind.DUSUN,),
    UnitKind.RT: (UnitKind.RW, UnitKind.DUSUN),
}
# How long a name may be: the household's own field of the same kind holds it.
UNIT_NAME_LENGTH = {UnitKind.DUSUN: 60, UnitKind.RW: 3, UnitKind.RT: 3}


class VillageUnit(models.Model):
    """A dusun/lingkungan, RW or RT of one desa/kelurahan.

    Households keep the census strings (dusun, rw, rt); the units of their village are the
    set of valid names (households/sql/households_unit_resolve.sql is the rule, and
    `villages.selectors.UnitIndex` the same rule for messages). A village without units
    has no list yet: its households' names are not checked until units are defined.
    """

    region = models.ForeignKey(
        Region,
        verbose_name=_("desa/kelurahan"),
        on_delete=models.PROTECT,
        related_name="units",
        limit_choices_to={"level": Level.DESA},
    )
    kind = models.CharField(_("jenis"), max_length=5, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("di bawah"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    name = models.CharField(_("nama"), max_length=60)
    kepala = models.CharField(_("nama ketua/kepala"), max_length=100, blank=True)
    batas = models.MultiPolygonField(_("batas wilayah"), srid=4326, null=True, blank=True)

    class Meta:
        verbose_name = _("wilayah di bawah desa")
        verbose_name_plural = _("wilayah di bawah desa")
        ordering = ["region", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind", "parent", "name"],
                name="village_unit_unique_name",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=~Q(name=""), name="village_unit_name_given"),
            models.CheckConstraint(
                condition=Q(kind=UnitKind.DUSUN, parent__isnull=True) | ~Q(kind=UnitKind.DUSUN),
                name="village_unit_dusun_top",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"

    def clean(self) -> None:
        errors = {}
        limit = UNIT_NAME_LENGTH.get(self.kind)
        if limit and len(self.name or "") > limit:
            errors["name"] = _("Nama %(kind)s paling panjang %(limit)s karakter.") % {
                "kind": self.get_kind_display(),
                "limit": limit,
            }
        if self.name and self.name != self.name.strip():
            errors["name"] = _("Nama tidak boleh diawali atau diakhiri spasi.")
        if self.parent_id is not None:
            parent = self.parent
            if parent.region_id != self.region_id:
                errors["parent"] = _("Induk harus wilayah di desa/kelurahan yang sama.")
            elif parent.kind not in UNIT_PARENT_KINDS.get(self.kind, ()):
                errors["parent"] = _("%(kind)s tidak dapat berada di bawah %(parent)s.") % {
                    "kind": self.get_kind_display(),
                    "parent": parent.get_kind_display(),
                }
        if errors:
            raise ValidationError(errors)
