"""docker-compose.yml and the Dockerfile agree with each other and with core/settings.py.

Nothing here starts a container (no Docker on the test machines): the files are parsed and
cross-checked, which catches the mistakes that otherwise show only at ``docker compose up``
(a URL naming a service that does not exist, an undeclared volume, an environment variable
the settings never read, a cluster node bootstrapping to the wrong port).
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pydantic import AliasChoices

from core.settings import REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
QDRANT_HTTP, QDRANT_GRPC, QDRANT_P2P = 6333, 6334, 6335
API_PORT = 8000
CLUSTER_NODES = ("qdrant-node1", "qdrant-node2", "qdrant-node3")
# ${NAME:-default} and ${NAME}: compose interpolation
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    # PyYAML's safe loader resolves the << merge keys of the x-api / x-qdrant anchors
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


@cache
def dockerfile() -> dict[str, list[str]]:
    """Instructions by keyword (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.setdefault(keyword.upper(), []).append(rest.strip())
    return out


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile().get("ENV", []):
        for token in shlex.split(instruction):
            name, _, value = token.partition("=")
            env[name] = value
    return env


def resolve(value: object) -> str:
    """A compose value with ${VAR:-default} replaced by its default (what runs with no .env)."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", str(value))


def settings_env_names() -> set[str]:
    """Every environment variable Settings reads: POLICYQA_<field>, or the field's aliases."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def api_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services().items() if "build" in svc}


def qdrant_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services().items() if str(svc.get("image", "")).startswith("qdrant/")}


def container_ports(service: dict[str, Any]) -> dict[int, int]:
    """{container port: host port} of a service's short-syntax port mappings."""
    ports = {}
    for mapping in service.get("ports", []):
        host, _, container = str(mapping).rpartition(":")
        ports[int(container)] = int(host)
    return ports


# --------------------------------------------------------------------------- tests


def test_compose_parses_with_the_expected_services():
    assert set(api_services()) == {"api", "api-cluster"}
    assert set(qdrant_services()) == {"qdrant", *CLUSTER_NODES}
    for name, svc in services().items():
        assert "image" in svc or "build" in svc, f"{name} has neither image nor build"


def test_api_points_at_a_qdrant_service_on_its_http_port():
    for name, svc in api_services().items():
        url = urlparse(resolve(svc["environment"]["QDRANT_URL"]))
        assert url.scheme == "http" and url.port == QDRANT_HTTP, f"{name}: {url.geturl()}"
        assert url.hostname in qdrant_services(), f"{name}: {url.hostname} is not a Qdrant service"
        target = services()[url.hostname]
        assert set(target.get("profiles", [])) == set(svc.get("profiles", [])), (
            f"{name} and {url.hostname} are not started by the same profile"
        )
        assert svc["depends_on"][url.hostname]["condition"] == "service_healthy"


def test_qdrant_and_api_share_the_api_key():
    for name, svc in qdrant_services().items():
        assert svc["environment"]["QDRANT__SERVICE__API_KEY"] == "${QDRANT_API_KEY:-change-me}", name
    for name, svc in api_services().items():
        assert svc["environment"]["QDRANT_API_KEY"] == "${QDRANT_API_KEY:-change-me}", name


def test_ports_match_what_the_containers_listen_on():
    assert container_ports(services()["qdrant"]) == {QDRANT_HTTP: QDRANT_HTTP, QDRANT_GRPC: QDRANT_GRPC}
    for name, svc in api_services().items():
        assert set(container_ports(svc)) == {API_PORT}, name
    assert dockerfile()["EXPOSE"] == [str(API_PORT)]
    cmd = dockerfile()["CMD"][-1]
    assert f'"--port", "{API_PORT}"' in cmd and '"0.0.0.0"' in cmd
    host_ports = [p for svc in services().values() for p in container_ports(svc).values()]
    assert len(host_ports) == len(set(host_ports)), f"two services publish the same host port: {host_ports}"


def test_every_volume_is_declared_and_used():
    declared = set(compose().get("volumes") or {})
    used = set()
    for name, svc in services().items():
        for volume in svc.get("volumes", []):
            source, _, target = str(volume).partition(":")
            assert target, f"{name}: anonymous volume {volume!r}"
            if not source.startswith((".", "/", "~")):  # a named volume, not a bind mount
                assert source in declared, f"{name} uses volume {source!r}, not declared at top level"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    # the volume holds the data dir; the provisioned model must not be hidden under it
    env = dockerfile_env()
    for svc in api_services().values():
        assert "api_data:" + env["POLICYQA_DATA_DIR"] in svc["volumes"]
    assert not env["POLICYQA_MODELS_DIR"].startswith(env["POLICYQA_DATA_DIR"].rstrip("/") + "/")
    for svc in qdrant_services().values():
        assert [v.split(":", 1)[1] for v in svc["volumes"]] == ["/qdrant/storage"]


def test_every_qdrant_service_is_health_checked_on_its_ready_endpoint():
    for name, svc in qdrant_services().items():
        test = " ".join(svc["healthcheck"]["test"])
        assert f"/{QDRANT_HTTP}" in test and "/readyz" in test, name
        assert svc["healthcheck"]["retries"] >= 1


def test_the_api_is_health_checked_by_the_dockerfile_on_ready():
    (check,) = dockerfile()["HEALTHCHECK"]
    assert f"http://127.0.0.1:{API_PORT}/ready" in check
    assert "--start-period=" in check  # the first start-up ingest takes minutes
    for name, svc in api_services().items():
        assert svc["build"] == "." and "healthcheck" not in svc, f"{name} overrides the image's HEALTHCHECK"


def test_depends_on_only_waits_for_health_checked_services():
    for name, svc in services().items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            assert dep in services(), f"{name} depends on unknown service {dep}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services()[dep] or "build" in services()[dep], dep


def test_cluster_profile_has_three_nodes_bootstrapped_to_node1():
    nodes = {
        n: s for n, s in services().items() if "cluster" in s.get("profiles", []) and n in qdrant_services()
    }
    assert sorted(nodes) == list(CLUSTER_NODES)
    for name, svc in nodes.items():
        assert svc["environment"]["QDRANT__CLUSTER__ENABLED"] == "true", name
        cmd = svc["command"]
        assert cmd[cmd.index("--uri") + 1] == f"http://{name}:{QDRANT_P2P}", name
        if name != "qdrant-node1":
            assert cmd[cmd.index("--bootstrap") + 1] == f"http://qdrant-node1:{QDRANT_P2P}", name
            assert svc["depends_on"]["qdrant-node1"]["condition"] == "service_healthy"
        else:
            assert "--bootstrap" not in cmd
    # the default stack stays single-node
    assert "QDRANT__CLUSTER__ENABLED" not in services()["qdrant"]["environment"]
    assert not services()["qdrant"].get("profiles") and not services()["api"].get("profiles")


def _environment_names() -> list[tuple[str, str]]:
    names = [(f"service {n}", k) for n, s in services().items() for k in s.get("environment", {})]
    return names + [("Dockerfile ENV", k) for k in dockerfile_env()]


@pytest.mark.parametrize(("where", "name"), _environment_names())
def test_environment_names_are_read_by_the_settings(where: str, name: str):
    if name.startswith("QDRANT__"):  # Qdrant server configuration, not ours
        return
    if name.startswith(("POLICYQA_", "QDRANT_")):
        assert name in settings_env_names(), f"{where}: {name} is not a field or alias of Settings"


@pytest.mark.parametrize("service", ["api", "api-cluster"])
def test_compose_environment_validates_as_settings(service: str, monkeypatch: pytest.MonkeyPatch):
    """The values compose passes (defaults of ${VAR:-default}) parse into the intended settings."""
    for name in list(settings_env_names()):
        monkeypatch.delenv(name, raising=False)
    env = {**dockerfile_env(), **{k: resolve(v) for k, v in services()[service]["environment"].items()}}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.qdrant_url == env["QDRANT_URL"]
    assert settings.qdrant_api_key is not None and settings.qdrant_api_key.get_secret_value() == "change-me"
    assert settings.api_keys == ["change-me-too"]
    assert settings.data_dir == Path("/data") and settings.models_dir == Path("/opt/models")
    assert settings.ingest_on_startup is True and settings.qdrant_prefer_grpc is False
    if service == "api-cluster":
        assert (settings.qdrant_shards, settings.qdrant_replicas) == (3, 2)
        assert settings.qdrant_replicas <= len(CLUSTER_NODES)
