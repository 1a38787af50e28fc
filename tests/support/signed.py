"""One AK/SK-signed request to a running simulator, as the source would send it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import requests
from dcs_restores.auth import sign_headers
from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DcsSimulator


def call(
    sim: DcsSimulator,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    keys: tuple[str, str] = (DEMO_ACCESS_KEY, DEMO_SECRET_KEY),
    headers: dict[str, str] | None = None,
    signed_at: datetime | None = None,
    method: str = "GET",
    timeout: float = 10,
) -> requests.Response:
    """Send one AK/SK-signed request; a relative `path` is under /v2/{project_id}/."""
    if not path.startswith("/"):
        path = f"/v2/{sim.world.project_id}/{path}"
    url = sim.base_url + path + (f"?{urlencode(params)}" if params else "")
    base = {"Content-Type": "application/json", "X-Project-Id": sim.world.project_id}
    signed = sign_headers(method, url, base | (headers or {}), b"", *keys, now=signed_at)
    return requests.request(method, url, headers=signed, timeout=timeout)
