from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from households.jobs import jobs_recover


class Command(DatabaseWorkerCommand):
    help = (
        "Run the background worker (django-tasks-db's db_worker). At start-up it first "
        "fails the import and export jobs whose process died, such as the one a killed "
        "worker left 'running', so that their owners can retry them."
    )

    def handle(self, *args, **options) -> None:
        counts = jobs_recover()
        if any(counts.values()):
            self.stdout.write(f"recovered at start-up: {counts}")
        super().handle(*args, **options)
