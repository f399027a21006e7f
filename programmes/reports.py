"""Files of a programme: the by-name-by-address list of its interventions (XLSX and an A4
PDF ready to attach to a village meeting's minutes), masked per the caller's disclosure,
and its summary per kecamatan (from the rollup rows). In the requester's language."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from desapresisi.access import Disclosure, disclose_household
from households.exports.xlsx import xlsx_write
from households.models import Member
from villages.models import Region

from .models import Programme, ProgrammeVillageStat, Status
from .selectors import interventions_for

HEAD = 1  # hubungan_keluarga of the head of the household


def list_header() -> list[str]:
    return [
        _("Desa/kelurahan"), _("Dusun"), _("RT"), _("RW"), _("Alamat"), _("No. KK"),
        _("Kepala rumah tangga"), _("Status"), _("Kemajuan (%)"), _("Rencana (Rp)"),
        _("Realisasi (Rp)"), _("Ditandai selesai oleh"), _("Diverifikasi oleh"),
    ]  # fmt: skip


def list_rows(
    user, programme: Programme, disclosure: Disclosure, village: Region | None = None
) -> list[list[Any]]:
    """One row per intervention of the programme in the caller's areas (of one village
    when given: the list a village meeting signs), by village and address; names and
    numbers as the caller may see them."""
    labels = dict(Status.choices)
    items = interventions_for(user).filter(programme=programme)
    if village is not None:
        items = items.filter(household__region_id=village.code)
    items = items.select_related(
        "household", "household__region", "done_by", "verified_by"
    ).order_by("household__region_id", "household__dusun", "household__rt", "household_id")
    items = list(items)
    heads = dict(
        Member.objects.filter(
            household_id__in=[item.household_id for item in items], hubungan_keluarga=HEAD
        ).values_list("household_id", "nama")
    )
    rows = []
    for item in items:
        house = item.household
        shown = disclose_household(
            {"no_kk": house.no_kk, "alamat": house.alamat, "rw": house.rw, "rt": house.rt},
            disclosure,
        )
        head = heads.get(house.pk, "") if disclosure.names else ""
        rows.append(
            [
                house.region.name, house.dusun, shown["rt"] or "", shown["rw"] or "",
                shown["alamat"] or "", shown["no_kk"] or "", head, str(labels[item.status]),
                item.progress,
                int(item.planned_amount) if item.planned_amount is not None else None,
                int(item.realised_amount) if item.realised_amount is not None else None,
                item.done_by.get_username() if item.done_by else "",
                item.verified_by.get_username() if item.verified_by else "",
            ]
        )  # fmt: skip
    return rows


def summary_header() -> list[str]:
    return [_("Kecamatan"), _("Sasaran"), *[str(label) for label in Status.labels]]


def summary_rows(programme: Programme) -> list[list[Any]]:
    """Per kecamatan: targets and interventions per status, summed from the rollup rows."""
    names = dict(Region.objects.filter(level="kecamatan").values_list("code", "name"))
    totals: dict[str, list[int]] = {}
    for stat in ProgrammeVillageStat.objects.filter(programme=programme):
        code = stat.region_id[:8]
        entry = totals.setdefault(code, [0] * (1 + len(Status.values)))
        entry[0] += stat.targets
        for index, status in enumerate(Status.values, start=1):
            entry[index] += stat.counts.get(status, 0)
    return [[names.get(code, code), *values] for code, values in sorted(totals.items())]


def _title(programme: Programme, village: Region | None = None) -> str:
    title = _("Daftar sasaran %(name)s (%(year)s)") % {
        "name": programme.name,
        "year": programme.year,
    }
    return f"{title} - {village.name}" if village is not None else title


def programme_list_xlsx(
    *,
    user,
    programme: Programme,
    disclosure: Disclosure,
    language: str,
    village: Region | None = None,
):
    """(bytes, rows): the list and the summary per kecamatan, one sheet each."""
    with translation.override(language):
        rows = list_rows(user, programme, disclosure, village)
        head: list[list[Any]] = [
            [_title(programme, village)],
            [f"{programme.code} - {programme.skpd.name}"],
        ]
        if programme.synthetic:
            head.append([str(settings.DEMO_DATA_LABEL)])
        head.append([])
        summary = [[_title(programme)], [], summary_header(), *summary_rows(programme)]
        buffer = io.BytesIO()
        xlsx_write(
            buffer,
            [(_("Daftar sasaran"), [*head, list_header(), *rows]), (_("Ringkasan"), summary)],
        )
        return buffer.getvalue(), len(rows)


def programme_list_pdf(
    *,
    user,
    programme: Programme,
    disclosure: Disclosure,
    language: str,
    village: Region | None = None,
):
    """(bytes, rows): the list as an A4 landscape PDF with a place to sign."""
    with translation.override(language):
        rows = list_rows(user, programme, disclosure, village)
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=landscape(A4),
            leftMargin=10 * mm,
            rightMargin=10 * mm,
            topMargin=12 * mm,
            bottomMargin=12 * mm,
            title=_title(programme, village),
            invariant=1,
        )
        styles = getSampleStyleSheet()
        small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
        story: list[Any] = [
            Paragraph(_title(programme, village), styles["Heading2"]),
            Paragraph(f"{programme.code} - {programme.skpd.name}", small),
        ]
        if programme.synthetic:
            story.append(Paragraph(f"<b>{settings.DEMO_DATA_LABEL}</b>", small))
        story.append(Spacer(1, 3 * mm))
        number = small.clone("number", alignment=TA_RIGHT)

        def cell(value: Any) -> Paragraph:
            # Amounts and progress read as numbers of the language: 3.500.000 (id).
            if isinstance(value, int):
                return Paragraph(number_format(value, force_grouping=True), number)
            return Paragraph("" if value is None else str(value), small)

        table = Table(
            [[Paragraph(str(text), small) for text in list_header()]]
            + [[cell(value) for value in row] for row in rows],
            repeatRows=1,
            colWidths=[width * mm for width in (26, 20, 9, 9, 33, 31, 30, 19, 14, 20, 20, 23, 23)],
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a8a8a")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eff3")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [
            table,
            Spacer(1, 10 * mm),
            Paragraph(
                _("Dicetak %(date)s dari Desa Presisi (%(count)s rumah tangga). Mengetahui:")
                % {"date": timezone.localdate().isoformat(), "count": len(rows)},
                small,
            ),
        ]
        page_label = _("Halaman %(page)s")

        def footer(canvas, doc) -> None:
            canvas.saveState()
            canvas.setFont("Helvetica", 7)
            canvas.drawRightString(
                doc.pagesize[0] - 10 * mm, 6 * mm, page_label % {"page": doc.page}
            )
            canvas.drawString(10 * mm, 6 * mm, f"{programme.code} - {programme.skpd.name}")
            canvas.restoreState()

        document.build(story, onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue(), len(rows)
