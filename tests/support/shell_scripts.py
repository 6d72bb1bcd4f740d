"""The shell's script files (``tests/cli/shell_scripts/*.txt``): commands, then expected output.

A file is comment lines (``#``), the commands (one per line, ``HOSTS`` standing for the
server's connect string), then ``=== stdout``, ``=== stderr`` and ``=== exit N`` sections
holding what zkCli.sh printed for those commands against a zabkeeper server, with times,
zxids, session ids, versions and the usage header blanked as :func:`support.zkcli.mask`
blanks them.
"""

from __future__ import annotations

from pathlib import Path

import attrs

SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "cli" / "shell_scripts"


@attrs.frozen
class Script:
    """One script file."""

    name: str
    commands: str
    stdout: str
    stderr: str
    exit_code: int

    def for_server(self, hosts: str) -> Script:
        """The script with ``HOSTS`` replaced by a real connect string."""
        return attrs.evolve(
            self,
            commands=self.commands.replace("HOSTS", hosts),
            stdout=self.stdout.replace("HOSTS", hosts),
            stderr=self.stderr.replace("HOSTS", hosts),
        )


def load(path: Path) -> Script:
    """Parse one script file."""
    text = path.read_text()
    head, _, rest = text.partition("=== stdout\n")
    stdout, _, rest = rest.partition("=== stderr\n")
    stderr, _, tail = rest.partition("=== exit ")
    commands = "".join(line for line in head.splitlines(keepends=True) if not line.startswith("#"))
    return Script(path.stem, commands, stdout, stderr, int(tail.strip()))


def all_scripts() -> list[Script]:
    """Every script file, by name."""
    return [load(path) for path in sorted(SCRIPTS_DIR.glob("*.txt"))]
