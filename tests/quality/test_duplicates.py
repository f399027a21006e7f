"""Duplicate-person detection in a synthetic village of 2,000 households: the test plants
copies of real members into other households under a new NIK with a spelling variant
of the name (the ways names drift between two enumerations), then measures recall (at
least 95% of planted copies found) and false flags (under 5% of the flags raised)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from households.models import Household, Member
from quality.models import Flag
from quality.services import flags_refresh
from tests.factories import PENAJAM_KELURAHAN, nik_for

pytestmark = pytest.mark.django_db

V = PENAJAM_KELURAHAN
MEN = ["Ahmad", "Budi", "Joko", "Eko", "Agus", "Bambang", "Hendra", "Dedi", "Rudi", "Yusuf",
       "Muhammad", "Rahmat", "Irwan", "Fajar", "Andi", "Hasan", "Ilham", "Rizal", "Syahrul",
       "Wahyu"]  # fmt: skip
WOMEN = ["Siti", "Dewi", "Sri", "Nur", "Rina", "Ani", "Yuli", "Fitri", "Lestari", "Wulan",
         "Indah", "Ratna", "Maya", "Nurul", "Ayu", "Rahma", "Dian", "Putri", "Mega",
         "Aminah"]  # fmt: skip
FAMILY = ["Santoso", "Wijaya", "Saputra", "Hidayat", "Kurniawan", "Susanto", "Pratama",
          "Setiawan", "Nugroho", "Hakim", "Rahman", "Syahputra", "Gunawan", "Lubis", "Harahap",
          "Siregar", "Pangaribuan", "Sembiring", "Tarigan", "Nasution", "Daeng", "Baso",
          "Lamba", "Pasande", "Ruslan", "Efendi", "Maulana", "Firmansyah", "Ramadhan",
          "Hasibuan"]  # fmt: skip


def spelling_variant(name: str, rng: random.Random) -> str:
    """A different spelling of the same name: old and new spelling (oe/u, dj/j, tj/c),
    a doubled or dropped letter, y for i at a word's end, a dropped h."""
    variants = []
    for old, new in (("u", "oe"), ("j", "dj"), ("c", "tj"), ("y", "i"), ("i", "y"),
                     ("h", ""), ("mm", "m"), ("a", "aa"), ("f", "p"), ("s", "ss")):  # fmt: skip
        # Spelling drifts inside a name, not at its first letter.
        index = name.find(old, 1)
        if index > 0:
            variants.append(name[:index] + new + name[index + len(old) :])
    letters = [i for i, c in enumerate(name) if i and c.isalpha() and c not in "aeiou"]
    if letters:
        i = rng.choice(letters)
        variants.append(name[: i + 1] + name[i] + name[i + 1 :])
    return rng.choice([v for v in variants if v != name])


def synthetic_village(rng: random.Random, households: int = 2000):
    rows = [
        Household(
            no_kk=f"640901{n:010d}",
            region_id=V,
            tanggal_survei=dt.date(2025, 10, 15),
            sumber_data="sintetis",
        )
        for n in range(households)
    ]
    Household.objects.bulk_create(rows)
    members, serial = [], 0
    for household in rows:
        family_name = rng.choice(FAMILY)
        for position in range(rng.choice([1, 2, 3, 4, 4, 5, 6])):
            sex = rng.choice([1, 2])
            first = rng.choice(MEN if sex == 1 else WOMEN)
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(70 * 365))
            serial += 1
            members.append(
                Member(
                    household=household,
                    nik=nik_for(V, born, sex, serial),
                    nama=f"{first} {family_name}"
                    if position < 2
                    else f"{first} {rng.choice(FAMILY)}",
                    jenis_kelamin=sex,
                    tanggal_lahir=born,
                    hubungan_keluarga=1 if position == 0 else 4,
                )
            )
    Member.objects.bulk_create(members)
    return rows, members, serial


def test_planted_duplicates_are_found_with_few_false_flags():
    rng = random.Random(16)
    households, members, serial = synthetic_village(rng)
    pairs: list[tuple[Member, Member]] = []
    for original in rng.sample([m for m in members if m.hubungan_keluarga != 1], 150):
        target = rng.choice([h for h in households if h.pk != original.household_id])
        serial += 1
        copy = Member(
            household=target,
            nik=nik_for(V, original.tanggal_lahir, original.jenis_kelamin, serial),
            nama=spelling_variant(original.nama, rng),
            jenis_kelamin=original.jenis_kelamin,
            tanggal_lahir=original.tanggal_lahir,
            hubungan_keluarga=9,
        )
        assert copy.nama != original.nama
        pairs.append((original, copy))
    Member.objects.bulk_create([copy for _original, copy in pairs])
    assert Household.objects.filter(region_id=V).count() == 2000

    flags_refresh(villages=[V])
    flagged = set(Flag.objects.filter(rule_id="duplikat_orang").values_list("member_id", flat=True))
    planted = {m.pk for pair in pairs for m in pair}
    found = sum(1 for original, copy in pairs if copy.pk in flagged and original.pk in flagged)
    false_flags = flagged - planted
    recall = found / len(pairs)
    false_share = len(false_flags) / len(flagged)
    print(f"recall {recall:.1%}, false flags {false_share:.1%} of {len(flagged)}")
    assert recall >= 0.95, f"recall {recall:.1%}"
    assert false_share < 0.05, f"false flags {false_share:.1%} ({len(false_flags)})"
