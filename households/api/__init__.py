"""The households app's REST API (mounted under /api/v1/): thin views that parse input,
check permission and call one selector or service."""
