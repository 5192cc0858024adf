"""The `renalmassai` command line: a thin front end over the engine.

Errors in user input end with status 2 and one line on stderr naming the input and the problem
(`--debug` shows the traceback).
"""

import argparse
import re
import sys

from RenalMassAILib import __version__
from RenalMassAILib.cli import case_commands, cohort_commands, model_commands, tool_commands, web_commands
from RenalMassAILib.errors import InputError
from RenalMassAILib.workers.worker_error import WorkerError

EXIT_INPUT_ERROR = 2
EXIT_WORKER_ERROR = 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_INPUT_ERROR
    try:
        return args.run(args) or 0
    except InputError as error:
        if args.debug:
            raise
        print(f"renalmassai: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except WorkerError as error:  # one line naming the worker's log, which holds its traceback
        if args.debug:
            raise
        print(f"renalmassai: error: {error}", file=sys.stderr)
        return EXIT_WORKER_ERROR
    except KeyboardInterrupt:
        print("renalmassai: interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse reads a value such as `-1.2e-05` as an option, because its test for negative
    numbers (a private pattern, `-3` and `-.5` only) knows no exponent. This parser's pattern takes
    every float notation; the command line has no option that looks like a number, so nothing is lost.
    Subcommand parsers are made of the same class (argparse uses type(parent))."""

    _NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = self._NEGATIVE_NUMBER


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one builder per subcommand, in the order `--help` lists them."""
    parser = _Parser(prog="renalmassai", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"renalmassai {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(metavar="COMMAND")
    case_commands.add_prepare(commands)
    case_commands.add_segment(commands)
    analyze = case_commands.add_analyze(commands)
    model_commands.add_models(commands)
    for add in (
        cohort_commands.add_train,
        cohort_commands.add_batch,
        cohort_commands.add_evaluate,
        cohort_commands.add_baseline,
        cohort_commands.add_labels,
    ):
        add(commands)
    case_commands.add_demo(commands, analyze)
    tool_commands.add_phantom(commands)
    tool_commands.add_bench(commands)
    web_commands.add_serve(commands)
    return parser
