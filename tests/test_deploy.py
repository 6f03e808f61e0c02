"""The Dockerfile and the Kubernetes manifests, checked for what operators rely on.

`docker build` cannot run here, and neither hadolint nor kubectl is available, so the files
are parsed and their essentials checked; the parts that can run (the HEALTHCHECK command,
the shard snippet) are run for real.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.adapters.web import SHUTDOWN_TIMEOUT
from bot.app import ADAPTER_STOP_MIN, STOP_GRACE, App, parse_file_config
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SECRET_ENV = {"COMMUNITYBOT_DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
              "SLACK_APP_TOKEN", "DISCORD_TOKEN"}  # fmt: skip


# -- Dockerfile ------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    pairs = dockerfile()
    last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    return pairs[last_from:]


def test_image_is_slim_and_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    base = stage[0][1]
    assert re.match(r"python:\$\{PYTHON_VERSION\}-slim$|python:3\.1[1-9]-slim", base), base
    args = dict(p for w, p in ((w, a.partition("=")[::2]) for w, a in dockerfile()) if w == "ARG")
    assert args.get("PYTHON_VERSION", "3.11") >= "3.11"
    users = [a for w, a in stage if w == "USER"]
    assert users, "the final stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000
    # Nothing after USER switches back, and the build tools stay in the build stage.
    assert not any(w == "RUN" and "pip install" in a for w, a in stage)
    assert any(w == "COPY" and a.startswith("--from=build /opt/venv") for w, a in stage)


def test_image_has_healthcheck_entrypoint_and_no_baked_secrets() -> None:
    stage = final_stage()
    words = [w for w, _ in stage]
    for needed in ("HEALTHCHECK", "ENTRYPOINT", "CMD", "EXPOSE"):
        assert needed in words, f"{needed} missing"
    entry = json.loads(next(a for w, a in stage if w == "ENTRYPOINT"))
    cmd = json.loads(next(a for w, a in stage if w == "CMD"))
    assert entry == ["communitybot"] and cmd == ["run"], "exec form: SIGTERM reaches the bot"
    assert "3000" in next(a for w, a in stage if w == "EXPOSE")
    env = " ".join(a for w, a in stage if w in ("ENV", "ARG"))
    for name in SECRET_ENV:
        assert name not in env, f"{name} must come from the environment, not the image"
    assert "COMMUNITYBOT_HTTP_HOST=0.0.0.0" in env, "reachable from outside the container"


def test_every_path_the_build_copies_exists_and_is_not_dockerignored() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must in (".git", "tests", "**/*.db", ".venv", "**/.env"):
        assert must in ignored, f".dockerignore should leave out {must}"
    sources = []
    for word, rest in dockerfile():
        if word == "COPY" and not rest.startswith("--from"):
            sources += rest.split()[:-1]
    assert sources, "the build copies the project"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source not in ignored, f"{source} is copied but .dockerignore drops it"


def healthcheck_command() -> list[str]:
    line = next(a for w, a in final_stage() if w == "HEALTHCHECK")
    return json.loads(line[line.index("CMD") + 3 :].strip())


async def test_healthcheck_command_passes_on_a_healthy_bot_and_fails_otherwise(
    tmp_path: Path,
) -> None:
    import asyncio

    command = healthcheck_command()
    assert command[0] == "python"
    app = App(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", {}, http_port=0),
        console_user="olu",
        timer=False,
    )
    await app.start()

    async def run_check() -> int:
        env = {**os.environ, "COMMUNITYBOT_HTTP_PORT": str(app.http_port)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *command[1:],
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await asyncio.wait_for(proc.wait(), 20)

    try:
        assert await run_check() == 0
    finally:
        await app.stop()
    assert await run_check() != 0, "nothing listens any more"


# -- Kubernetes -------------------------------------------------------------------------------


def manifests(*folders: str) -> list[dict[str, Any]]:
    docs = []
    for folder in folders:
        for path in sorted((DEPLOY / folder).glob("*.yaml")):
            docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind}s"
    return found[0]


LAYOUTS = {"single": "Deployment", "replicas": "StatefulSet"}


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
    docs = manifests("common", request.param)
    yield docs, one(docs, LAYOUTS[request.param])


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(workload)["env"]}


def test_every_manifest_parses_and_names_its_kind() -> None:
    docs = manifests("common", "single", "replicas")
    assert {d["kind"] for d in docs} == {
        "ConfigMap", "Service", "Deployment", "StatefulSet"
    }  # fmt: skip
    for doc in docs:
        assert doc["apiVersion"] in ("v1", "apps/v1") and doc["metadata"]["name"]


def test_probes_liveness_on_healthz_and_readiness_on_readyz(layout: Any) -> None:
    _, workload = layout
    box = container(workload)
    ports = {p["name"]: p["containerPort"] for p in box["ports"]}
    assert box["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert box["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert box["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert box[probe]["httpGet"]["port"] == "http"
    env = env_of(workload)
    assert str(ports["http"]) == env["COMMUNITYBOT_HTTP_PORT"]["value"]
    assert env["COMMUNITYBOT_HTTP_HOST"]["value"] == "0.0.0.0"
    assert str(ports["metrics"]) == env["COMMUNITYBOT_METRICS_PORT"]["value"]
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["metrics"])


def test_secrets_come_from_a_secret_and_config_from_the_configmap(layout: Any) -> None:
    docs, workload = layout
    env = env_of(workload)
    for name in SECRET_ENV & set(env):
        assert "value" not in env[name], f"{name} must not be written in the manifest"
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "communitybot"
    assert {"COMMUNITYBOT_DATABASE_URL", "SLACK_BOT_TOKEN", "DISCORD_TOKEN"} <= set(env)
    assert "optional" not in env["COMMUNITYBOT_DATABASE_URL"]["valueFrom"]["secretKeyRef"]

    config_map = one(docs, "ConfigMap")
    pod = workload["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = next(m for m in container(workload)["volumeMounts"] if m["name"] == volume["name"])
    (key,) = config_map["data"]
    assert env["COMMUNITYBOT_CONFIG"]["value"] == f"{mount['mountPath']}/{key}"
    # The TOML is valid for the bot, not just for YAML.
    parse_file_config(tomllib.loads(config_map["data"][key]))


def test_pods_run_locked_down_and_stop_gracefully(layout: Any) -> None:
    docs, workload = layout
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 1000
    box = container(workload)["securityContext"]
    assert box["allowPrivilegeEscalation"] is False and box["readOnlyRootFilesystem"] is True
    assert box["capabilities"]["drop"] == ["ALL"]
    # Kubernetes must wait longer than the bot's own bounded stop before it sends SIGKILL.
    worst = STOP_GRACE + 2 * ADAPTER_STOP_MIN + SHUTDOWN_TIMEOUT  # Slack and Discord both
    assert pod["terminationGracePeriodSeconds"] > worst
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for service in (d for d in docs if d["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in {p["name"] for p in container(workload)["ports"]}


def test_statefulset_turns_the_pod_ordinal_into_the_discord_shard(tmp_path: Path) -> None:
    docs = manifests("common", "replicas")
    workload = one(docs, "StatefulSet")
    spec = workload["spec"]
    env = env_of(workload)
    assert int(env["DISCORD_SHARD_COUNT"]["value"]) == spec["replicas"] > 1
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    headless = next(d for d in docs if d["metadata"]["name"] == spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"

    # Run the container's command with a stand-in `communitybot` that prints what it got.
    stand_in = tmp_path / "communitybot"
    stand_in.write_text('#!/bin/sh\necho "$DISCORD_SHARD_IDS/$DISCORD_SHARD_COUNT $*"\n')
    stand_in.chmod(0o755)
    box = container(workload)
    command = [*box["command"], *box["args"]]
    for ordinal in range(spec["replicas"]):
        result = subprocess.run(
            command,
            env={
                "PATH": f"{tmp_path}:/usr/bin:/bin",
                "POD_NAME": f"{workload['metadata']['name']}-{ordinal}",
                "DISCORD_SHARD_COUNT": env["DISCORD_SHARD_COUNT"]["value"],
            },
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        assert result.stdout.strip() == f"{ordinal}/{spec['replicas']} run", shlex.join(command)
    # `exec` keeps the bot as the process that receives SIGTERM.
    assert "exec communitybot run" in box["args"][-1]


def test_the_settings_a_pod_gets_are_valid(layout: Any) -> None:
    from bot.app import load_settings

    _, workload = layout
    env = {k: v.get("value", "x") for k, v in env_of(workload).items() if "fieldRef" not in str(v)}
    env["COMMUNITYBOT_DATABASE_URL"] = "postgresql://bot:pw@db:5432/bot"
    env.pop("COMMUNITYBOT_CONFIG")
    if workload["kind"] == "StatefulSet":
        env["DISCORD_SHARD_IDS"] = str(workload["spec"]["replicas"] - 1)
    settings = load_settings(None, env)
    assert settings.platform_problems() == []
    assert settings.metrics_port == 9100 and settings.log_format == "json"


def test_the_installed_package_carries_all_code_and_migrations() -> None:
    """The image installs the project (`pip install .`): every module must be in a package."""
    from setuptools import find_packages

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = set(find_packages(str(ROOT), include=include))
    copied = {
        rest.split()[0]
        for word, rest in dockerfile()
        if word == "COPY" and not rest.startswith("--from")
    }
    for top in ("bot", "migrations"):
        assert top in copied or any(c.startswith(top) for c in copied)
        for module in (ROOT / top).rglob("*.py"):
            if "__pycache__" in module.parts:
                continue
            package = ".".join(module.relative_to(ROOT).parent.parts)
            assert package in packages, f"{module.relative_to(ROOT)} would be left out"
    versions = list((ROOT / "migrations" / "versions").glob("0*.py"))
    assert versions and "migrations.versions" in packages
