"""Indicators as data, their stored values per area and period, and the map's cluster cells."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models.functions import Now
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..indicators.spec import validate_map_criterion, validate_spec


class Topic(models.TextChoices):
    POPULATION = "kependudukan", _("Kependudukan")
    SANITATION = "sanitasi", _("Sanitasi")
    WATER = "air_minum", _("Air minum")
    HOUSING = "rumah", _("Rumah")
    EDUCATION = "pendidikan", _("Pendidikan")
    WELFARE = "kesejahteraan", _("Kesejahteraan")


class Indicator(models.Model):
    """An indicator as data (DHIS2 style): numerator and denominator are filter specs.

    A spec is JSON: {"unit": "household"|"member", "aggregate": "count"|"sum",
    "field": <for sum>, "where": {lookup: value}, "exclude": {lookup: value},
    "any": [spec-without-unit, ...]}; see `households/indicators/spec.py` for the lookups
    allowed. A null denominator makes a plain count or sum (value = numerator x factor).
    """

    code = models.SlugField(_("kode"), max_length=40, primary_key=True)
    name_id = models.CharField(_("nama (Indonesia)"), max_length=150)
    name_en = models.CharField(_("nama (Inggris)"), max_length=150)
    description_id = models.TextField(_("uraian (Indonesia)"), blank=True)
    description_en = models.TextField(_("uraian (Inggris)"), blank=True)
    topic = models.CharField(_("topik"), max_length=20, choices=Topic.choices)
    numerator = models.JSONField(_("pembilang"))
    denominator = models.JSONField(_("penyebut"), null=True, blank=True)
    factor = models.FloatField(_("faktor"), default=100)
    unit = models.CharField(_("satuan"), max_length=40, default="%")
    higher_is_better = models.BooleanField(_("makin tinggi makin baik"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("urutan"), default=100)
    active = models.BooleanField(_("aktif"), default=True)
    # See households/indicators/criteria.py.
    map_criterion = models.BooleanField(
        _("kriteria peta"),
        default=False,
        help_text=_("Titik rumah tangga di peta dapat diwarnai menurut pembilang indikator ini."),
    )

    class Meta:
        verbose_name = _("indikator")
        verbose_name_plural = _("indikator")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name_id}"

    def name(self, language: str | None = None) -> str:
        language = language or get_language() or "id"
        return self.name_en if language.startswith("en") else self.name_id

    def clean(self) -> None:
        validate_spec(self.numerator, field="numerator")
        if self.denominator is not None:
            validate_spec(self.denominator, field="denominator")
        if self.map_criterion:
            validate_map_criterion(self.numerator)


class IndicatorValue(models.Model):
    """The rollup: one row per (indicator, area, period), at every level of the tree."""

    # The unique (indicator, period, region) index serves lookups by indicator.
    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="values", db_index=False
    )
    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    # A survey round's code (households.SurveyRound), or the survey year where no round
    # was ever opened.
    period = models.CharField(_("periode"), max_length=40)
    numerator = models.FloatField(_("pembilang"))
    denominator = models.FloatField(_("penyebut"), null=True)
    value = models.FloatField(_("nilai"), null=True)
    # Hidden from the public at `suppression_limit` (see households/indicators/suppression.py); kept
    # by the rollup, so a public request reads it instead of computing it.
    suppressed = models.BooleanField(_("disembunyikan untuk publik"), db_default=False)
    suppression_limit = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("nilai indikator")
        verbose_name_plural = _("nilai indikator")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "period", "region"], name="indicator_value_unique"
            )
        ]


class UnitIndicatorValue(models.Model):
    """The rollup below the village: one row per (indicator, unit, period) for every dusun,
    RW and RT (villages.VillageUnit), from the households whose names resolve to the unit
    or a unit under it. Kept by `indicators_refresh` for the villages it recomputes, with
    the public's small-cell suppression (households/indicators/suppression.py)."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(
        "villages.VillageUnit", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The unit's village: what a refresh deletes and rewrites, and the area rule's key.
    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    # A survey round's code (households.SurveyRound), or the survey year where no round
    # was ever opened.
    period = models.CharField(_("periode"), max_length=40)
    numerator = models.FloatField(_("pembilang"))
    denominator = models.FloatField(_("penyebut"), null=True)
    value = models.FloatField(_("nilai"), null=True)
    suppressed = models.BooleanField(_("disembunyikan untuk publik"), db_default=False)
    suppression_limit = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("nilai indikator per wilayah di bawah desa")
        verbose_name_plural = _("nilai indikator per wilayah di bawah desa")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "indicator", "period"], name="unit_indicator_value_unique"
            )
        ]


class TileCell(models.Model):
    """Households of one village counted in one cell of the map's cluster grid.

    The grid is the one low-zoom vector tiles draw: at zoom z a tile is CLUSTER_CELLS x
    CLUSTER_CELLS cells of Web Mercator, counted from the top-left corner of the world, so
    a tile (z, x, y) holds the cells 32x..32x+31 by 32y..32y+31 and the cells of zoom z are
    the cells of zoom z+1 halved. Kept by `indicators_refresh` for the villages it
    recomputes (see `tiles.tile_cells_refresh`), so a province at zoom 8 is a few thousand
    rows instead of a million points. Coordinates are sums so that cells add up to the
    mean point of their households; counts per map criterion are keyed by indicator code."""

    region = models.ForeignKey("villages.Region", on_delete=models.CASCADE, related_name="+")
    z = models.PositiveSmallIntegerField()
    cx = models.IntegerField()
    cy = models.IntegerField()
    households = models.IntegerField()
    # {indicator code: households meeting that map criterion}, for every criterion at the
    # last refresh (households/indicators/criteria.py): no column per criterion.
    criteria = models.JSONField(default=dict)
    jiwa = models.IntegerField()
    sum_x = models.FloatField()
    sum_y = models.FloatField()

    class Meta:
        verbose_name = _("sel peta")
        verbose_name_plural = _("sel peta")
        constraints = [
            models.UniqueConstraint(fields=["z", "cx", "cy", "region"], name="tile_cell_unique")
        ]


class DirtyRegion(models.Model):
    """Villages whose indicator values are stale. Filled by database triggers on every
    write to households or members (migration 0004), emptied by `indicators_refresh`."""

    region = models.OneToOneField(
        "villages.Region", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # When the village first went stale since its last refresh (the triggers insert with
    # ON CONFLICT DO NOTHING, so the first mark stays): the rollup's freshness metric.
    marked_at = models.DateTimeField(db_default=Now())


class AreaTotal(models.Model):
    """Households and synthetic households of every area (village and each level above
    it) over every survey period, kept by `indicators_refresh` for the areas it
    recomputes: the pages read these, never a live count of the households."""

    region = models.OneToOneField(
        "villages.Region", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    households = models.IntegerField(default=0)
    # Households of the synthetic demo census: a page carrying any must say so.
    synthetic = models.IntegerField(default=0)


class TileCache(models.Model):
    """A rendered vector tile, kept until the rollup refresh recomputes a village it
    draws (`regions`: the villages of the rows it read) or one whose households now lie in
    its `bounds` (the envelope it read). `variant` is a hash of everything else that
    changes the answer: the caller's scope and disclosure, the filter, the map criteria
    (households/api/tiles.py). `etag` is the tile's HTTP validator."""

    z = models.PositiveSmallIntegerField()
    x = models.IntegerField()
    y = models.IntegerField()
    variant = models.CharField(max_length=64)
    tile = models.BinaryField()
    etag = models.CharField(max_length=40)
    regions = ArrayField(models.CharField(max_length=13), default=list)
    bounds = models.PolygonField(srid=4326)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "z", "x", "y"], name="tile_cache_unique")
        ]
        indexes = [GinIndex(fields=["regions"], name="tile_cache_regions_idx")]
