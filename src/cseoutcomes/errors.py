"""Errors and warnings raised for a user's mistakes.

Every error a user can cause is a :class:`CseOutcomesError`. Its ``str()`` is one
readable line saying what was wrong, where, and how to fix it; the command line
prints exactly that line (and a traceback only with ``--debug``). Messages never
carry values from identifier or free-text columns.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "CseOutcomesError",
    "CseOutcomesWarning",
    "DataError",
    "DefinitionError",
    "ModelError",
    "ModelWarning",
    "PluginWarning",
    "ScoringWarning",
    "UnknownInstrumentError",
]


class CseOutcomesError(Exception):
    """Base class for errors caused by input the user can fix.

    Parameters
    ----------
    message
        What was wrong.
    where
        Where: a file, a field path such as ``scores.total.bands[2]``, or a
        row and column.
    hint
        How to fix it.
    """

    #: exit status the command line uses for this kind of error
    exit_code: int = 1

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class DefinitionError(CseOutcomesError):
    """An instrument definition is invalid.

    ``problems`` holds every problem found (each already one line), so a
    command such as ``cseoutcomes instruments check`` can list them all; the
    exception's own message is the first problem plus a count of the rest.
    """

    exit_code = 1

    def __init__(self, problems: list[str], *, source: str | None = None):
        if not problems:
            raise ValueError("DefinitionError needs at least one problem")
        self.problems = list(problems)
        self.source = source
        first = problems[0]
        more = len(problems) - 1
        message = first if more == 0 else f"{first} (and {more} more problem{'s' * (more > 1)})"
        super().__init__(message)

    def one_line(self) -> str:  # problems already carry file and field path
        return self.message


class UnknownInstrumentError(CseOutcomesError, KeyError):
    """No instrument with the requested id (and version) is registered."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.one_line()


class DataError(CseOutcomesError):
    """An assessment table cannot be used as given (unreadable, wrong columns, bad values)."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        problems: list[str] | None = None,
        exit_code: int = 1,
    ):
        self.problems = list(problems or [])
        self.exit_code = exit_code
        super().__init__(message, where=where, hint=hint)


class ModelError(CseOutcomesError):
    """A change model cannot be specified or fitted as asked (unknown outcome, wrong family, backend that cannot fit it)."""

    exit_code = 2


class CseOutcomesWarning(UserWarning):
    """Base class for warnings the library raises."""


class PluginWarning(CseOutcomesWarning):
    """A plugin or instrument source could not be loaded, or an id is defined twice."""


class ScoringWarning(CseOutcomesWarning):
    """Scoring went ahead but something the user should know about happened."""


class ModelWarning(CseOutcomesWarning):
    """A model was fitted, but rows were left out of it or an option was adjusted; the message says which and why."""


class ConvergenceWarning(CseOutcomesWarning):
    """A fitted model failed a convergence check (R-hat, effective sample size, divergences, tree depth, optimiser)."""
