"""docker-compose.yml and the Dockerfile, checked against the code by reading them: no Docker
engine runs on our build machines, so this is what keeps them from going stale.

- every service built from the Dockerfile runs a program the project installs, on a module
  that exists and defines what the command names (``service.api.wsgi:app``, Celery's ``app``);
- every environment variable they set is one the code reads: ``service.config.ENVIRONMENT``
  lists them, and the code's own reads (found in its syntax tree) are all in that list;
- the README's settings table lists exactly those variables;
- the production shape: Redis with AOF and a health check, a multi-stage non-root image
  with a HEALTHCHECK, workers whose concurrency comes from the environment, and one metrics
  directory shared by API and workers.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import ENVIRONMENT, env_value
from tests.unit.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
README = (ROOT / "README.md").read_text()
PYPROJECT = (ROOT / "pyproject.toml").read_text()
# variables of the interpreter and the OS, which an image may set and our code does not read
PLATFORM_VARIABLES = re.compile(r"^(PATH|HOME|PYTHON[A-Z_]*|PIP_[A-Z_]*)$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]+$")
# keys of a WSGI environ (also called ``environ``), which are request data, not settings
WSGI_KEY = re.compile(r"^(HTTP|SERVER|REMOTE|CONTENT)_|^(REQUEST_METHOD|PATH_INFO|QUERY_STRING|"
                      r"SCRIPT_NAME)$")


# --- the Dockerfile ---------------------------------------------------------------------------


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kind, args in self.instructions if kind == keyword]


def dockerfile_stages(text: str) -> list[Stage]:
    joined = re.sub(r"\\\n", " ", text)
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "ARG" and not stages and "=" in args:
            name, _, value = args.partition("=")
            arguments[name] = value
        elif keyword == "FROM":
            base, _, name = args.partition(" AS ")
            for key, value in arguments.items():
                base = base.replace(f"${{{key}}}", value)
            stages.append(Stage(name.strip() or None, base.strip()))
        elif stages:
            stages[-1].instructions.append((keyword, args))
    return stages


STAGES = dockerfile_stages((ROOT / "Dockerfile").read_text())
FINAL = STAGES[-1]


def stage(name: str) -> Stage:
    return next(s for s in STAGES if s.name == name)


def inherited(target: Stage, keyword: str) -> list[str]:
    """``keyword``'s instructions in ``target`` and the stages it is built FROM."""
    found = target.all(keyword)
    parent = next((s for s in STAGES if s.name == target.base), None)
    return (inherited(parent, keyword) if parent else []) + found


def env_names(instructions: list[str]) -> set[str]:
    names = set()
    for args in instructions:
        for token in shlex.split(args):
            names.add(token.partition("=")[0])
    return names


def exec_form(args: str) -> list[str]:
    command = json.loads(args)
    assert isinstance(command, list) and all(isinstance(a, str) for a in command), args
    return command


# --- what a command runs ----------------------------------------------------------------------


def defines(module: str, name: str) -> bool:
    """Whether ``module``'s source binds ``name`` at top level, or serves it from a module
    ``__getattr__`` (as ``service.worker.app`` builds ``app`` lazily). Read, not imported:
    importing the WSGI module would start the app."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"no module {module}"
    tree = ast.parse(Path(spec.origin).read_text())
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return True
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
        if (isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
                and any(isinstance(c, ast.Constant) and c.value == name
                        for c in ast.walk(node))):
            return True
    return False


def console_script_distribution(program: str) -> str:
    [entry] = metadata.entry_points(group="console_scripts", name=program)
    assert entry.dist is not None
    return entry.dist.name.lower()


def pinned(distribution: str) -> bool:
    """Whether pyproject.toml pins ``distribution`` (in the dependencies or an extra)."""
    pattern = rf'"{re.escape(distribution)}(\[[^\]]*\])?=='
    return re.search(pattern, PYPROJECT, re.IGNORECASE) is not None


def check_command(command: list[str]) -> None:
    """The program is installed by a pinned dependency, and what it is pointed at exists."""
    program, args = command[0], command[1:]
    assert pinned(console_script_distribution(program)), f"{program} is not pinned"
    if program == "gunicorn":
        config = args[args.index("-c") + 1]
        assert config.startswith("python:")
        assert importlib.util.find_spec(config.removeprefix("python:")), config
        module, _, attribute = args[-1].partition(":")
        assert defines(module, attribute), f"{module} defines no {attribute}"
    elif program == "celery":
        module = args[args.index("-A") + 1]
        assert defines(module, "app"), f"{module} has no Celery app"
        subcommand = next(a for a in args[args.index("-A") + 2:] if not a.startswith("-"))
        assert subcommand in ("worker", "flower", "inspect"), subcommand
        if subcommand == "flower":
            assert pinned("flower")
    else:
        pytest.fail(f"unexpected program {program!r}: add a check for it here")


# --- the environment the code reads -----------------------------------------------------------


_RECEIVERS = {"env", "environ", "environment", "os.environ"}
_READERS = {"os.getenv", "env_value", "config.env_value"}


def variables_read(path: Path) -> set[str]:
    """Setting names read from the environment in ``path``: ``env["X"]``, ``env.get("X")``,
    ``os.getenv("X")``, ``env_value("X")``, ``"X" in env`` and helpers taking the environment
    then a name (``_number(env, "X", …)``)."""
    found: set[str] = set()

    def constant(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str | None] = []
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in _RECEIVERS:
            names.append(constant(node.slice))
        elif isinstance(node, ast.Compare) and any(ast.unparse(c) in _RECEIVERS
                                                   for c in node.comparators):
            names.append(constant(node.left))
        elif isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            receiver, _, method = func.rpartition(".")
            if func in _READERS or (receiver in _RECEIVERS and method in ("get", "pop")):
                names.append(constant(node.args[0]))
            names += [constant(b) for a, b in zip(node.args, node.args[1:], strict=False)
                      if ast.unparse(a) in _RECEIVERS]
        found.update(n for n in names
                     if n and SETTING_NAME.match(n) and not WSGI_KEY.match(n))
    return found


def code_reads() -> dict[str, set[str]]:
    reads: dict[str, set[str]] = {}
    for path in sorted((ROOT / "service").rglob("*.py")):
        for name in variables_read(path):
            reads.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return reads


def readme_settings() -> list[str]:
    """The first column of every README table headed ``| variable | default | meaning |``."""
    names: list[str] = []
    in_table = False
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[:2] == ["variable", "default"]:
            in_table = True
        elif in_table and line.startswith("|"):
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        else:
            in_table = False
    return names


# --- compose ----------------------------------------------------------------------------------


def built_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in COMPOSE["services"].items() if "build" in service}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


# --- the tests ------------------------------------------------------------------------------


def test_the_scanner_finds_the_reads_we_know() -> None:
    reads = code_reads()
    # one of each form: Settings.from_env, a helper (_number), env_value, a subscript store
    for name in ("REDIS_URL", "SYNC_TIMEOUT", "LOG_FORMAT", "PROMETHEUS_MULTIPROC_DIR",
                 "API_BIND"):
        assert name in reads, name


def test_every_variable_the_code_reads_is_registered() -> None:
    unregistered = {name: where for name, where in code_reads().items()
                    if name not in ENVIRONMENT}
    assert not unregistered, (
        f"read but missing from service.config.ENVIRONMENT: {unregistered}")


def test_every_registered_variable_is_read_somewhere() -> None:
    reads = code_reads()
    assert sorted(set(ENVIRONMENT) - set(reads)) == []


def test_the_readme_table_lists_exactly_the_registered_variables() -> None:
    listed = readme_settings()
    assert listed, "no settings table found in the README"
    assert sorted({n for n in listed if listed.count(n) > 1}) == [], "listed twice"
    assert sorted(set(ENVIRONMENT) - set(listed)) == [], "registered, not in the README"
    assert sorted(set(listed) - set(ENVIRONMENT)) == [], "in the README, not registered"


def test_env_value_refuses_an_unregistered_name() -> None:
    assert env_value("LOG_FORMAT", {"LOG_FORMAT": " text "}) == "text"
    assert env_value("LOG_FORMAT", {"LOG_FORMAT": "  "}) is None
    with pytest.raises(KeyError, match="ENVIRONMENT"):
        env_value("NOT_A_SETTING", {})


@pytest.mark.parametrize("name", sorted(built_services()))
def test_compose_service_runs_an_entry_point_that_exists(name: str) -> None:
    service = built_services()[name]
    command = service.get("command")
    assert isinstance(command, list), f"{name}: use the exec form (a list)"
    check_command(command)
    target = service["build"].get("target") if isinstance(service["build"], dict) else None
    assert target is None or any(s.name == target for s in STAGES), target


@pytest.mark.parametrize("name", sorted(built_services()))
def test_compose_sets_only_variables_the_code_reads(name: str) -> None:
    unknown = sorted(set(environment(built_services()[name])) - set(ENVIRONMENT))
    assert unknown == [], f"{name} sets variables no code reads"


def test_compose_interpolates_only_registered_variables() -> None:
    referenced = set(INTERPOLATION.findall(COMPOSE_TEXT))
    assert referenced, "the compose file takes no setting from the environment"
    assert sorted(referenced - set(ENVIRONMENT)) == []


def test_compose_paths_into_the_image_exist() -> None:
    """A path setting that points into the image's working directory names a file the
    Dockerfile copies there (the ruleset, for one)."""
    [workdir] = inherited(FINAL, "WORKDIR")
    copied = {shlex.split(args)[-1].removeprefix("./").rstrip("/")
              for args in inherited(FINAL, "COPY") if "--from" not in args}
    for service in built_services().values():
        for value in environment(service).values():
            value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
            if value.startswith(workdir + "/"):
                relative = value.removeprefix(workdir + "/")
                assert relative.split("/")[0] in copied, f"{value}: not copied into the image"
                assert (ROOT / relative).exists(), value


def test_redis_keeps_an_append_only_file_and_is_health_checked() -> None:
    redis = COMPOSE["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert redis["healthcheck"]["test"]
    assert any(v.endswith(":/data") for v in redis["volumes"])
    for name, service in built_services().items():
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name


def test_api_and_workers_share_one_metrics_directory() -> None:
    directories, volumes = set(), set()
    for name in ("api", "worker"):
        service = COMPOSE["services"][name]
        directory = environment(service)["PROMETHEUS_MULTIPROC_DIR"]
        directories.add(directory)
        volumes |= {v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == directory}
    assert len(directories) == 1 and len(volumes) == 1, (directories, volumes)
    assert volumes <= set(COMPOSE["volumes"])
    # Flower's own metrics must not land in it
    assert "PROMETHEUS_MULTIPROC_DIR" not in environment(COMPOSE["services"]["flower"])


def test_worker_concurrency_comes_from_the_environment() -> None:
    worker = COMPOSE["services"]["worker"]
    assert not any(a.startswith("--concurrency") for a in worker["command"])
    assert "WORKER_CONCURRENCY" in environment(worker)


def test_flower_is_optional() -> None:
    assert COMPOSE["services"]["flower"]["profiles"] == ["monitoring"]


def test_dockerfile_builds_in_stages_and_runs_as_a_user() -> None:
    assert len(STAGES) >= 2
    builder = STAGES[0]
    assert any("gcc" in args for args in builder.all("RUN")), "durable-rules needs gcc"
    assert "python:3.11-slim" in FINAL.base or stage(FINAL.base).base == "python:3.11-slim"
    assert any("--from=builder" in args for args in inherited(FINAL, "COPY"))
    [user] = FINAL.all("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    assert FINAL.all("HEALTHCHECK")
    assert not any("gcc" in args for args in inherited(FINAL, "RUN")), "gcc in the image"


def test_dockerfile_command_runs_an_entry_point_that_exists() -> None:
    [command] = FINAL.all("CMD")
    check_command(exec_form(command))
    assert not FINAL.all("ENTRYPOINT")
    assert COMPOSE["services"]["api"]["command"] == exec_form(command)


def test_flower_stage_command_runs_an_entry_point_that_exists() -> None:
    [command] = stage("flower").all("CMD")
    check_command(exec_form(command))


def test_dockerfile_sets_only_variables_the_code_reads() -> None:
    for target in STAGES:
        names = env_names(target.all("ENV"))
        unknown = sorted(n for n in names - set(ENVIRONMENT) if not PLATFORM_VARIABLES.match(n))
        assert unknown == [], f"stage {target.name}: {unknown}"
