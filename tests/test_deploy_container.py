"""The container kit (issue #12): Dockerfile, compose.yaml and .dockerignore agree with the
product's CLI, settings and packages. Docker is not run here (no daemon on the test machines):
these are static checks; compose.yaml is parsed as YAML where PyYAML is installed (in .venv or
in a system python3), and read as text everywhere."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest

try:  # optional: PyYAML is not a dependency of the product or of its tests
    import yaml
except ImportError:
    yaml = None

from genius_wh.settings import Settings
from orchestration.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "compose.yaml").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text()
DATA_DIR = "/var/lib/genius-wh"
PORT = "8080"
#: Variables the product reads that are not Settings fields.
OTHER_VARIABLES = {"GENIUS_WH_CONFIG"}
_SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


def instructions(name: str) -> list[str]:
    """The arguments of every Dockerfile instruction `name` (continued lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+)$", joined, re.MULTILINE)]


def exec_form(text: str) -> list[str]:
    """A JSON-array instruction's words."""
    words: list[str] = json.loads(text)
    return words


def load_yaml(path: Path) -> Any | None:
    """compose.yaml parsed by PyYAML, in this interpreter or a system python3; None if absent."""
    if yaml is not None:
        return yaml.safe_load(path.read_text())
    for python in _SYSTEM_PYTHONS:
        if Path(python).exists():
            done = subprocess.run(
                [python, "-c", "import json, sys, yaml; "
                 "json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", str(path)],
                capture_output=True, text=True, timeout=30, check=False)
            if done.returncode == 0:
                return json.loads(done.stdout)
    return None


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed = load_yaml(ROOT / "compose.yaml")
    if parsed is None:
        pytest.skip("no YAML parser installed (PyYAML); the text checks still ran")
    assert isinstance(parsed, dict)
    return parsed


def check_cli(words: list[str]) -> click.Command:
    """Parse `genius-wh WORDS` with the real click commands (nothing runs); the command."""
    assert words and words[0] in cli.commands, f"genius-wh has no command {words[:1]}"
    command = cli.commands[words[0]]
    command.make_context(words[0], list(words[1:]))  # raises UsageError on a bad option
    return command


def test_the_image_installs_the_package_with_pip_from_the_index_only() -> None:
    [*_, install] = [r for r in instructions("RUN") if "pip install" in r]
    assert "pip install /src" in install and " -e " not in install
    for download in ("curl", "wget", "apt-get", "git clone", "ADD http", "--index-url",
                     "--extra-index-url"):
        assert download not in DOCKERFILE, f"the build must not use {download}"
    assert all(f.startswith("python:") for f in
               (line.split()[0].replace("${PYTHON_VERSION}", "3.11")
                for line in instructions("FROM")))


def test_the_image_copies_every_package_pyproject_names_and_dockerignore_lets_it() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.split(".")[0] for p in pyproject["tool"]["setuptools"]["packages"]}
    copied = {line.split()[0] for line in instructions("COPY") if "--from" not in line}
    assert copied >= packages | {"pyproject.toml"}
    assert pyproject["project"]["readme"] in instructions("COPY")[0].split()
    for name in copied:
        assert f"!{name}" in DOCKERIGNORE.split() or f"!{name}/" in DOCKERIGNORE.split()


def test_the_image_runs_genius_wh_serve_as_a_non_root_user_with_umask_0077() -> None:
    [user] = instructions("USER")
    assert user not in {"root", "0"} and "useradd --system --uid 10001" in DOCKERFILE
    [entrypoint] = instructions("ENTRYPOINT")
    words = exec_form(entrypoint)
    assert words[:2] == ["/bin/sh", "-c"]
    assert words[2].startswith("umask 0077 && exec genius-wh ")
    [cmd] = instructions("CMD")
    serve = exec_form(cmd)
    assert check_cli(serve).name == "serve"
    assert serve[serve.index("--port") + 1] == PORT
    assert serve[serve.index("--host") + 1] == "0.0.0.0"


def test_the_image_keeps_its_data_on_a_volume_and_checks_healthz() -> None:
    assert instructions("VOLUME") == [f'["{DATA_DIR}"]']
    assert f"GENIUS_WH_DATA_DIR={DATA_DIR}" in DOCKERFILE
    assert instructions("EXPOSE") == [PORT]
    [health] = instructions("HEALTHCHECK")
    assert f"http://127.0.0.1:{PORT}/healthz" in health
    assert instructions("STOPSIGNAL") == ["SIGTERM"]


def test_every_genius_wh_variable_in_the_kit_is_a_setting() -> None:
    fields = {f"GENIUS_WH_{name.upper()}" for name in Settings.model_fields} | OTHER_VARIABLES
    used = set(re.findall(r"\bGENIUS_WH_[A-Z_]+\b", DOCKERFILE + COMPOSE))
    assert used and used <= fields, f"not settings: {sorted(used - fields)}"


def test_compose_text_agrees_with_the_image_and_the_cli() -> None:
    """The same checks as the parsed ones below, on the text (no YAML parser needed)."""
    [command] = re.findall(r"^    command: (\[.+\])$", COMPOSE, re.MULTILINE)[:1]
    assert exec_form(command) == exec_form(instructions("CMD")[0])
    assert f'- "127.0.0.1:{PORT}:{PORT}"' in COMPOSE
    assert f"- genius-data:{DATA_DIR}" in COMPOSE
    assert f"GENIUS_WH_DATA_DIR: {DATA_DIR}" in COMPOSE
    assert f"http://127.0.0.1:{PORT}/healthz" in COMPOSE
    for service in ("genius-wh", "postgres", "s3", "s3-bucket"):
        assert re.search(rf"^  {service}:$", COMPOSE, re.MULTILINE), service
    assert COMPOSE.count("profiles: [shared]") == 3
    assert re.search(r"^#   GENIUS_WH_CATALOG=postgres:host=postgres ", COMPOSE, re.MULTILINE)
    [lake] = re.findall(r"^#   GENIUS_WH_LAKE_PATH=(s3://[^/]+/\S*)", COMPOSE, re.MULTILINE)
    assert f"mb --ignore-existing lake/{lake.split('/')[2]}" in COMPOSE


def test_compose_services_commands_ports_volumes_and_healthcheck(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"genius-wh", "postgres", "s3", "s3-bucket"}
    app = services["genius-wh"]
    assert check_cli(app["command"]).name == "serve"
    assert app["command"] == exec_form(instructions("CMD")[0])
    host_port = app["ports"][0].rsplit(":", 1)[1]
    assert host_port == app["command"][app["command"].index("--port") + 1]
    assert app["volumes"] == [f"genius-data:{DATA_DIR}"] and "genius-data" in compose["volumes"]
    assert app["environment"]["GENIUS_WH_DATA_DIR"] == DATA_DIR
    test = app["healthcheck"]["test"]
    assert test[0] == "CMD" and f"http://127.0.0.1:{PORT}/healthz" in test[-1]
    assert app["user"] == "10001:10001" and app["cap_drop"] == ["ALL"]
    assert app["stop_signal"] == "SIGTERM"
    assert "profiles" not in app, "the receiver runs without a profile"


def test_the_shared_profile_brings_postgres_and_an_s3_store_and_is_optional(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "s3", "s3-bucket"):
        assert services[name]["profiles"] == ["shared"]
    depends = services["genius-wh"]["depends_on"]
    assert all(d["required"] is False for d in depends.values())
    assert depends["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "genius_wh"
    environment = services["genius-wh"]["environment"]
    for name in ("GENIUS_WH_CATALOG", "GENIUS_WH_LAKE_PATH", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        assert name in environment
    assert environment["GENIUS_WH_CATALOG"] == "${GENIUS_WH_CATALOG:-}", "embedded by default"


def test_the_deploy_manual_says_what_was_run_and_what_was_not() -> None:
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert "## Docker" in deploy and "docker compose --profile shared up" in deploy
    assert "not run" in deploy.split("## Docker", 1)[1]
