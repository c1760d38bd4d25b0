"""Exception types. Every error a user can cause derives from :class:`BayesLLMError`.

The CLI prints such errors as one line and exits non-zero; anything else is a bug.
"""

from __future__ import annotations


class BayesLLMError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class DataSourceError(BayesLLMError):
    """A data source cannot be found, downloaded or verified."""


class ChecksumError(DataSourceError):
    """A file's SHA-256 does not match the manifest."""


class DataValidationError(BayesLLMError):
    """A data file breaks the canonical schema.

    Parameters
    ----------
    file : str
        The file that holds the bad value.
    message : str
        What is wrong.
    row : int, optional
        The row as a person finds it in the file: 1 is the header, 2 the first data row.
    column : str, optional
        The column name as written in the file.
    """

    def __init__(self, file: str, message: str, *, row: int | None = None,
                 column: str | None = None) -> None:
        self.file = str(file)
        self.row = row
        self.column = column
        self.problem = message
        where = [self.file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


class SpecError(BayesLLMError):
    """A model or study specification is invalid."""


class ResultsError(BayesLLMError):
    """A saved result is missing, corrupt or does not match the current spec or data."""


class OutputError(BayesLLMError, OSError):
    """An output cannot be written where asked: not ours to replace, not writable, no room.

    Also an :class:`OSError`, so code that handles I/O failures still catches it.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BackendUnavailableError(BayesLLMError):
    """An optional sampling backend is not installed."""


class SamplingProblemError(BayesLLMError):
    """MCMC diagnostics failed (R-hat, divergences, ESS) and warnings were not allowed."""


class IncomparableScalesError(BayesLLMError):
    """Scores on different observation scales (or of different observations) were compared.

    E.g. the ELPD of a binomial fit (a probability of k correct answers) against that of a
    logit-normal fit (a density of the logit score): their difference has no meaning
    without a transformation onto one scale.
    """
