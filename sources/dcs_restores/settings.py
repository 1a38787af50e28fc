"""Constants of the DCS restores source: API paths, limits, statuses and defaults."""

from __future__ import annotations

SOURCE_NAME = "dcs_restores"
SECTION = "dcs_restores"

HUAWEI_ENDPOINT = "https://dcs.{region}.myhuaweicloud.com"
INSTANCES_PATH = "/v2/{project_id}/instances"
RESTORES_PATH = "/v2/{project_id}/instances/{instance_id}/restores"

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 1000
DEFAULT_LOOKBACK_HOURS = 24.0
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
# a runaway pager (an API that never returns a short page) stops here
MAX_PAGES = 1_000_000

DEFAULT_TIMEOUT_S = (10.0, 60.0)
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_MAX_RETRY_DELAY_S = 30.0
DEFAULT_RETRY_BACKOFF_S = 0.5

OPEN_STATUSES = frozenset({"waiting", "restoring"})
TERMINAL_STATUSES = frozenset({"succeed", "failed"})
KNOWN_STATUSES = OPEN_STATUSES | TERMINAL_STATUSES

BEGIN_TIME_FORMAT = "%Y%m%d%H%M%S"

RESTORE_TEXT_FIELDS = (
    "backup_id",
    "backup_name",
    "restore_name",
    "restore_remark",
    "backup_remark",
    "status",
    "error_code",
)

# --- what a record may hold (records.py): everything the server sends is bounded ---------
# a restore created before this is a placeholder (Go's zero time, the Unix epoch), not a restore
EARLIEST_RESTORE_TIME = "2000-01-01T00:00:00+00:00"
MAX_RESTORE_ID_CHARS = 128
# longer text values are truncated (and flagged): 64 Ki characters, at most 256 KiB as UTF-8
MAX_TEXT_CHARS = 65_536
# fields the source does not know: per record, per name, and new column names per process
MAX_UNKNOWN_FIELDS = 32
MAX_INSTANCE_FIELDS = 128  # the instance listing has ~50 fields of its own
MAX_FIELD_NAME_CHARS = 64
MAX_NEW_COLUMNS = 200  # PostgreSQL allows 1600 columns a table
# an object or array in an unknown field: deeper or larger ones are set aside whole
MAX_JSON_DEPTH = 32
MAX_JSON_VALUES = 10_000
MAX_JSON_CHARS = 1_048_576
MAX_INVALID_FIELDS_CHARS = 4096
MAX_RAW_RECORD_CHARS = 1_048_576
