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
# a body over this many MiB (received, or once inflated) fails its request at once
DEFAULT_MAX_BODY_MB = 64
MAX_BODY_MB = 1024
READ_CHUNK_BYTES = 64 * 1024
# how often the watchdog looks for attempts past their deadline or of a stopped run
WATCHDOG_POLL_S = 0.1
# a host name that does not resolve is tried twice, not max_attempts times
DNS_MAX_ATTEMPTS = 2

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
