"""Constants of the DCS restores source: API paths, limits, statuses and defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SOURCE_NAME = "dcs_restores"
SECTION = "dcs_restores"
# environment variables of `[sources.dcs_restores]`, as dlt's configuration names them
ENV_PREFIX = "SOURCES__DCS_RESTORES__"


def env_var(key: str) -> str:
    """The environment variable of config key `key` (`credentials.access_key` and the like)."""
    return ENV_PREFIX + key.upper().replace(".", "__")


HUAWEI_ENDPOINT = "https://dcs.{region}.myhuaweicloud.com"
# Open Telekom Cloud regions whose DCS endpoint is known (dcs_api.md, section 5); other
# regions are Huawei Cloud's
OTC_ENDPOINT = "https://dcs.{region}.otc.t-systems.com"
OTC_REGIONS = frozenset({"eu-de", "eu-nl"})
# OTC regions without a verified DCS host: the user names the endpoint
OTC_UNKNOWN_REGIONS = frozenset({"eu-ch2"})
INSTANCES_PATH = "/v2/{project_id}/instances"
RESTORES_PATH = "/v2/{project_id}/instances/{instance_id}/restores"

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 1000
DEFAULT_LOOKBACK_HOURS = 24.0
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64

DEFAULT_TIMEOUT_S = (10.0, 60.0)
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_MAX_RETRY_DELAY_S = 30.0
DEFAULT_RETRY_BACKOFF_S = 0.5
# a body over this many MiB (received, or once inflated) fails its request at once
DEFAULT_MAX_BODY_MB = 64
DEFAULT_REQUEST_TIMEOUT_S = 60.0
DEFAULT_BACKUPS = True
# every key of [sources.dcs_restores] but credentials and targets, with its default: what the
# environment alone configures when the run starts reading before dlt is imported (early.py);
# configuration.DcsRestoresConfiguration declares the same defaults for dlt
CONFIG_DEFAULTS: dict[str, object] = {
    "endpoint": None,
    "region": None,
    "project_id": None,
    "instance_ids": None,
    "start_date": None,
    "lookback_hours": DEFAULT_LOOKBACK_HOURS,
    "page_size": DEFAULT_PAGE_SIZE,
    "concurrency": DEFAULT_CONCURRENCY,
    "max_attempts": DEFAULT_MAX_ATTEMPTS,
    "max_retry_delay": DEFAULT_MAX_RETRY_DELAY_S,
    "request_timeout": DEFAULT_REQUEST_TIMEOUT_S,
    "max_body_mb": DEFAULT_MAX_BODY_MB,
    "backups": DEFAULT_BACKUPS,
}
MAX_BODY_MB = 1024
READ_CHUNK_BYTES = 64 * 1024
# how often the watchdog looks for attempts past their deadline or of a stopped run
WATCHDOG_POLL_S = 0.1
# a host name that does not resolve is tried twice, not max_attempts times
DNS_MAX_ATTEMPTS = 2

# the statuses the API documents; the SQL models (stg_restores.sql) name the same ones
OPEN_STATUSES = frozenset({"waiting", "restoring"})
TERMINAL_STATUSES = frozenset({"succeed", "failed"})
KNOWN_STATUSES = OPEN_STATUSES | TERMINAL_STATUSES

# the API's answer for an instance deleted between listing and reading: skipped, not failed
INSTANCE_DELETED_CODE = "DCS.3022"

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

# pages of one read: a server that never sends a short page stops here (10 million restores
# at the largest page size); `total_num`, when it is a grand total, bounds a read far sooner
MAX_PAGES = 10_000
# a read whose rows move under it (deleted while paging) starts over at most this often
MAX_READ_RESTARTS = 2
# ids the API hands us go into URLs: anything else is set aside, never sent
INSTANCE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"


def page_overlap(page_size: int) -> int:
    """Rows each page repeats of the one before: enough to see rows move, ~1 % extra reads
    (none below 10 rows a page, where one row would be a tenth of every request)."""
    return 0 if page_size < 10 else max(1, page_size // 100)


# cursor trust: created_at beyond the real clock plus this skew never moves a cursor further
MAX_CLOCK_SKEW = timedelta(hours=1)
# no restore predates DCS (Go's zero time 0001-01-01, the Unix epoch: placeholders, not times)
EARLIEST_CREATED_AT = datetime(2000, 1, 1, tzinfo=UTC)
# every begin_time is sent this much earlier: a server reading it in its own zone (UTC-12 at
# the most) still returns the rows from the intended instant on
BEGIN_TIME_MARGIN = timedelta(hours=14)
# --- what a record may hold (records.py): everything the server sends is bounded ---------
# (a created_at before EARLIEST_CREATED_AT rejects the record)
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
