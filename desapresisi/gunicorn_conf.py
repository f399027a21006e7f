"""gunicorn settings shared by scripts/run and the production unit (`-c` this file).

- Metrics from every web worker: with PROMETHEUS_MULTIPROC_DIR set, each worker writes its
  figures there and /metrics sums them; the directory is emptied at start-up and a dead
  worker's live figures are dropped.
- The access log shows the path without its query string (a search may hold a name or a
  NIK) and the request id that the portal's own log lines carry.
"""

import os
import shutil
from pathlib import Path

access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415 (only with metrics on)

        multiprocess.mark_process_dead(worker.pid)
