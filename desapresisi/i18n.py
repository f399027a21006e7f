"""Messages that are stored first and shown later, in the language of whoever reads them.

Text shown in the request that produced it goes through gettext at once (Indonesian
msgid, English in locale/en). Text that is stored (an import job's row errors and outcome,
an export job's failure) may be read later by someone who reads another language, or
through the API with another Accept-Language, so it is stored as its msgid, marked with
`gettext_noop` where it is written so that makemessages finds it, together with its named
parameters, and translated only when shown:

    Message(gettext_noop("Berkas %(sheet)s kosong."), sheet="anggota")

Parameters are values (codes, numbers, names), never words to translate.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


def shown(msgid: str, params: dict[str, Any] | None = None) -> str:
    """`msgid` in the active language with its parameters filled in. Text stored before
    messages were kept as msgids is not in the catalogue and comes back as it was."""
    text = gettext(msgid) if msgid else ""
    return text % params if params else text


class Message:
    """A translatable message with its named parameters, translated when it is shown."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return shown(self.msgid, self.params)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.msgid, self.params) == (other.msgid, other.params)

    def __hash__(self) -> int:
        return hash(self.msgid)


class MessageError(Exception):
    """An error whose message is stored and shown later (`Message`); `str()` gives it in
    the active language."""

    def __init__(self, msgid: str, /, **params: Any) -> None:
        super().__init__(msgid)
        self.message = Message(msgid, **params)

    def __str__(self) -> str:
        return str(self.message)
