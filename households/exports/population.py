"""The monthly population report as files: XLSX (one sheet, numbers as numbers) and an
A4 landscape PDF ready to sign, in the requester's language. The figures are
`households.population.population_report`'s; this module only lays them out."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..population import PopulationReport
from .xlsx import xlsx_write


def flow_labels() -> dict[str, str]:
    return {
        "lahir": _("Kelahiran"),
        "meninggal": _("Kematian"),
        "datang": _("Datang"),
        "pindah": _("Pindah"),
        "antar_dusun": _("Mutasi antar dusun"),
    }


def column_groups() -> list[tuple[str, list[str]]]:
    """The report's column groups and their sub-columns, as the page, the sheet and the PDF
    print them (the page builds its two-row header from the same list)."""
    sex = [_("L"), _("P")]
    groups = [(_("Awal bulan"), [*sex, _("Jumlah")])]
    groups += [(label, sex) for label in flow_labels().values()]
    groups.append((_("Akhir bulan"), [*sex, _("Jumlah")]))
    return groups


def dusun_label(name: str) -> str:
    return name or _("(dusun tidak diisi)")


def month_label(report: PopulationReport) -> str:
    return formats.date_format(report.first_day, "F Y")


def report_notes() -> list[str]:
    return [
        _(
            "Lahir, meninggal, datang dan pindah dihitung dari register peristiwa "
            "kependudukan yang dicatat di portal, menurut tanggal peristiwanya."
        ),
        _(
            "Datang dan pindah: dari dan ke luar desa/kelurahan ini. Mutasi antar dusun: "
            "perubahan bersih karena pindah rumah tangga di dalam desa."
        ),
        _(
            "Jumlah awal dan akhir bulan dihitung mundur dari data saat ini dengan register "
            "itu; anggota yang ditambah atau dihapus tanpa peristiwa (impor sensus, koreksi) "
            "mengubahnya seolah selalu demikian."
        ),
    ]


def _title(report: PopulationReport, village_name: str) -> str:
    return _("Laporan bulanan penduduk %(village)s, %(month)s") % {
        "village": village_name,
        "month": month_label(report),
    }


def _header_rows() -> tuple[list[str], list[str]]:
    top: list[str] = [_("Dusun")]
    bottom: list[str] = [""]
    for label, subcolumns in column_groups():
        top += [label] + [""] * (len(subcolumns) - 1)
        bottom += subcolumns
    return top, bottom


def _table(report: PopulationReport) -> list[list[Any]]:
    top, bottom = _header_rows()
    rows: list[list[Any]] = [top, bottom]
    rows += [[dusun_label(row.dusun), *row.cells()] for row in report.rows]
    rows.append([_("Jumlah desa/kelurahan"), *report.total.cells()])
    return rows


def population_report_xlsx(
    *, report: PopulationReport, village_name: str, synthetic: bool, language: str
) -> bytes:
    with translation.override(language):
        rows: list[list[Any]] = [[_title(report, village_name)], [report.village_code]]
        if synthetic:
            rows.append([str(settings.DEMO_DATA_LABEL)])
        rows.append([])
        rows += _table(report)
        rows.append([])
        rows += [[note] for note in report_notes()]
        if report.unknown_sex:
            rows.append([unknown_sex_note(report)])
        buffer = io.BytesIO()
        xlsx_write(buffer, [(_("Laporan %(month)s") % {"month": report.period}, rows)])
        return buffer.getvalue()


def unknown_sex_note(report: PopulationReport) -> str:
    return _("%(count)s orang atau peristiwa tanpa jenis kelamin tidak dihitung.") % {
        "count": report.unknown_sex
    }


def population_report_pdf(
    *, report: PopulationReport, village_name: str, synthetic: bool, language: str
) -> bytes:
    with translation.override(language):
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=landscape(A4),
            leftMargin=12 * mm,
            rightMargin=12 * mm,
            topMargin=12 * mm,
            bottomMargin=12 * mm,
            title=_title(report, village_name),
            invariant=1,
        )
        styles = getSampleStyleSheet()
        small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
        story: list[Any] = [
            Paragraph(_title(report, village_name), styles["Heading2"]),
            Paragraph(
                f"{report.village_code} - "
                + _("%(first)s s.d. %(last)s")
                % {"first": report.first_day.isoformat(), "last": report.last_day.isoformat()},
                small,
            ),
        ]
        if synthetic:
            story.append(Paragraph(f"<b>{settings.DEMO_DATA_LABEL}</b>", small))
        story.append(Spacer(1, 4 * mm))
        data = _table(report)
        # Column widths: the dusun's name, then 17 narrow number columns.
        numbers = len(data[1]) - 1
        table = Table(
            [[Paragraph(str(cell), small) if index == 0 else cell for index, cell in
              enumerate(row)] for row in data],
            colWidths=[48 * mm] + [(273 - 48) * mm / numbers] * numbers,
            repeatRows=2,
        )  # fmt: skip
        spans = [("SPAN", (0, 0), (0, 1))]
        column = 1
        for _label, subcolumns in column_groups():
            spans.append(("SPAN", (column, 0), (column + len(subcolumns) - 1, 0)))
            column += len(subcolumns)
        table.setStyle(
            TableStyle(
                [
                    *spans,
                    ("FONT", (0, 0), (-1, 1), "Helvetica-Bold", 7),
                    ("FONT", (1, 2), (-1, -1), "Helvetica", 8),
                    ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8),
                    ("ALIGN", (1, 0), (-1, -1), "CENTER"),
                    ("ALIGN", (1, 2), (-1, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a8a8a")),
                    ("BACKGROUND", (0, 0), (-1, 1), colors.HexColor("#e6eff3")),
                    ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f2f2f2")),
                ]
            )
        )
        story += [table, Spacer(1, 4 * mm)]
        story += [Paragraph(note, small) for note in report_notes()]
        if report.unknown_sex:
            story.append(Paragraph(unknown_sex_note(report), small))
        story += [
            Spacer(1, 10 * mm),
            Paragraph(
                _("Dicetak %(date)s dari Desa Presisi. Mengetahui, Kepala Desa/Lurah:")
                % {"date": timezone.localdate().isoformat()},
                small,
            ),
        ]
        document.build(story)
        return buffer.getvalue()
