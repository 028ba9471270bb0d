"""Text clean-up shared by the table parsers."""

from __future__ import annotations

import re

from modelverify.errors import ParseError

# the widest real row, an 80-column hard wrap joined back, is under 300 characters: a row past
# this is no table, and every regex then runs on bounded text
MAX_ROW = 2000

# a table pasted into a shell script as comments ("# | NVIDIA-SMI …"): the table is the text
_COMMENT = re.compile(r"^\s*#\s?(?=[|+])")


def table_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of a pasted table, with rows a terminal or an editor hard-wrapped
    joined back: a row continues on the next line when that one is neither a row nor a border
    and either the row is left open or the next line closes a cell (a real capture from an 80-column Slurm log
    breaks every wide nvidia-smi row in two). A ``# `` shell-comment prefix before a row or border
    is dropped. Line numbers stay those of the original text."""
    raw = [
        _COMMENT.sub("", row) for row in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(raw):
        line, n = raw[i], i + 1
        if line.strip().startswith("|"):
            # pieces gathered in a list: growing one string line by line was quadratic
            parts, closed = [line.rstrip()], line.rstrip().endswith("|")
            while (
                i + 1 < len(raw)
                and raw[i + 1].strip()
                and not raw[i + 1].lstrip().startswith(("|", "+"))
                and (not closed or raw[i + 1].rstrip().endswith("|"))
            ):
                i += 1
                parts.append(raw[i].strip())
                closed = parts[-1].endswith("|")
            line = " ".join(parts)
        if len(line) > MAX_ROW and line.lstrip().startswith(("|", "+")):
            raise ParseError(
                f"a table row of {len(line):,} characters: not a device table (rows are under "
                f"{MAX_ROW:,}); paste the tool's output as it printed it",
                line_no=n,
                line=line[:120],
            )
        out.append((n, line))
        i += 1
    return out
