from django.contrib import admin

from .models import Acceptance, Rule, SignOff, SignOffEvent


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name_id", "scope", "severity", "active", "sort_order")
    list_filter = ("scope", "severity", "active")
    list_editable = ("active",)


@admin.register(Acceptance)
class AcceptanceAdmin(admin.ModelAdmin):
    list_display = ("rule", "record_key", "region", "accepted_by", "accepted_at")
    list_filter = ("rule",)
    readonly_fields = ("rule", "record_key", "region", "note", "accepted_by", "accepted_at")

    def has_add_permission(self, request):
        return False


class SignOffEventInline(admin.TabularInline):
    model = SignOffEvent
    extra = 0
    readonly_fields = ("action", "from_status", "to_status", "actor", "note", "at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SignOff)
class SignOffAdmin(admin.ModelAdmin):
    # Steps are taken on the quality page or the API (the state machine and its audit);
    # the admin only reads.
    list_display = ("region", "survey_round", "status", "approved_by", "approved_at")
    list_filter = ("status", "survey_round")
    inlines = [SignOffEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
