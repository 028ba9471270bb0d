"""Known start-up failures mapped to one line of advice, with the log lines that show it.

Table-driven: a rule is an id, a pattern searched in the log, and the advice (``{0}``, ``{1}`` …
are the pattern's groups, so the advice names the flag and value at fault); add one by adding a
row. The first rule (in table order) that matches wins; an unknown failure still gets its
root-cause line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelverify.results import Model
from modelverify.serve.logparse import VllmLogFacts, clean_line, parse_vllm_log, root_cause_line


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern[str]
    advice: str


RULES: tuple[Rule, ...] = (
    Rule(
        "unrecognized_argument",
        # argparse, before any engine starts: the engine never got as far as an exception
        re.compile(r"error: unrecognized arguments: (.+?)\s*$"),
        "this vLLM does not know the flag(s) {0}: check the spelling and `--help` of the "
        "installed vLLM (flags change between versions), or drop it",
    ),
    Rule(
        "invalid_argument_value",
        re.compile(r"error: argument (\S+?): invalid (\S+) value: '([^']*)'"),
        "{0} got '{2}', which is not a valid {1}: fix that flag's value",
    ),
    Rule(
        "invalid_argument_choice",
        re.compile(r"error: argument (\S+?): invalid choice: '([^']*)' \(choose from (.+?)\)"),
        "{0} got '{1}'; it accepts {2}",
    ),
    Rule(
        "max_model_len_over_model_limit",
        re.compile(
            r"User-specified max_model_len \((\d+)\) is greater than the derived max_model_len"
            r"(?: \(([^)]*)\))?"
        ),
        "--max-model-len {0} is larger than the model supports ({1}): lower it to that limit "
        "(or set VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 if you really mean to extend the context)",
    ),
    Rule(
        "kv_cache_too_small",
        re.compile(
            r"larger than the available KV cache memory|larger than the maximum number of tokens that can be stored in KV cache"
        ),
        "the KV cache cannot hold one request of --max-model-len: lower --max-model-len (the log "
        "estimates what fits) or give the cache more memory (--gpu-memory-utilization; on CPU "
        "VLLM_CPU_KVCACHE_SPACE in GiB)",
    ),
    Rule(
        "no_cache_blocks",
        re.compile(r"No available memory for the cache blocks"),
        "the weights left no memory for the KV cache: raise --gpu-memory-utilization, use more "
        "devices (--tensor-parallel-size) or a quantized model",
    ),
    Rule(
        "cpu_kvcache_space_invalid",
        re.compile(r"VLLM_CPU_KVCACHE_SPACE|invalid literal for int\(\) with base 10: '[\d.]+'"),
        "VLLM_CPU_KVCACHE_SPACE must be a whole number of GiB (e.g. 1 or 4)",
    ),
    Rule(
        "device_oom",
        re.compile(
            r"(?:CUDA|NPU|XPU)? ?out of memory|OutOfMemoryError|EL0004|Failed to allocate memory"
        ),
        "the device ran out of memory: free it (check npu-smi / nvidia-smi for other processes), "
        "lower --gpu-memory-utilization or --max-model-len, or use more devices",
    ),
    Rule(
        "unsupported_architecture",
        re.compile(r"Model architectures \[[^\]]*\] are not supported"),
        "this vLLM does not know the model's architecture: upgrade vLLM / vLLM-Ascend or check "
        "config.json 'architectures'",
    ),
    Rule(
        "trust_remote_code",
        # transformers' own request; a config that already says trust_remote_code=True is not it
        re.compile(
            r"requires you to execute the configuration file in that repo"
            r"|requires you to execute (?:execute )?some code in that repo"
            r"|Please pass the argument `trust_remote_code=True`"
        ),
        "the model ships its own code: add --trust-remote-code if you trust its source",
    ),
    Rule(
        "chat_template_missing",
        # the error, not vLLM's many mentions of chat_template=None or the template's format
        re.compile(
            r"default chat template is no longer allowed|does not (?:have|define) a chat template",
            re.I,
        ),
        "the tokenizer has no chat template: pass --chat-template FILE or use /v1/completions",
    ),
    Rule(
        "tokenizer_missing",
        re.compile(r"Can't load tokenizer for|No tokenizer file found in directory"),
        "the model folder has no usable tokenizer: add the tokenizer files (tokenizer.json or "
        "tokenizer.model and tokenizer_config.json) or pass --tokenizer DIR_OR_HUB_ID",
    ),
    Rule(
        "port_in_use",
        re.compile(r"Address already in use|\[Errno 98\]"),
        "the port is taken: stop whatever holds it or pass another --port",
    ),
    Rule(
        "cann_not_sourced",
        # a CANN library that cannot be loaded; the ASCEND_* variables of an environment dump are not
        # a failure
        re.compile(
            r"lib(?:ascend\w*|hccl|acl\w*|atb|runtime|ge_runner|graph|opapi)\.so[\d.]*: "
            r"cannot open shared object file"
        ),
        "the CANN environment is not set: run `source /usr/local/Ascend/ascend-toolkit/set_env.sh` "
        "(and nnal/atb/set_env.sh) before launching",
    ),
    Rule(
        "ascend_507013",
        re.compile(r"507013"),
        "Ascend runtime error 507013 (device task failed): check npu-smi health and the device "
        "plog under ~/ascend/log, then restart the device processes",
    ),
)


class Diagnosis(Model):
    id: str
    advice: str
    root_cause: str | None = None
    excerpt: list[str] = []

    def one_line(self) -> str:
        cause = f" [{self.root_cause[:300]}]" if self.root_cause else ""
        return f"{self.advice}{cause}"


def diagnose(text: str, facts: VllmLogFacts | None = None) -> Diagnosis | None:
    """Why a start-up failed, or None when the log shows no failure."""
    facts = facts or parse_vllm_log(text)
    if facts.startup_complete and not facts.fatal_error:
        return None
    cause = root_cause_line(text)
    lines = text.splitlines()
    # The root cause decides when a rule recognises it; warnings earlier in the log can mention
    # other problems that did not stop the engine.
    ordered = sorted(RULES, key=lambda r: not (cause and r.pattern.search(cause)))
    for rule in ordered:
        for i, raw in reversed(list(enumerate(lines))):
            m = rule.pattern.search(raw[:5000])
            if m:
                lo, hi = max(0, i - 2), min(len(lines), i + 3)
                excerpt = [clean_line(x)[0][:400] for x in lines[lo:hi]]
                groups = [g if g is not None else "see the log" for g in m.groups()]
                advice = rule.advice.format(*groups) if groups else rule.advice
                return Diagnosis(
                    id=rule.id,
                    advice=advice,
                    root_cause=cause or clean_line(raw)[0][:400],
                    excerpt=excerpt,
                )
    if cause is None:
        return None
    return Diagnosis(id="unknown", advice="start-up failed", root_cause=cause)


__all__ = ["RULES", "Diagnosis", "Rule", "diagnose"]
