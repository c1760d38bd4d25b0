"""The ``bayes-llm`` command line. Each sub-module registers one command group."""

from __future__ import annotations

import sys

import typer

from bayes_llm.errors import BayesLLMError

app = typer.Typer(
    name="bayes-llm",
    help="Bayesian hierarchical analysis of LLM performance: compute, algorithmic progress, "
    "developer 'secret sauce' and model-specific efficiency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from bayes_llm.cli import data_cmd

    app.add_typer(data_cmd.app, name="data")
    for module_name in ("baseline_cmd", "fit_cmd", "headline_cmd", "sensitivity_cmd",
                        "run_cmd", "report_cmd"):
        try:
            module = __import__(f"bayes_llm.cli.{module_name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"bayes_llm.cli.{module_name}":
                raise
            continue
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit code 2."""
    from bayes_llm.compiledir import compile_dir_problem

    if compile_dir_problem():
        print(f"error: {compile_dir_problem()}", file=sys.stderr)
        return 2
    try:
        result = app(args=argv, standalone_mode=False)
    except BayesLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Usage errors from click (typer may vendor its own copy, so match by shape).
        if type(exc).__name__.endswith(("UsageError", "BadParameter", "NoSuchOption",
                                         "MissingParameter", "ClickException")) and hasattr(
                exc, "show"):
            exc.show()
            return int(getattr(exc, "exit_code", 2))
        raise
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
