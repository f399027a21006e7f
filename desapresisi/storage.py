"""Static files storage of production: WhiteNoise's compressed, hashed files."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Also rewrites the relative `import ... from "./x.js"` of the ES modules in
    static/js to the hashed names, so that a module and what it imports always come
    from the same release (the hashed files are cached for a year)."""

    support_js_module_import_aggregation = True
