"""What to tell the user for an answer that retrying cannot fix: which credential, permission
or setting to check. Kept apart from the HTTP client so the wording is easy to review."""

from __future__ import annotations

_CREDS = "SOURCES__DCS_RESTORES__CREDENTIALS__"
_AKSK = (
    f"access_key and secret_key ({_CREDS}ACCESS_KEY, {_CREDS}SECRET_KEY; with temporary keys "
    f"also security_token, {_CREDS}SECURITY_TOKEN)"
)
# what to check for each authentication code, by credential mode ("aksk", "token") or "any"
_AUTH_HINTS: dict[str, dict[str, str]] = {
    "APIGW.0301": {
        "aksk": f"check {_AKSK} and the machine's clock; repeated failures lock the AK "
        "for 5 minutes",
        "token": f"the IAM token was rejected: set a valid auth_token ({_CREDS}AUTH_TOKEN)",
    },
    "APIGW.0307": {
        "aksk": f"the temporary keys expired: set new {_AKSK}",
        "token": f"the IAM token expired: set a new auth_token ({_CREDS}AUTH_TOKEN)",
    },
    "DCS.1001": {"any": f"the token is invalid: set a new auth_token ({_CREDS}AUTH_TOKEN)"},
    "DCS.1002": {"any": f"the token expired: set a new auth_token ({_CREDS}AUTH_TOKEN)"},
    "DCS.1003": {
        "any": f"no credential was accepted: check {_AKSK}, or auth_token ({_CREDS}AUTH_TOKEN)"
    },
    "DCS.1004": {
        "any": "the credentials do not belong to this project: check project_id "
        "(SOURCES__DCS_RESTORES__PROJECT_ID) and the credentials"
    },
}
_AUTH_HINT_DEFAULT = {
    "aksk": f"check {_AKSK}",
    "token": f"check auth_token ({_CREDS}AUTH_TOKEN)",
}
_FORBIDDEN_HINT = (
    "the credentials lack permission: grant the IAM user read access to DCS in this project "
    "(e.g. the DCS ReadOnlyAccess policy) and check SOURCES__DCS_RESTORES__PROJECT_ID"
)
NO_ROUTE_HINT = (
    "check SOURCES__DCS_RESTORES__ENDPOINT (or REGION): it must be the DCS endpoint of the "
    "project's region"
)


def auth_hint(code: str | None, status: int, mode: str) -> str:
    """Return what the user should check for a 401/403 answer with `code`."""
    if status == 403:
        return _FORBIDDEN_HINT
    hints = _AUTH_HINTS.get(code or "", _AUTH_HINT_DEFAULT)
    return hints.get("any") or hints.get(mode) or _AUTH_HINT_DEFAULT[mode]
