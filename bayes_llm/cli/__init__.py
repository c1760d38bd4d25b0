"""The ``bayes-llm`` command line.

Commands are listed by name in :data:`COMMANDS` with their one-line help, and a command's
module is imported only when that command runs (or its own ``--help`` is asked for). So
``bayes-llm --help``, ``-h``, ``--version`` and ``specs`` start without importing PyMC,
ArviZ or pandas. A command module defines ``register(app)``, which adds its command(s) to a
:class:`typer.Typer`; to add a command, add one line to :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

#: Command name -> (module defining ``register(app)``, one-line help for ``--help``).
#: The order is the order of ``bayes-llm --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("bayes_llm.cli.data_cmd", "Fetch, verify and summarise the data sources."),
    "baseline": ("bayes_llm.cli.baseline_cmd",
                 "The paper's frequentist baseline (OLS with clustered SEs, Shapley R2)."),
    "specs": ("bayes_llm.cli.specs_cmd", "List the bundled model specs."),
    "fit": ("bayes_llm.cli.fit_cmd", "Fit a model spec by MCMC and save the result folder."),
    "joint": ("bayes_llm.cli.joint_cmd",
              "Joint model of the six leaderboard benchmarks: is the secret sauce general?"),
    "headline": ("bayes_llm.cli.headline_cmd",
                 "Headline figures of a saved fit with posterior bands (and exports)."),
    "predict": ("bayes_llm.cli.predict_cmd",
                "Predict the accuracy of new models from a saved fit (CSV, draws, plot)."),
    "compute-needed": ("bayes_llm.cli.predict_cmd",
                       "Compute a developer needs to reach an accuracy in a period."),
    "report": ("bayes_llm.cli.report_cmd",
               "Self-contained HTML and Markdown report of a saved fit."),
    "validate": ("bayes_llm.cli.validate_cmd",
                 "Out-of-sample scores of specs on a split, next to the paper's OLS."),
    "compare": ("bayes_llm.cli.compare_cmd",
                "Specs side by side (held-out scores on one scale, headline, diagnostics)."),
    "sensitivity": ("bayes_llm.cli.sensitivity_cmd", "Run a sensitivity study end to end."),
    "run": ("bayes_llm.cli.run_cmd",
            "The main job: data -> baseline -> default fit -> headline -> report."),
}

HELP = ("Bayesian hierarchical analysis of LLM performance: compute, algorithmic progress, "
        "developer 'secret sauce' and model-specific efficiency.")
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _available(name: str) -> bool:
    """Whether the module of command ``name`` exists (checked without importing it)."""
    try:
        return importlib.util.find_spec(COMMANDS[name][0]) is not None
    except ModuleNotFoundError:
        return False


def load_command(name: str) -> click.Command:
    """Import the module of command ``name`` and return its click command."""
    import typer
    import typer.main

    module = importlib.import_module(COMMANDS[name][0])
    sub = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    module.register(sub)
    group = typer.main.get_group(sub)
    command = group.commands.get(name)
    if command is None:  # pragma: no cover - a registration bug
        raise RuntimeError(f"{COMMANDS[name][0]}.register() did not add the '{name}' command")
    return command


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the registered commands whose modules exist, in registry order."""
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return the command ``cmd_name`` (``None`` when unknown)."""
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        return load_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from the registry's help lines, importing none of them."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayes_llm")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0+unknown"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"bayes-llm {_version()} (Python {sys.version.split()[0]})")
    ctx.exit(0)


@click.group(name="bayes-llm", cls=LazyGroup, help=HELP, context_settings=CONTEXT_SETTINGS,
             no_args_is_help=True)
@click.option("--version", "-V", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version, help="Print the version and exit.")
def app() -> None:
    """Entry group of ``bayes-llm`` (see :data:`HELP`)."""


def _is_usage_error(exc: BaseException) -> bool:
    # Usage errors from click (typer may vendor its own copy, so match by shape).
    return type(exc).__name__.endswith(("UsageError", "BadParameter", "NoSuchOption",
                                        "MissingParameter", "ClickException")) and hasattr(
        exc, "show")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit code 2.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 a completed run with problems (failed diagnostics,
        part of a report missing), 2 a user error, 130 aborted.
    """
    from bayes_llm.compiledir import compile_dir_problem
    from bayes_llm.errors import BayesLLMError

    if compile_dir_problem():
        print(f"error: {compile_dir_problem()}", file=sys.stderr)
        return 2
    try:
        result = app.main(args=argv, prog_name="bayes-llm", standalone_mode=False)
    except BayesLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except click.exceptions.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except Exception as exc:
        if _is_usage_error(exc):
            exc.show()
            return int(getattr(exc, "exit_code", 2))
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):  # a vendored click
            return int(exc.exit_code)
        raise
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
