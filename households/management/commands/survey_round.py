import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from desapresisi.errors import InvalidInput, NotReady

from ...models import RoundSource, SurveyRound
from ...rounds import round_close, round_open


class Command(BaseCommand):
    help = (
        "Open or close a survey round. `open CODE --name --source --reference-date` starts a "
        "round (every import and edit then belongs to it; its figures are recounted); `close "
        "CODE` writes every household's observation (the panel) and freezes the round's "
        "figures. `list` shows the rounds."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["open", "close", "list"])
        parser.add_argument("code", nargs="?", default="")
        parser.add_argument("--name", default="")
        parser.add_argument("--source", choices=RoundSource.values, default=RoundSource.UPDATE)
        parser.add_argument("--reference-date", type=dt.date.fromisoformat)
        parser.add_argument("--decile-source", default="")
        parser.add_argument("--decile-vintage", default="")

    def handle(self, *args, action: str, code: str, **options):
        if action == "list":
            for r in SurveyRound.objects.order_by("reference_date", "code"):
                self.stdout.write(f"{r.code}\t{r.reference_date}\t{r.status}\t{r.name}")
            return
        if not code:
            raise CommandError("a round code is needed")
        try:
            if action == "open":
                if options["reference_date"] is None:
                    raise CommandError("--reference-date YYYY-MM-DD is needed")
                survey_round = round_open(
                    code=code,
                    name=options["name"] or code,
                    source=options["source"],
                    reference_date=options["reference_date"],
                    decile_source=options["decile_source"],
                    decile_vintage=options["decile_vintage"],
                )
                self.stdout.write(self.style.SUCCESS(f"Round {survey_round.code} is open."))
            else:
                survey_round = SurveyRound.objects.filter(code=code).first()
                if survey_round is None:
                    raise CommandError(f"no round {code}")
                observed = round_close(survey_round=survey_round)
                self.stdout.write(
                    self.style.SUCCESS(f"Round {code} closed: {observed:,} households observed.")
                )
        except InvalidInput as exc:
            raise CommandError("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from exc
        except NotReady as exc:
            raise CommandError(exc.message) from exc
