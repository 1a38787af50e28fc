"""Every exit code of the `dcs-restores` command, in one place (the README's table repeats it)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the run (or command) failed; the last stderr line names the cause
EXIT_CONFIG = 2  # bad configuration or command line, reported before any request
EXIT_THRESHOLD = 3  # `check`: a threshold is crossed
EXIT_BUSY = 4  # another run of the same pipeline (or on the same database) is in progress
EXIT_DESTINATION = 5  # the database cannot be opened or written: locked, unreachable, refused
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "failed (the last line on stderr names the cause)",
    EXIT_CONFIG: "configuration or usage error, before any request",
    EXIT_THRESHOLD: "check: a threshold is crossed",
    EXIT_BUSY: "another run on the same destination is in progress",
    EXIT_DESTINATION: "the database is locked by another program or cannot be reached",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGINT)",
}
