"""One base class for the source's errors and one walk along exception chains."""

from __future__ import annotations

import pytest
from dcs_restores import client, configuration, records
from dcs_restores.errors import (
    Cancelled,
    ConfigError,
    DcsApiError,
    DcsAuthError,
    DcsNotFound,
    DcsRestoresError,
    RecordError,
    chain,
    find,
    one_line,
    root,
)
from dcs_restores_pipeline.cli import _one_line, _root_cause


class Wrapper(Exception):
    """Like dlt's ResourceExtractionError: the error it wraps is in `.exception`."""

    def __init__(self, message: str, exception: BaseException) -> None:
        super().__init__(message)
        self.exception = exception


def test_every_error_of_the_source_has_the_one_base_class() -> None:
    for kind in (ConfigError, RecordError, DcsApiError, DcsAuthError, DcsNotFound):
        assert issubclass(kind, DcsRestoresError)
    # a stop signal between threads, not an error anyone reads
    assert not issubclass(Cancelled, DcsRestoresError)
    # the old import paths give the same classes
    assert client.DcsApiError is DcsApiError and client.DcsAuthError is DcsAuthError
    assert configuration.ConfigError is ConfigError and records.RecordError is RecordError


def test_chain_follows_dlt_wrappers_causes_contexts_and_args() -> None:
    api = DcsApiError("instance x: HTTP 500", code="DCS.5000", instance_id="x")
    try:
        try:
            raise api
        except DcsApiError as exc:
            raise RuntimeError("while extracting") from exc
    except RuntimeError as inner:
        wrapped = Wrapper("Pipeline execution failed at stage extract\nmore", inner)
    assert list(chain(wrapped))[:3] == [wrapped, wrapped.exception, api]
    assert find(wrapped, DcsApiError) is api and find(wrapped, ConfigError) is None
    assert root(wrapped) is api
    # an OSError inside the args (how requests nests urllib3's reason)
    oserror = ConnectionRefusedError(111, "refused")
    assert find(OSError("outer", oserror), ConnectionRefusedError) is oserror
    # the CLI shows the source's error inside, on one line
    assert _root_cause(wrapped) is api
    assert _one_line(wrapped) == "Pipeline execution failed at stage extract"
    assert _root_cause(ValueError("plain")).args == ("plain",)


def test_chain_ends_on_cycles() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert list(chain(a)) == [a, b]
    assert root(a) is a


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ConfigError("no endpoint: set X\nsecond"), "no endpoint: set X"),
        (RuntimeError(""), "RuntimeError"),
        (RuntimeError("  \n  padded  \n"), "padded"),
    ],
)
def test_one_line(error: BaseException, line: str) -> None:
    assert one_line(error) == line
    assert one_line(RuntimeError("x" * 900), 10) == "x" * 10
