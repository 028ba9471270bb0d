"""Tests of what agents and CI jobs use: the event stream, the summary, SKILL.md, the CI example.

Their shared helpers live in helpers.py next to this file (pytest's importlib mode does not put
test folders on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
