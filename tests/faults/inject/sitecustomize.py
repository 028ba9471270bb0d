"""Faults injected into the real vLLM engine, for the align fault tests.

Put this folder on the engine's PYTHONPATH and choose a fault with ``MV_FAULT``; every Python
process of the engine (the API server and its EngineCore child) imports this file at start-up
and patches vLLM's Llama code the moment it is imported. The checkpoint on disk, which the
reference reads, is untouched.

* ``weights``: after loading, the weights of decoder layers 10–14 are scaled by 0.7;
* ``rope``: rotary positions past 1535 are clamped to 1535 (a too-short cos/sin cache);
* ``batch``: when a forward pass holds more than one sequence, the last one's final hidden
  states are replaced by the first one's (a batching index bug).
"""

import importlib.abc
import importlib.util
import os
import sys

FAULT = os.environ.get("MV_FAULT", "")
TARGET = "vllm.model_executor.models.llama"


def _patch(mod):  # type: ignore[no-untyped-def]
    import re

    import torch

    if FAULT == "weights":
        orig = mod.LlamaForCausalLM.load_weights

        def load_weights(self, weights):  # type: ignore[no-untyped-def]
            loaded = orig(self, weights)
            with torch.no_grad():
                for name, p in self.named_parameters():
                    m = re.search(r"layers\.(\d+)\.", name)
                    if m and 10 <= int(m.group(1)) <= 14:
                        p.mul_(0.7)
            return loaded

        mod.LlamaForCausalLM.load_weights = load_weights
    elif FAULT == "rope":
        orig_attn = mod.LlamaAttention.forward

        def forward(self, positions, hidden_states):  # type: ignore[no-untyped-def]
            return orig_attn(self, positions.clamp(max=1535), hidden_states)

        mod.LlamaAttention.forward = forward
    elif FAULT == "batch":
        orig_model = mod.LlamaModel.forward

        def model_forward(self, input_ids, positions, *args, **kwargs):  # type: ignore[no-untyped-def]
            out = orig_model(self, input_ids, positions, *args, **kwargs)
            if isinstance(out, torch.Tensor) and out.dim() == 2 and positions.numel() > 1:
                pos = positions.reshape(-1)
                starts = (pos[1:] != pos[:-1] + 1).nonzero().reshape(-1)
                if starts.numel() > 0:
                    s = int(starts[-1]) + 1
                    out = out.clone()
                    out[s:] = out[0]
            return out

        mod.LlamaModel.forward = model_forward


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        orig_exec = loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            orig_exec(module)
            _patch(module)
            print(f"[mv-fault] {FAULT} injected into {TARGET} (pid {os.getpid()})", flush=True)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if FAULT:
    sys.meta_path.insert(0, _Finder())
