from django.core.management.base import BaseCommand, CommandError

from refloop.demo.logins import demo_totp_code


class Command(BaseCommand):
    help = "Print the current two-factor code of a demo user (for a demo without an authenticator)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        code = demo_totp_code(username)
        if code is None:
            raise CommandError(f"'{username}' has no confirmed authenticator; no code needed.")
        self.stdout.write(code)
