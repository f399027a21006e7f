"""The API token endpoint, under the same login rate limit as the web login.

django-axes refuses a locked-out account inside `authenticate()`, which hides the
refusal from DRF's token serializer: it only sees "no user" and would answer 400 as if
the password were wrong. Axes's middleware cannot turn that into its 429 either, because
it flags DRF's request wrapper, not the Django request it watches. This view asks axes
itself and answers 429 in the API's one error format.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken


class LockedOut(exceptions.APIException):
    """HTTP 429: too many failed logins for this account from this address."""

    status_code = 429
    default_code = "locked_out"
    default_detail = _(
        "Terlalu banyak percobaan masuk yang gagal; akun ini dikunci sementara dari "
        "alamat Anda. Coba lagi nanti."
    )

    def __init__(self, wait: int | None = None):
        super().__init__()
        # DRF's exception handler turns `wait` into a Retry-After header.
        self.wait = wait


def _locked_out(request, data) -> bool:
    if getattr(request, "axes_locked_out", False):
        return True
    credentials = {"username": data.get("username"), "password": data.get("password")}
    return not AxesProxyHandler.is_allowed(request, credentials)


class TokenView(ObtainAuthToken):
    """POST username and password: the caller's API token (`Authorization: Token <key>`).
    A locked-out account gets 429, even with the right password."""

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: AuthTokenSerializer, 429: OpenApiResponse(description="locked_out")},
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            if _locked_out(request, request.data):
                cool_off = get_cool_off(request)
                raise LockedOut(int(cool_off.total_seconds()) if cool_off else None) from None
            raise


token_view = TokenView.as_view()
