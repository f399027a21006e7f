"""The area tree: province > kabupaten/kota > kecamatan > desa/kelurahan.

Rows are keyed by the dotted Kemendagri code (`64.09.01.2001`). The code is
hierarchical, so a prefix match selects a whole subtree; households reference their
village by this code, which lets every area filter run on the households table alone.
"""

from __future__ import annotations

from django.contrib.gis.db import models
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
