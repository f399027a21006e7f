"""The pages' forms: freezing a target list, changing one intervention (the field form)
and approving several. Plain Django forms; the services decide, the forms carry their
verdicts back next to the fields."""

from __future__ import annotations

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .models import TRANSITIONS, FundingSource, Status, Unit

MAX_DESIL = 10


YES_NO = [("", _("(semua)")), ("true", _("Ya")), ("false", _("Tidak"))]
AID_FLAGS = ("penerima_pkh", "penerima_bpnt", "penerima_blt_dd", "penerima_pbi_jk")


class FreezeForm(forms.Form):
    """The household list's filters, in the page's words: area and decile first, then the
    other filters a targeting officer asks for, then any further filter of GET
    /households/ as its query string (what a filtered list's address carries)."""

    region = forms.ChoiceField(label=_("Wilayah"), choices=())
    desil_max = forms.IntegerField(
        label=_("Desil kesejahteraan sampai"),
        min_value=1,
        max_value=MAX_DESIL,
        required=False,
        help_text=_("Kosongkan untuk semua desil; 4 = desil 1-4."),
    )
    members_min = forms.IntegerField(
        label=_("Anggota rumah tangga paling sedikit"), min_value=1, max_value=99, required=False
    )
    has_ats = forms.ChoiceField(
        label=_("Ada anak 7-18 tahun tidak sekolah"), choices=YES_NO, required=False
    )
    rumah_tidak_layak_huni = forms.ChoiceField(
        label=_("Rumah tidak layak huni"), choices=YES_NO, required=False
    )
    air_minum_layak = forms.ChoiceField(label=_("Air minum layak"), choices=YES_NO, required=False)
    no_aid = forms.BooleanField(
        label=_("Hanya yang belum menerima PKH, BPNT, BLT Dana Desa maupun PBI JK"),
        required=False,
    )
    more = forms.CharField(
        label=_("Filter lain (dari alamat daftar rumah tangga)"),
        required=False,
        max_length=1000,
        help_text=_("Mis. atap=5&penerima_pkh=false: nama filter API /households/."),
    )
    exclude_other_programmes = forms.BooleanField(
        label=_("Lewati rumah tangga yang sudah di program lain untuk indikator dan tahun ini"),
        required=False,
    )

    def __init__(self, *args, areas: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = areas
        self.fields["more"].widget.attrs.update({"autocapitalize": "none", "spellcheck": "false"})

    def clean_more(self) -> dict:
        text = self.cleaned_data.get("more", "").strip().lstrip("?")
        more = QueryDict(text)
        if any(len(values) > 1 for values in more.lists()):
            raise forms.ValidationError(_("Setiap filter hanya boleh sekali."))
        clash = sorted(set(more) & {"region", "indicator", "ordering", "cursor", "page_size"})
        if clash:
            raise forms.ValidationError(
                _("Filter %(names)s diatur di kolom lain.") % {"names": ", ".join(clash)}
            )
        return more.dict()

    def criteria(self) -> dict:
        """The household list's filters this form stands for (as GET /households/)."""
        data = self.cleaned_data
        criteria = dict(data.get("more") or {})
        criteria["region"] = data["region"]
        if data.get("desil_max"):
            criteria["desil_kesejahteraan__lte"] = str(data["desil_max"])
        if data.get("members_min"):
            criteria["jumlah_anggota__gte"] = str(data["members_min"])
        for name in ("has_ats", "rumah_tidak_layak_huni", "air_minum_layak"):
            if data.get(name):
                criteria[name] = data[name]
        if data.get("no_aid"):
            criteria.update(dict.fromkeys(AID_FLAGS, "false"))
        return criteria


class InterventionForm(forms.Form):
    status = forms.ChoiceField(label=_("Status baru"), choices=(), required=False)
    progress = forms.IntegerField(
        label=_("Kemajuan (%)"), min_value=0, max_value=100, required=False
    )
    realised_amount = forms.IntegerField(
        label=_("Anggaran realisasi (Rp)"), min_value=0, required=False
    )
    note = forms.CharField(
        label=_("Catatan"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = forms.FileField(
        label=_("Foto bukti"),
        required=False,
        help_text=_("JPEG, PNG atau WebP. Metadata dibuang; titik GPS foto disimpan."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args, current: str, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Status.choices)
        self.fields["status"].choices = [("", _("(tidak berubah)"))] + [
            (status, labels[status]) for status in TRANSITIONS[current]
        ]

    def clean(self):
        data = super().clean()
        if not data.get("status") and not data.get("photo") and not self.errors:
            raise forms.ValidationError(_("Pilih status baru atau unggah foto."))
        return data


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(label=_("Intervensi"), coerce=int, choices=())
    status = forms.ChoiceField(
        label=_("Ubah menjadi"),
        choices=[
            (Status.APPROVED, Status.APPROVED.label),
            (Status.REJECTED, Status.REJECTED.label),
            (Status.CANCELLED, Status.CANCELLED.label),
        ],
    )

    def __init__(self, *args, ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].choices = [(pk, str(pk)) for pk in ids]


class ProgrammeForm(forms.Form):
    """A new programme of an SKPD: what `programme_create` needs, in the page's words."""

    code = forms.SlugField(
        label=_("Kode program"),
        max_length=40,
        help_text=_("Huruf kecil, angka dan tanda hubung, mis. stbm-2027. Tidak dapat diubah."),
    )
    name = forms.CharField(label=_("Nama program"), max_length=200)
    skpd = forms.ChoiceField(label=_("SKPD pemilik"), choices=())
    year = forms.IntegerField(label=_("Tahun"), min_value=2000, max_value=2100)
    indicator = forms.ChoiceField(label=_("Indikator yang ditangani"), choices=())
    unit = forms.ChoiceField(
        label=_("Satuan sasaran"),
        choices=Unit.choices,
        help_text=_("Sama dengan yang dihitung indikatornya."),
    )
    area = forms.ChoiceField(label=_("Wilayah program"), choices=())
    funding_sources = forms.MultipleChoiceField(
        label=_("Sumber dana"),
        choices=FundingSource.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    target_count = forms.IntegerField(
        label=_("Target (jumlah sasaran)"), min_value=0, max_value=10_000_000
    )
    unit_cost = forms.IntegerField(
        label=_("Biaya per sasaran (Rp)"), min_value=0, max_value=10**13, required=False
    )

    def __init__(self, *args, skpds, indicators, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skpd"].choices = skpds
        self.fields["indicator"].choices = indicators
        self.fields["area"].choices = areas
        self.fields["code"].widget.attrs.update({"autocapitalize": "none", "spellcheck": "false"})
        for name in ("year", "target_count", "unit_cost"):
            self.fields[name].widget.attrs["inputmode"] = "numeric"
