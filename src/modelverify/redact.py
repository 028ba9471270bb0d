"""Keep secrets (API keys, tokens in URLs) out of everything we write or print."""

from __future__ import annotations

import re

SECRET_FLAGS = ("--api-key", "--hf-token", "--token")
_URL_CRED = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I)
MASK = "***"
SECRET_ENV_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def redact_args(args: list[str]) -> list[str]:
    """A copy of a command line with the values of secret flags masked."""
    out: list[str] = []
    hide_next = False
    for a in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        flag = next((f for f in SECRET_FLAGS if a == f or a.startswith(f + "=")), None)
        if flag and a == flag:
            out.append(a)
            hide_next = True
        elif flag:
            out.append(f"{flag}={MASK}")
        else:
            out.append(_URL_CRED.sub(r"\g<scheme>" + MASK + "@", a))
    return out


def redact_env(env: dict[str, str]) -> dict[str, str]:
    """Environment variables with the values of secret-looking names masked."""
    return {k: MASK if any(w in k.upper() for w in SECRET_ENV_WORDS) else v for k, v in env.items()}


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with known secret values, bearer tokens and URL credentials masked."""
    for s in secrets or []:
        if s and len(s) >= 4:
            text = text.replace(s, MASK)
    text = _BEARER.sub(r"\1" + MASK, text)
    return _URL_CRED.sub(r"\g<scheme>" + MASK + "@", text)


__all__ = ["MASK", "redact_args", "redact_env", "redact_text"]
