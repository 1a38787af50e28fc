"""API-shaped DCS instance dicts for the simulated world (list and show responses)."""

from __future__ import annotations

import copy
import random
from typing import Any

from dcs_simulator.records import format_ts, random_uuid

_REDIS_SPECS = (
    ("redis.ha.xu1.large.r2.1", 1, "5.0"),
    ("redis.ha.xu1.large.r2.2", 2, "6.0"),
    ("redis.cluster.xu1.large.r2.4", 4, "6.0"),
    ("redis.single.xu1.tiny.128", 0, "5.0"),
)
_MEMCACHED_SPECS = (("dcs.memcached.master_standby", 2, ""),)
_SHOW_ONLY = {
    "cache_mode": "ha",
    "product_type": "generic",
    "storage_type": "DRAM",
    "replica_count": 2,
    "sharding_count": 0,
}


def instance_info(
    rng: random.Random, instance_id: str, name: str, engine: str, created_ms: int
) -> dict[str, Any]:
    """Return the static fields of one instance as GET /v2/{project_id}/instances lists them."""
    spec_code, capacity, version = rng.choice(
        _REDIS_SPECS if engine == "Redis" else _MEMCACHED_SPECS
    )
    max_memory = capacity * 1024 if capacity else 128
    ip = f"192.168.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    vpc_id, subnet_id, group_id = random_uuid(rng), random_uuid(rng), random_uuid(rng)
    return {
        "instance_id": instance_id,
        "name": name,
        "engine": engine,
        "engine_version": version,
        "status": "RUNNING",
        "sub_status": "normal",
        "spec_code": spec_code,
        "capacity": capacity,
        "capacity_minor": "" if capacity else ".125",
        "created_at": format_ts(created_ms),
        "updated_at": format_ts(created_ms + rng.randint(60, 86400) * 1000),
        "ip": ip,
        "port": 6379 if engine == "Redis" else 11211,
        "domain_name": f"redis-{instance_id[:8]}.dcs.example.internal",
        "readonly_domain_name": "",
        "vpc_id": vpc_id,
        "vpc_name": "vpc-sim",
        "subnet_id": subnet_id,
        "security_group_id": group_id,
        "enterprise_project_id": "0",
        "description": "",
        "cpu_type": "x86_64",
        "maintain_begin": "18:00:00",
        "maintain_end": "22:00:00",
        "max_memory": max_memory,
        "used_memory": rng.randint(1, max_memory),
        "charging_mode": 0,
        "no_password_access": rng.choice(("true", "false")),
        "tags": [],
        "az_codes": ["eu-de-01", "eu-de-02"],
        "features": {},
        "enable_ssl": False,
    }


def show_info(info: dict[str, Any]) -> dict[str, Any]:
    """Return the show-instance form: the list fields and a few more."""
    shown = copy.deepcopy(info)
    shown.update(_SHOW_ONLY)
    shown["launched_at"] = info["created_at"]
    shown["available_zones"] = list(info["az_codes"])
    return shown
