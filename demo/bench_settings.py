"""Settings of the gunicorn the benchmark starts: the portal's own settings (from the same
environment), with the benchmark's URLconf, which adds the framework-floor view
(demo/bench_urls.py). Never used in production: the demo app is not installed there."""

from desapresisi.settings import *  # noqa: F403

ROOT_URLCONF = "demo.bench_urls"
