"""Advice for an answer that retrying cannot fix: which credential, permission
or setting to check. Kept apart from the HTTP client so the wording is easy to review."""

from __future__ import annotations

from .settings import env_var

_TOKEN = env_var("credentials.auth_token")
_AKSK = (
    f"access_key and secret_key ({env_var('credentials.access_key')}, "
    f"{env_var('credentials.secret_key')}; with temporary keys "
    f"also security_token, {env_var('credentials.security_token')})"
)
# what to check for each authentication code, by credential mode ("aksk", "token") or "any"
_AUTH_ADVICE: dict[str, dict[str, str]] = {
    "APIGW.0301": {
        "aksk": f"check {_AKSK} and the machine's clock; repeated failures lock the AK "
        "for 5 minutes",
        "token": f"the IAM token was rejected: set a valid auth_token ({_TOKEN})",
    },
    "APIGW.0307": {
        "aksk": f"the temporary keys expired: set new {_AKSK}",
        "token": f"the IAM token expired: set a new auth_token ({_TOKEN})",
    },
    "DCS.1001": {"any": f"the token is invalid: set a new auth_token ({_TOKEN})"},
    "DCS.1002": {"any": f"the token expired: set a new auth_token ({_TOKEN})"},
    "DCS.1003": {"any": f"no credential was accepted: check {_AKSK}, or auth_token ({_TOKEN})"},
    "DCS.1004": {
        "any": "the credentials do not belong to this project: check project_id "
        f"({env_var('project_id')}) and the credentials"
    },
}
_AUTH_ADVICE_DEFAULT = {
    "aksk": f"check {_AKSK}",
    "token": f"check auth_token ({_TOKEN})",
}
_FORBIDDEN_ADVICE = (
    "the credentials lack permission: grant the IAM user read access to DCS in this project "
    f"(e.g. the DCS ReadOnlyAccess policy) and check {env_var('project_id')}"
)
NO_ROUTE_ADVICE = (
    f"check {env_var('endpoint')} (or REGION): it must be the DCS endpoint of the project's region"
)


def auth_advice(code: str | None, status: int, mode: str) -> str:
    """Return what the user should check for a 401/403 answer with `code`."""
    if status == 403:
        return _FORBIDDEN_ADVICE
    hints = _AUTH_ADVICE.get(code or "", _AUTH_ADVICE_DEFAULT)
    return hints.get("any") or hints.get(mode) or _AUTH_ADVICE_DEFAULT[mode]
