"""Injected misbehaviour: seeded fault rules and the gateway's request-rate limit."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dcs_simulator.api import Reply, dcs_error, gateway_error

FAULT_KINDS = (
    "429", "500", "502", "503", "504", "reset", "truncate", "html200", "garbage200",
    "timeout", "401", "403", "404", "bad_record", "odd_record", "shape200", "new_field",
)  # fmt: skip
THROTTLED = "The throttling threshold has been reached"
# kinds answered from the normal response rather than instead of it
PASS_THROUGH = frozenset({"timeout", "bad_record", "odd_record", "truncate", "new_field"})
# fields a later API version might add; "new_field" puts them on the first half of a page
NEW_FIELDS: dict[str, Any] = {"restore_type": "full", "data_size_mb": 512}
# what "odd_record" does to the first records of a page, in order
ODD_RECORDS = (
    ("progress", {"percent": 50}),  # wrong type: cannot be loaded
    ("status", "Paused"),  # a status the source does not know: loaded as it is
    ("restore_name", ["restore", "two"]),  # wrong type: cannot be loaded
    ("created_at", 1767225600000),  # epoch millis instead of a timestamp string
    ("created_at", "9999-12-31T23:59:59Z"),  # would make the instance's cursor useless
)


@dataclass(frozen=True)
class FaultRule:
    """One kind of fault for requests matching `match`.

    `match` is a request kind ("restores", "backups", "instances", "instance"), "any", an
    instance id (its requests but its backups), or "<kind>:<instance id>".
    The rule fires on the first `times` matching requests (all when None), each with seeded
    `probability`, after sleeping `delay_s`. `code` replaces the error code of a 401/403/404
    answer (e.g. "APIGW.0307", "DCS.1002"); "404" means the instance was deleted (DCS.3022).
    """

    kind: str
    match: str = "restores"
    times: int | None = None
    probability: float = 1.0
    retry_after: float | None = None
    delay_s: float = 0.0
    code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")

    def matches(self, kind: str, instance_id: str | None) -> bool:
        """Return whether a request of `kind` (about `instance_id`) is subject to this rule.

        A bare instance id takes that instance's requests except its backups (rules written
        before the backups route keep hitting the same requests); "<kind>:<instance id>" takes
        only that kind of request of that instance.
        """
        if self.match in ("any", kind):
            return True
        if instance_id is None:
            return False
        return self.match == f"{kind}:{instance_id}" or (
            self.match == instance_id and kind != "backups"
        )


class FaultPlan:
    """Rules tried in order; the first that fires decides the fault of a request."""

    def __init__(self, rules: Iterable[FaultRule], seed: int = 0) -> None:
        self.rules = list(rules)
        self.fired: Counter[str] = Counter()
        self._seen = [0] * len(self.rules)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def pick(self, kind: str, instance_id: str | None) -> FaultRule | None:
        """Return the rule that fires for this request, or None."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(kind, instance_id):
                    continue
                self._seen[index] += 1
                if rule.times is not None and self._seen[index] > rule.times:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                self.fired[rule.kind] += 1
                return rule
        return None


def fault_reply(rule: FaultRule, request_id: str) -> Reply:
    """Return the answer that replaces the normal one (kinds not in PASS_THROUGH)."""
    kind = rule.kind
    if kind == "429":
        reply = gateway_error(429, "APIGW.0308", THROTTLED, request_id)
        if rule.retry_after is not None:
            reply.headers["Retry-After"] = f"{rule.retry_after:g}"
        return reply
    if kind == "500":
        return dcs_error(500, "DCS.5000", "Internal service error.")
    if kind in ("502", "503", "504"):
        message = "Backend timeout" if kind == "504" else "Backend unavailable"
        return gateway_error(int(kind), "APIGW.0201", message, request_id)
    if kind in ("401", "403", "404") and rule.code and rule.code.startswith("DCS."):
        # DCS itself (not the gateway) answers with its own error shape
        return dcs_error(int(kind), rule.code, f"Simulated {rule.code} error.")
    if kind == "401":
        return gateway_error(
            401, rule.code or "APIGW.0301", "Incorrect IAM authentication information", request_id
        )
    if kind == "403":
        return gateway_error(
            403,
            rule.code or "APIGW.0302",
            "The IAM or app policy does not allow your access",
            request_id,
        )
    if kind == "404":
        if rule.code and not rule.code.startswith("DCS."):
            return gateway_error(404, rule.code, "Incorrect route or method", request_id)
        return dcs_error(404, "DCS.3022", "The instance does not exist.")
    if kind == "html200":
        html = b"<html><body><h1>Service maintenance</h1></body></html>"
        return Reply(200, raw=html, content_type="text/html;charset=UTF-8")
    if kind == "garbage200":
        if rule.match.startswith("backups"):
            return Reply(200, raw=b'{"backup_record_response": [{"backup_id": "')
        return Reply(200, raw=b'{"restore_record_response": [{"restore_id": "')
    if kind == "shape200":
        # valid JSON, but the list (of restores or of instances) is not a list
        return Reply(
            200,
            {
                "restore_record_response": {"restore_id": "x"},
                "backup_record_response": {"backup_id": "x"},
                "instances": {"instance_id": "x"},
                "total_num": 1,
            },
        )
    if kind == "reset":
        return Reply(0, mode="reset")
    raise ValueError(f"fault {kind!r} damages the normal answer; use spoil()")


def spoil(rule: FaultRule, reply: Reply) -> Reply:
    """Return the normal `reply` damaged as a PASS_THROUGH rule says."""
    if rule.kind == "truncate":
        reply.mode = "truncate"
    payload = reply.payload if isinstance(reply.payload, dict) else {}
    backups = "backup_record_response" in payload
    records: Any = payload.get("backup_record_response" if backups else "restore_record_response")
    if rule.kind == "bad_record" and records:
        del records[0]["backup_id" if backups else "restore_id"]
        records[-1]["created_at"] = "not-a-date"
    if rule.kind == "new_field" and records:
        for record in records[: (len(records) + 1) // 2]:
            record.update(NEW_FIELDS)
    if rule.kind == "odd_record" and records:
        for record, (name, value) in zip(records, ODD_RECORDS, strict=False):
            record["backup_name" if backups and name == "restore_name" else name] = value
    return reply


class TokenBucket:
    """Admits `rate` requests per second on average, in bursts of up to max(1, rate)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Return True and use a token if one is left."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def reply(self, request_id: str) -> Reply:
        """Return the gateway's answer to a request over the limit."""
        limit = f"{self.rate:g}"
        message = f"policy user over ratelimit,limit:{limit},time:1 second"
        return gateway_error(429, "APIGW.0308", message, request_id)
