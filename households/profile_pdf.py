"""A one-page village profile (A4 PDF) for printing: key indicators against the kabupaten,
a bar chart of them and the village outline. Aggregates only; values come from the
rollup through `indicator_values_for`, so the public gets the same small-cell
suppression as the API."""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from villages.models import Region

from .models import Indicator
from .selectors import indicator_values_for

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


def village_profile_pdf(*, region: Region, suppress_up_to: int | None, language: str) -> bytes:
    english = language.startswith("en")
    indicators = {
        indicator.code: indicator
        for indicator in Indicator.objects.filter(code__in=KEY_INDICATORS, active=True)
    }
    codes = [code for code in KEY_INDICATORS if code in indicators]
    kabupaten = region.code[:5]
    rows = indicator_values_for(
        indicators=codes, areas=[region.code, kabupaten], suppress_up_to=suppress_up_to
    )
    latest = max((row["period"] for row in rows), default=None)
    values = {(row["indicator"], row["area_code"]): row for row in rows if row["period"] == latest}
    kabupaten_name = Region.objects.filter(code=kabupaten).values_list("name", flat=True).first()

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    _width, height = A4
    pdf.setTitle(f"Profil {region.name}")
    pdf.setFont("Helvetica-Bold", 16)
    title = "Village profile" if english else "Profil desa/kelurahan"
    pdf.drawString(20 * mm, height - 22 * mm, f"{title}: {region.name}")
    pdf.setFont("Helvetica", 9)
    pdf.drawString(
        20 * mm,
        height - 28 * mm,
        f"{region.code} - {kabupaten_name or kabupaten} - "
        f"{'period' if english else 'periode'} {latest or '-'}",
    )

    # Table: indicator, village, kabupaten
    y = height - 40 * mm
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(20 * mm, y, "Indicator" if english else "Indikator")
    pdf.drawRightString(150 * mm, y, region.name[:24])
    pdf.drawRightString(190 * mm, y, (kabupaten_name or kabupaten)[:24])
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
            chart_labels.append(code)
            chart_village.append(village_row.get("value") or 0)
            chart_kabupaten.append(kabupaten_row.get("value") or 0)
    y -= 5 * mm
    pdf.setFont("Helvetica-Oblique", 7)
    pdf.drawString(
        20 * mm,
        y,
        "'-': no data or hidden (small numbers)"
        if english
        else "'-': tidak ada data atau disembunyikan (angka kecil)",
    )

    if chart_labels:
        drawing = Drawing(95 * mm, 90 * mm)
        chart = HorizontalBarChart()
        chart.x, chart.y = 28 * mm, 8 * mm
        chart.width, chart.height = 62 * mm, 78 * mm
        chart.data = [chart_village, chart_kabupaten]
        chart.categoryAxis.categoryNames = chart_labels
        chart.categoryAxis.labels.fontSize = 6
        chart.valueAxis.valueMin = 0
        chart.valueAxis.valueMax = 100
        chart.valueAxis.labels.fontSize = 6
        chart.bars[0].fillColor = colors.HexColor("#1f6f8b")
        chart.bars[1].fillColor = colors.HexColor("#c8c8c8")
        drawing.add(chart)
        drawing.add(String(28 * mm, 2 * mm, "% - desa (biru) vs kabupaten (abu-abu)", fontSize=6))
        drawing.drawOn(pdf, 15 * mm, 25 * mm)

    if region.boundary is not None:
        _draw_outline(pdf, region.boundary, x=115 * mm, y=30 * mm, size=80 * mm)

    pdf.setFont("Helvetica", 7)
    pdf.drawString(
        20 * mm,
        12 * mm,
        f"Desa Presisi - {timezone.localdate().isoformat()} - "
        + ("aggregates only" if english else "hanya data agregat"),
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_outline(pdf, boundary, *, x: float, y: float, size: float) -> None:
    """The polygon scaled into a square box, aspect kept (longitude scaled by latitude)."""
    import math

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
