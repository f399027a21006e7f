from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import AccessProfile, AuditEntry, ChangeRecord


class AccessProfileInline(admin.StackedInline):
    model = AccessProfile
    can_delete = False
    max_num = 1


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class PortalUserAdmin(UserAdmin):
    inlines = [AccessProfileInline]
    list_display = [*UserAdmin.list_display, "role"]

    @admin.display(description="peran")
    def role(self, user) -> str:
        profile = getattr(user, "access_profile", None)
        return profile.get_role_display() if profile else ""


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: visible to administrators, never added or changed here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "username", "address", "action", "rows", "path"]
    list_filter = ["action"]
    search_fields = ["username", "path", "detail"]
    date_hierarchy = "at"


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "table", "row_id", "household_id", "action"]
    list_filter = ["table", "action"]
    search_fields = ["actor", "=household_id", "=row_id"]
    date_hierarchy = "at"
