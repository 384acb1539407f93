"""Problems found in a rule file, reported the way a compiler reports them: file:line:col."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleProblem:
    file: str
    line: int
    col: int
    rule_id: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return self.with_severity("")

    def with_severity(self, severity: str) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        hint = f" (hint: {self.hint})" if self.hint else ""
        label = f"{severity}: " if severity else ""
        return f"{where}: {self.rule_id or '-'}: {label}{self.message}{hint}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file, "line": self.line, "col": self.col, "rule_id": self.rule_id,
            "message": self.message, "hint": self.hint,
        }


class RulesetError(Exception):
    """A ruleset that cannot be loaded; ``problems`` lists every problem found, not just one."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
