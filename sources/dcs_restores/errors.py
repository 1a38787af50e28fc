"""Every error the source raises, under one base class, and the one walk along their chains.

dlt wraps what a resource raises (`ResourceExtractionError.exception`, `PipelineStepFailed`,
`__cause__`, `__context__`); requests and urllib3 nest the OS error in `args` and `reason`.
`chain` follows all of these, so the command, the runner and the client look for the error
that matters the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

# a chain longer than this is a cycle the `seen` set missed, or not worth walking further
_MAX_LINKS = 32


class DcsRestoresError(Exception):
    """Base of the source's errors: `str()` is one line that says what to do."""

    def one_line(self, limit: int = 500) -> str:
        return one_line(self, limit)


class ConfigError(DcsRestoresError, ValueError):
    """Configuration that cannot work; the message says what to set and where."""


class RecordError(DcsRestoresError, ValueError):
    """A record that cannot be loaded; the message is the reason stored in quarantine."""


class Cancelled(Exception):
    """The run stopped before this request (or its instance) was done: a signal between the
    source's own threads, not an error for anyone to read (so not a DcsRestoresError)."""


class DcsApiError(DcsRestoresError):
    """A request that failed for good; `str()` is one line naming the instance and the code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        instance_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.instance_id = instance_id


class DcsAuthError(DcsApiError):
    """401 or 403: never retried, since repeated bad AK/SK tries lock the key."""


class DcsNotFound(DcsApiError):
    """404: for an instance, it was deleted between listing and reading."""


def _links(exc: BaseException) -> Iterator[BaseException | None]:
    yield getattr(exc, "exception", None)  # dlt's wrappers
    yield exc.__cause__
    yield exc.__context__
    for arg in reversed(exc.args):
        if isinstance(arg, BaseException):
            yield arg
    reason = getattr(exc, "reason", None)  # urllib3
    yield reason if isinstance(reason, BaseException) else None


def chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it wraps, outermost first (breadth-first), each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < _MAX_LINKS:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(link for link in _links(current) if link is not None)


E = TypeVar("E", bound=BaseException)


def find(exc: BaseException, kind: type[E]) -> E | None:
    """The outermost exception of type `kind` in the chain of `exc`, or None."""
    return next((each for each in chain(exc) if isinstance(each, kind)), None)


def root(exc: BaseException) -> BaseException:
    """The innermost exception `exc` wraps explicitly (dlt's `.exception`, `raise ... from`)."""
    current, seen = exc, {id(exc)}
    while len(seen) < _MAX_LINKS:
        inner = getattr(current, "exception", None) or current.__cause__
        if not isinstance(inner, BaseException) or id(inner) in seen:
            break
        seen.add(id(inner))
        current = inner
    return current


def one_line(exc: BaseException, limit: int = 500) -> str:
    """The first line of `str(exc)` (the class name if it is empty), at most `limit` long."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:limit]


class ConfigWarning(UserWarning):
    """A setting that is probably not what was meant (a misspelled key, ENDPOINT beside
    REGION): the run goes on, and the command prints the warning as one line."""
