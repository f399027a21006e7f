"""A one-page village profile (A4 PDF) for printing: key indicators against the kabupaten,
a bar chart of them and the village outline. Aggregates only; values come from the
rollup through `indicator_values_for`, so the public gets the same small-cell
suppression as the API."""

from __future__ import annotations

import io
import math
import textwrap

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from villages.models import Region

from ..indicators.trends import period_codes
from ..models import DataSource, Household, Indicator
from ..selectors import indicator_values_for

KEY_INDICATORS = [
    "jumlah_rumah_tangga", "jumlah_jiwa", "tanpa_jamban", "babs", "sanitasi_layak",
    "air_minum_layak", "rtlh", "ats_7_18", "desil_1_4", "miskin_tanpa_jamban",
]  # fmt: skip


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value:.1f} %".replace(".", ",")
    return f"{value:,.0f}".replace(",", ".")


def _header_lines(pdf, text: str, width: float, font: str, size: float) -> list[str]:
    """A column header wrapped into its column (two lines at most, the last one cut)."""
    lines = simpleSplit(text, font, size, width)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    while len(lines) == 2 and pdf.stringWidth(lines[1], font, size) > width:
        lines[1] = lines[1][:-2] + "…"
    return lines


def village_profile_pdf(*, region: Region, suppress_up_to: int | None, language: str) -> bytes:
    with translation.override(language):
        return _profile_pdf(region=region, suppress_up_to=suppress_up_to, language=language)


def _profile_pdf(*, region: Region, suppress_up_to: int | None, language: str) -> bytes:
    indicators = {
        indicator.code: indicator
        for indicator in Indicator.objects.filter(code__in=KEY_INDICATORS, active=True)
    }
    codes = [code for code in KEY_INDICATORS if code in indicators]
    kabupaten = region.code[:5]
    rows = indicator_values_for(
        indicators=codes, areas=[region.code, kabupaten], suppress_up_to=suppress_up_to
    )
    present = {row["period"] for row in rows}
    latest = next((p for p in reversed(period_codes()) if p in present), None)
    values = {(row["indicator"], row["area_code"]): row for row in rows if row["period"] == latest}
    kabupaten_name = Region.objects.filter(code=kabupaten).values_list("name", flat=True).first()
    # Provenance, not records: the page says so whenever its village holds demo data, as
    # the dashboard pages do.
    synthetic = Household.objects.filter(
        region_id=region.code, sumber_data=DataSource.SYNTHETIC
    ).exists()
    demo_label = str(settings.DEMO_DATA_LABEL)

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    _width, height = A4
    pdf.setTitle(_("Profil %(village)s") % {"village": region.name})
    pdf.setFont("Helvetica-Bold", 16)
    title = _("Profil desa/kelurahan: %(village)s") % {"village": region.name}
    pdf.drawString(20 * mm, height - 22 * mm, title)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(
        20 * mm,
        height - 28 * mm,
        f"{region.code} - {kabupaten_name or kabupaten} - "
        + _("periode %(period)s") % {"period": latest or "-"},
    )
    if synthetic:
        _demo_banner(pdf, demo_label, x=20 * mm, y=height - 36 * mm)

    # Table: indicator, village, kabupaten. The two value columns are 36 mm wide and
    # their headers wrap inside them: long area names no longer run into each other.
    column_width = 36 * mm
    columns = [(150 * mm, region.name), (190 * mm, kabupaten_name or kabupaten)]
    y = height - 46 * mm
    pdf.setFont("Helvetica-Bold", 8)
    pdf.drawString(20 * mm, y, _("Indikator"))
    header_rows = 1
    for right, name in columns:
        lines = _header_lines(pdf, name, column_width, "Helvetica-Bold", 8)
        header_rows = max(header_rows, len(lines))
        for index, line in enumerate(lines):
            pdf.drawRightString(right, y - index * 3.5 * mm, line)
    y -= (header_rows - 1) * 3.5 * mm
    pdf.setFont("Helvetica", 9)
    chart_labels, chart_village, chart_kabupaten = [], [], []
    for code in codes:
        indicator = indicators[code]
        y -= 6 * mm
        village_row = values.get((code, region.code), {})
        kabupaten_row = values.get((code, kabupaten), {})
        pdf.drawString(20 * mm, y, indicator.name(language)[:70])
        pdf.drawRightString(150 * mm, y, _format(village_row.get("value"), indicator.unit))
        pdf.drawRightString(190 * mm, y, _format(kabupaten_row.get("value"), indicator.unit))
        if indicator.unit == "%":
            # The chart names what it shows, as the table does, not the internal code.
            chart_labels.append("\n".join(textwrap.wrap(indicator.name(language), 34)[:3]))
            chart_village.append(village_row.get("value") or 0)
            chart_kabupaten.append(kabupaten_row.get("value") or 0)
    y -= 5 * mm
    pdf.setFont("Helvetica-Oblique", 7)
    pdf.drawString(
        20 * mm,
        y,
        _("'-': tidak ada data atau disembunyikan (angka kecil)"),
    )

    chart_top = y - 8 * mm
    if chart_labels:
        drawing = Drawing(120 * mm, 110 * mm)
        chart = HorizontalBarChart()
        chart.x, chart.y = 48 * mm, 10 * mm
        chart.width, chart.height = 68 * mm, 98 * mm
        # Top to bottom in the table's order (the category axis starts at the bottom).
        chart.data = [chart_village[::-1], chart_kabupaten[::-1]]
        chart.categoryAxis.categoryNames = chart_labels[::-1]
        chart.categoryAxis.labels.fontSize = 6
        chart.categoryAxis.labels.leading = 7
        chart.categoryAxis.labels.textAnchor = "end"
        chart.valueAxis.valueMin = 0
        chart.valueAxis.valueMax = 100
        chart.valueAxis.labels.fontSize = 6
        chart.bars[0].fillColor = colors.HexColor("#1f6f8b")
        chart.bars[1].fillColor = colors.HexColor("#c8c8c8")
        drawing.add(chart)
        legend = "% - " + _("desa (biru) vs kabupaten (abu-abu)")
        drawing.add(String(48 * mm, 3 * mm, legend, fontSize=6))
        drawing.drawOn(pdf, 15 * mm, chart_top - 110 * mm)

    if region.boundary is not None:
        _draw_outline(pdf, region.boundary, x=140 * mm, y=chart_top - 65 * mm, size=55 * mm)

    pdf.setFillColor(colors.black)  # the outline left its fill colour behind
    pdf.setFont("Helvetica", 7)
    pdf.drawString(
        20 * mm,
        12 * mm,
        f"Desa Presisi - {timezone.localdate().isoformat()} - "
        + _("hanya data agregat")
        + (f" - {demo_label}" if synthetic else ""),
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _demo_banner(pdf, text: str, *, x: float, y: float) -> None:
    """The synthetic-data label, framed like the pages' `demo-label` note."""
    pdf.setFont("Helvetica-Bold", 9)
    width = pdf.stringWidth(text, "Helvetica-Bold", 9) + 6 * mm
    pdf.setFillColor(colors.HexColor("#fff3cd"))
    pdf.setStrokeColor(colors.HexColor("#b58100"))
    pdf.rect(x, y - 2 * mm, width, 6 * mm, stroke=1, fill=1)
    pdf.setFillColor(colors.HexColor("#5c4200"))
    pdf.drawString(x + 3 * mm, y, text)
    pdf.setFillColor(colors.black)


def _draw_outline(pdf, boundary, *, x: float, y: float, size: float) -> None:
    """The polygon scaled into a square box, aspect kept (longitude scaled by latitude)."""
    min_x, min_y, max_x, max_y = boundary.extent
    squeeze = math.cos(math.radians((min_y + max_y) / 2))
    span = max((max_x - min_x) * squeeze, max_y - min_y) or 1.0
    scale = size / span

    def at(lon: float, lat: float) -> tuple[float, float]:
        return x + (lon - min_x) * squeeze * scale, y + (lat - min_y) * scale

    pdf.setStrokeColor(colors.HexColor("#1f6f8b"))
    pdf.setFillColor(colors.HexColor("#dcecf2"))
    path = pdf.beginPath()
    for polygon in boundary.coords:
        for ring in polygon:
            step = max(1, len(ring) // 2000)
            points = ring[::step]
            path.moveTo(*at(*points[0]))
            for point in points[1:]:
                path.lineTo(*at(*point))
            path.close()
    pdf.drawPath(path, stroke=1, fill=1, fillMode=0)
