"""The SKPD, their members and programmes in the Django admin (administrators only).
Interventions name households: they are worked through the pages and the API, which pass
through the area scope, not here."""

from django.contrib import admin

from .models import Programme, Skpd, SkpdMember


class SkpdMemberInline(admin.TabularInline):
    model = SkpdMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Skpd)
class SkpdAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [SkpdMemberInline]


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "skpd", "year", "indicator", "target_count", "synthetic"]
    list_filter = ["year", "skpd", "indicator"]
    search_fields = ["code", "name"]
    readonly_fields = ["synthetic"]
