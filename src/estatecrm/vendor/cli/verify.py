"""FOUNDATION PLACEHOLDER: `estatecrm vendor verify` (see management/commands/vendor.py)."""


def add_arguments(parser) -> None:
    parser.add_argument("rest", nargs="*")


def handle(command, options):
    raise NotImplementedError
