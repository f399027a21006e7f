from django.core.management.base import BaseCommand, CommandError

from ...save_latency import KINDS, WorkerNotRunning, save_latency_measure


class Command(BaseCommand):
    help = (
        "Time from an operator's save to the dashboard's figure showing it, with "
        "`manage.py db_worker` running beside it. CHANGES households (marks some as without "
        "a latrine): run it on a demo database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--saves", type=int, default=5)
        parser.add_argument("--timeout", type=float, default=60.0)
        parser.add_argument(
            "--kind",
            choices=KINDS,
            default="edit",
            help="edit: a household's answers (edit form); death: a life event (event form)",
        )

    def handle(self, *args, saves, timeout, kind, **options):
        try:
            result = save_latency_measure(saves=saves, timeout=timeout, kind=kind)
        except WorkerNotRunning as exc:
            raise CommandError(str(exc)) from exc
        for saved, shown in zip(result.saves, result.shown, strict=True):
            self.stdout.write(f"save {saved:.3f} s, figure updated after {shown:.2f} s")
        self.stdout.write(
            f"median {result.median:.2f} s, max {max(result.shown):.2f} s "
            f"over {len(result.shown)} saves (target: under 10 s)"
        )
