"""Launch ``vllm serve``, wait until it answers, and make sure nothing of it outlives us.

The engine runs in its own session (process group); its output goes straight to ``server.log``
(never an unread pipe: a chatty server would block on a full pipe). Readiness polls ``/health``
then ``/v1/models`` while checking that the process is still alive, so an engine that dies at
start-up is reported at once with the last log lines and the exact command, not after a timeout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from modelverify.errors import ConfigError, EngineStartError
from modelverify.redact import redact_args
from modelverify.serve import procs
from modelverify.serve.engine import EngineSpec


def flag_value(args: list[str], name: str) -> str | None:
    """The value of ``--name V`` or ``--name=V`` in a pass-through argument list (last wins)."""
    value: str | None = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def has_flag(args: list[str], name: str) -> bool:
    return any(a == name or a.startswith(name + "=") for a in args)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host if host not in ("", "0.0.0.0") else "0.0.0.0", port))
        except OSError:
            return True
    return False


def log_tail(path: Path, lines: int = 30, max_bytes: int = 256_000) -> str:
    """The last ``lines`` lines of a (possibly large, still growing) log file."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


@dataclass
class ServerConfig:
    """How to launch the engine: the model, pass-through flags and supervision limits."""

    model: str
    args: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 600.0
    stop_grace_s: float = 15.0
    log_path: Path = Path("server.log")


@dataclass
class LaunchRecord:
    """What was launched, for the run directory and for ``--resume`` to find orphans."""

    command: list[str]
    pid: int
    pgid: int
    base_url: str
    started_at: float
    ready_after_s: float | None = None
    fell_back_to_module: bool = False


class Server:
    """A supervised engine process; use as a context manager so it always stops."""

    def __init__(
        self,
        engine: EngineSpec,
        config: ServerConfig,
        *,
        on_launch: Callable[[LaunchRecord], object] | None = None,
    ):
        self.engine = engine
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.record: LaunchRecord | None = None
        self._on_launch = on_launch
        self._log_file: object | None = None

    # -- launch ---------------------------------------------------------------------------

    def _command(self, force_module: bool) -> tuple[list[str], str, int]:
        args = list(self.config.args)
        host = flag_value(args, "--host") or self.config.host
        port_s = flag_value(args, "--port")
        port = int(port_s) if port_s else (self.config.port or free_port())
        if port_s is None:
            args += ["--port", str(port)]
        if flag_value(args, "--host") is None:
            args += ["--host", host]
        return (
            self.engine.serve_command(self.config.model, args, force_module=force_module),
            host,
            port,
        )

    def start(self) -> LaunchRecord:
        return self._start(force_module=False)

    def _start(self, force_module: bool) -> LaunchRecord:
        cmd, host, port = self._command(force_module)
        if port_in_use(host, port):
            raise ConfigError(
                f"port {port} on {host} is already in use: stop whatever holds it "
                f"(`ss -ltnp | grep :{port}`) or pass another --port"
            )
        env = {**os.environ, **self.config.env}
        self.config.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.config.log_path.open("ab")
        log.write(("$ " + " ".join(redact_args(cmd)) + "\n").encode())
        log.flush()
        self._log_file = log
        self.proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.record = LaunchRecord(
            command=cmd,
            pid=self.proc.pid,
            pgid=self.proc.pid,
            base_url=f"http://{connect_host}:{port}",
            started_at=time.time(),
            fell_back_to_module=force_module,
        )
        if self._on_launch:
            self._on_launch(self.record)
        return self.record

    def wait_ready(self, api_key: str | None = None) -> LaunchRecord:
        """Poll until ``/health`` and ``/v1/models`` answer; fail fast if the engine exits."""
        assert self.proc is not None and self.record is not None
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        deadline = time.monotonic() + self.config.startup_timeout_s
        t0 = time.monotonic()
        with httpx.Client(base_url=self.record.base_url, headers=headers, timeout=5.0) as http:
            while True:
                code = self.proc.poll()
                if code is not None:
                    if self._should_fall_back():
                        self.stop()
                        self._start(force_module=True)
                        return self.wait_ready(api_key)
                    raise self._start_error(f"the engine exited with code {code} during start-up")
                if time.monotonic() > deadline:
                    self.stop()
                    raise self._start_error(
                        f"the engine was not ready after {self.config.startup_timeout_s:.0f} s "
                        "(raise --startup-timeout if the model is large)"
                    )
                try:
                    if http.get("/health").status_code == 200:
                        models = http.get("/v1/models")
                        if models.status_code == 200:
                            self.record.ready_after_s = time.monotonic() - t0
                            return self.record
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)

    def _should_fall_back(self) -> bool:
        """The ``vllm`` script of a build not named ``vllm`` dies asking for its own metadata."""
        if self.record is None or self.record.fell_back_to_module:
            return False
        tail = log_tail(self.config.log_path, 60)
        return "PackageNotFoundError" in tail and "vllm" in tail

    def _start_error(self, what: str) -> EngineStartError:
        from modelverify.serve.failure import failure_of

        tail = log_tail(self.config.log_path, 40)
        cmd = self.record.command if self.record else []
        advice, diag = failure_of(self.config.log_path)
        shown = " ".join(redact_args(cmd))
        message = f"{what}: {advice} (full log: {self.config.log_path}; command: {shown})"
        return EngineStartError(
            message,
            log_tail=tail,
            command=cmd,
            diagnosis=diag.model_dump(mode="json") if diag is not None else None,
        )

    # -- stop -----------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> list[int]:
        """Stop the engine and every descendant; returns pids that survived (should be none)."""
        left: list[int] = []
        if self.proc is not None:
            # Keep SIGINT from reaching us twice while we clean up after Ctrl-C.
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                left = procs.stop_tree(self.proc.pid, self.proc.pid, self.config.stop_grace_s)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
            finally:
                signal.signal(signal.SIGINT, old)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None
        return left

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = [
    "LaunchRecord",
    "Server",
    "ServerConfig",
    "flag_value",
    "free_port",
    "has_flag",
    "log_tail",
    "port_in_use",
]
