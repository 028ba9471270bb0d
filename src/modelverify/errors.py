"""The exceptions modelverify raises on purpose.

Every error a user can cause or meet derives from one root, so the CLI can print its message
without a traceback and exit with code 1::

    ModelVerifyError
    ├── ConfigError          bad input: a path, a flag, a file the user gave us
    ├── ParseError           a recorded text (npu-smi, nvidia-smi, vLLM log, dataset) we cannot read
    ├── EngineError          the engine could not be found, started, or died
    │   └── EngineStartError   start-up failed or timed out (carries the log tail)
    ├── EndpointError        the server answered something that is not the OpenAI API
    └── DataError            a bundled or given dataset is missing or corrupt

Messages are one line and say what to do next.
"""

from __future__ import annotations


class ModelVerifyError(Exception):
    """Root of every error modelverify raises on purpose."""


class ConfigError(ModelVerifyError):
    """Bad user input: a path, a flag, or a file the user pointed us at."""


class ParseError(ModelVerifyError):
    """A recorded text could not be read; the message names the line."""

    def __init__(self, message: str, *, line_no: int | None = None, line: str | None = None):
        if line_no is not None:
            shown = (line or "").strip()
            if len(shown) > 120:
                shown = shown[:117] + "..."
            message = f"{message} (line {line_no}: {shown!r})"
        super().__init__(message)
        self.line_no = line_no
        self.line = line


class EngineError(ModelVerifyError):
    """The engine could not be found, started, or it died."""


class EngineStartError(EngineError):
    """Start-up failed or timed out; ``log_tail`` holds the last lines of the server log and
    ``diagnosis`` the matching rule (id, advice, root cause, excerpt) when the log shows one."""

    def __init__(
        self,
        message: str,
        *,
        log_tail: str = "",
        command: list[str] | None = None,
        diagnosis: dict[str, object] | None = None,
    ):
        super().__init__(message)
        self.log_tail = log_tail
        self.command = command or []
        self.diagnosis = diagnosis


class EndpointError(ModelVerifyError):
    """The server's answer is not what the OpenAI API promises."""


class DataError(ModelVerifyError):
    """A dataset (bundled or given) is missing or corrupt."""


__all__ = [
    "ConfigError",
    "DataError",
    "EndpointError",
    "EngineError",
    "EngineStartError",
    "ModelVerifyError",
    "ParseError",
]
