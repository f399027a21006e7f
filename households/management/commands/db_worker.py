from django.utils.crypto import get_random_string
from django_tasks.signals import task_finished, task_started
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from desapresisi.health import Heartbeat
from households.jobs import jobs_recover


class Command(DatabaseWorkerCommand):
    help = (
        "Run the background worker (django-tasks-db's db_worker). At start-up it first "
        "fails the import and export jobs whose process died, such as the one a killed "
        "worker left 'running', so that their owners can retry them. While it runs, a "
        "heartbeat thread tells the health endpoint that it is alive."
    )

    def handle(self, *args, **options) -> None:
        counts = jobs_recover()
        if any(counts.values()):
            self.stdout.write(f"recovered at start-up: {counts}")
        heartbeat = Heartbeat(options.get("worker_id") or get_random_string(32))
        heartbeat.beat()  # healthy from the first second, before the first task
        heartbeat.start()

        def busy(**kwargs):
            heartbeat.busy()

        def idle(**kwargs):
            heartbeat.idle()

        task_started.connect(busy, weak=False)
        task_finished.connect(idle, weak=False)
        try:
            super().handle(*args, **options)
        finally:
            task_started.disconnect(busy)
            task_finished.disconnect(idle)
            heartbeat.stop()
