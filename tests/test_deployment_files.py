"""The deployment files agree with the code: commands, environment names, probes, Redis AOF and
Redis users.

No container engine is needed: the files are parsed and compared with ``pyproject.toml`` and the
services' settings classes.
"""

from __future__ import annotations

import importlib
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.notifications.settings import NotificationsSettings
from services.portfolio.settings import PortfolioSettings
from services.scheduling.settings import SchedulingSettings
from shared.messaging.acl import system_users
from shared.messaging.acl_cli import password_variable, service_specs

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init-databases.sql"
K8S_DIR = ROOT / "deploy" / "k8s"

SETTINGS: dict[str, type[BaseSettings]] = {
    "portfolio": PortfolioSettings,
    "scheduling": SchedulingSettings,
    "notifications": NotificationsSettings,
}
SERVICES = sorted(SETTINGS)


def accepted_env_names(settings_class: type[BaseSettings]) -> set[str]:
    """Environment names the settings class reads: its aliases, else prefix + field name."""
    prefix = settings_class.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(choice.upper() for choice in alias.choices if isinstance(choice, str))
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def env_name(settings_class: type[BaseSettings], field_name: str) -> str:
    """The environment name of one field, e.g. ``PORTFOLIO_DATABASE_URL``."""
    alias = settings_class.model_fields[field_name].validation_alias
    if isinstance(alias, str):
        return alias.upper()
    prefix = settings_class.model_config.get("env_prefix", "")
    return f"{prefix}{field_name}".upper()


def console_scripts() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["project"]["scripts"]


def command_words(command: str | list[str] | None) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services = compose.get("services", {})
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def compose_environment(service: dict[str, Any]) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.split("=", 1) for item in environment)
        return {pair[0]: (pair[1] if len(pair) == 2 else None) for pair in pairs}
    return {name: (None if value is None else str(value)) for name, value in environment.items()}


def k8s_documents() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted([*K8S_DIR.glob("*.yaml"), *K8S_DIR.glob("*.yml")]):
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    matches = [
        doc
        for doc in k8s_documents()
        if doc.get("kind") == kind and doc.get("metadata", {}).get("name") == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name!r} in deploy/k8s, found {len(matches)}"
    return matches[0]


def k8s_container(name: str) -> dict[str, Any]:
    containers = k8s_object("Deployment", name)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"Deployment {name!r} should run one container"
    return containers[0]


def k8s_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


# --- console scripts ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_console_script_target_imports_and_is_callable(service: str) -> None:
    target = console_scripts()[f"slc-{service}"]
    module_name, _, function_name = target.partition(":")
    assert module_name.startswith(f"services.{service}."), target
    function = getattr(importlib.import_module(module_name), function_name)
    assert callable(function)


# --- docker-compose.yml ------------------------------------------------------------------------


def test_compose_builds_each_service_from_the_dockerfile(compose: dict[str, Any]) -> None:
    for service in SERVICES:
        build = compose_service(compose, service).get("build")
        assert isinstance(build, dict), f"{service} has no build section"
        context = ROOT / build.get("context", ".")
        assert context.resolve() == ROOT
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE.resolve()


@pytest.mark.parametrize("service", SERVICES)
def test_compose_command_is_the_services_console_script(
    compose: dict[str, Any], service: str
) -> None:
    words = command_words(compose_service(compose, service).get("command"))
    assert words, f"{service} has no command"
    scripts = console_scripts()
    assert words[0] in scripts, f"{words[0]!r} is not in [project.scripts]"
    assert words[0] == f"slc-{service}"
    module_name, _, function_name = scripts[words[0]].partition(":")
    assert callable(getattr(importlib.import_module(module_name), function_name))


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_only_environment_the_settings_read(
    compose: dict[str, Any], service: str
) -> None:
    environment = compose_environment(compose_service(compose, service))
    unknown = set(environment) - accepted_env_names(SETTINGS[service])
    assert not unknown, f"{service} sets environment its settings do not read: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_redis_and_the_services_own_database(
    compose: dict[str, Any], service: str
) -> None:
    settings = SETTINGS[service]
    environment = compose_environment(compose_service(compose, service))
    assert environment.get(env_name(settings, "redis_url"), "").startswith("redis://")
    database_url = environment.get(env_name(settings, "database_url")) or ""
    assert database_url.startswith("postgresql+asyncpg://"), database_url
    assert database_url.rsplit("/", 1)[-1] == service, "each service uses its own database"
    assert environment.get(env_name(settings, "host")) == "0.0.0.0"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_requires_the_jwt_secret_and_leaves_consumer_name_unset(
    compose: dict[str, Any], service: str
) -> None:
    settings = SETTINGS[service]
    environment = compose_environment(compose_service(compose, service))
    secret = environment.get(env_name(settings, "jwt_secret")) or ""
    assert re.fullmatch(r"\$\{AUTH_JWT_SECRET:\?[^}]*\}", secret), secret
    assert env_name(settings, "consumer_name") not in environment


@pytest.mark.parametrize("service", SERVICES)
def test_every_deployment_names_its_district(compose: dict[str, Any], service: str) -> None:
    """One deployment serves one district: compose requires DISTRICT_ID, k8s takes it from
    the slc-config ConfigMap (which sets it)."""
    name = env_name(SETTINGS[service], "district_id")
    assert name == "DISTRICT_ID"
    district = compose_environment(compose_service(compose, service)).get(name) or ""
    assert re.fullmatch(r"\$\{DISTRICT_ID:\?[^}]*\}", district), district
    entry = k8s_env(k8s_container(service))[name]
    assert entry["valueFrom"]["configMapKeyRef"] == {"name": "slc-config", "key": name}
    configmap = yaml.safe_load((ROOT / "deploy" / "k8s" / "configmap.yaml").read_text())
    assert configmap["data"][name]


def test_both_services_that_need_the_districts_time_zone_read_the_same_one(
    compose: dict[str, Any],
) -> None:
    """A school the roster gives no time zone: portfolio and notifications must agree on its
    clock, so both come from one DISTRICT_TIMEZONE."""
    configmap = yaml.safe_load((K8S_DIR / "configmap.yaml").read_text())["data"]
    assert configmap["DISTRICT_TIMEZONE"]
    for service, field in (("portfolio", "site_timezone"), ("notifications", "timezone")):
        name = env_name(SETTINGS[service], field)
        setting = compose_environment(compose_service(compose, service)).get(name) or ""
        assert setting.startswith("${DISTRICT_TIMEZONE"), (service, setting)
        entry = k8s_env(k8s_container(service))[name]
        assert entry["valueFrom"]["configMapKeyRef"] == {
            "name": "slc-config",
            "key": "DISTRICT_TIMEZONE",
        }


@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_two_replicas_that_wait_for_healthy_redis_and_postgres(
    compose: dict[str, Any], service: str
) -> None:
    definition = compose_service(compose, service)
    assert definition.get("deploy", {}).get("replicas") == 2
    assert "container_name" not in definition, "a fixed container name allows one replica"
    depends_on = definition.get("depends_on")
    assert isinstance(depends_on, dict)
    for dependency in ("redis", "postgres"):
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy"
        assert compose_service(compose, dependency).get("healthcheck", {}).get("test")


@pytest.mark.parametrize("service", SERVICES)
def test_compose_healthcheck_probes_readyz_on_the_services_port(
    compose: dict[str, Any], service: str
) -> None:
    definition = compose_service(compose, service)
    port = compose_environment(definition).get(env_name(SETTINGS[service], "port"))
    assert port and port.isdigit()
    test = " ".join(command_words(definition.get("healthcheck", {}).get("test")))
    assert f":{port}/readyz" in test, test
    assert not definition.get("ports"), "replicated services publish no fixed host ports"


def test_redis_runs_with_append_only_file(compose: dict[str, Any]) -> None:
    redis = compose_service(compose, "redis")
    assert str(redis.get("image", "")).startswith("redis:7")
    words = command_words(redis.get("command"))
    assert words[:1] == ["redis-server"]
    assert "--appendonly" in words
    assert words[words.index("--appendonly") + 1] == "yes"
    assert "--appendfsync" in words
    assert words[words.index("--appendfsync") + 1] == "everysec"
    volumes = [str(volume) for volume in redis.get("volumes", [])]
    assert any(volume.split(":")[1] == "/data" for volume in volumes if ":" in volume)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_connects_each_service_as_its_own_redis_user(
    compose: dict[str, Any], service: str
) -> None:
    environment = compose_environment(compose_service(compose, service))
    variable = password_variable(service)
    expected = rf"redis://{service}:\$\{{{variable}:\?[^}}]*\}}@redis:6379/0"
    assert re.fullmatch(expected, environment[env_name(SETTINGS[service], "redis_url")] or "")


def test_redis_starts_with_the_acl_file_slc_redis_acl_writes_from_every_users_password(
    compose: dict[str, Any],
) -> None:
    redis = compose_service(compose, "redis")
    words = command_words(redis.get("command"))
    acl_path = words[words.index("--aclfile") + 1]
    mounts = dict(volume_mount(volume) for volume in redis.get("volumes", []))
    acl_volume = next(v for v, target in mounts.items() if acl_path.startswith(target + "/"))

    writer = compose_service(compose, "redis-acl")
    command = command_words(writer.get("command"))
    assert command[0] == "slc-redis-acl" and command[0] in console_scripts()
    output = command[command.index("--output") + 1]
    written = dict(volume_mount(volume) for volume in writer.get("volumes", []))
    assert output.removeprefix(written[acl_volume] + "/") == acl_path.removeprefix(
        mounts[acl_volume] + "/"
    ), "redis reads another file than redis-acl writes"
    assert redis["depends_on"]["redis-acl"]["condition"] == "service_completed_successfully"

    environment = compose_environment(writer)
    for user in system_users(service_specs()):
        variable = password_variable(user.name)
        assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]*\}}", environment.get(variable) or "")


def test_redis_health_check_authenticates_and_looks_for_pong(compose: dict[str, Any]) -> None:
    redis = compose_service(compose, "redis")
    test = " ".join(command_words(redis["healthcheck"]["test"]))
    assert "--user admin" in test and "PONG" in test, test
    assert (
        compose_environment(redis)["REDISCLI_AUTH"]
        == "${REDIS_ADMIN_PASSWORD:?set REDIS_ADMIN_PASSWORD}"
    )


def volume_mount(volume: str) -> tuple[str, str]:
    """``name:/target[:ro]`` as (name, target)."""
    name, target, *_ = str(volume).split(":")
    return name, target


def test_postgres_init_script_creates_one_database_per_service(compose: dict[str, Any]) -> None:
    postgres = compose_service(compose, "postgres")
    assert str(postgres.get("image", "")).startswith("postgres:15")
    mounts = [str(volume).split(":") for volume in postgres.get("volumes", [])]
    assert any(
        (ROOT / mount[0]).resolve() == POSTGRES_INIT.resolve()
        and mount[1].startswith("/docker-entrypoint-initdb.d/")
        for mount in mounts
        if len(mount) >= 2
    ), "init-databases.sql is not mounted into /docker-entrypoint-initdb.d"
    assert any(mount[1] == "/var/lib/postgresql/data" for mount in mounts if len(mount) >= 2)
    created = re.findall(r"CREATE\s+DATABASE\s+(\w+)", POSTGRES_INIT.read_text(), re.IGNORECASE)
    assert sorted(created) == SERVICES


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_installs_the_project_as_a_non_root_user() -> None:
    assert DOCKERFILE.is_file()
    instructions = [
        line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip()[:1] != "#"
    ]
    from_lines = [line for line in instructions if line.upper().startswith("FROM ")]
    assert from_lines and all("python:3.11-slim" in line for line in from_lines)
    assert any(
        re.search(r"\bpip install\b(\s+--?[\w-]+)*\s+\.(\s|$)", line) for line in instructions
    )
    users = [line.split()[1] for line in instructions if line.upper().startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    patterns = {
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git"} <= patterns
    assert "README.md" not in patterns, "pyproject.toml names README.md as the readme"


# --- Kubernetes --------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_command_is_the_services_console_script(service: str) -> None:
    container = k8s_container(service)
    words = [*command_words(container.get("command")), *command_words(container.get("args"))]
    assert words, f"Deployment {service!r} sets no command"
    assert words[0] in console_scripts()
    assert words[0] == f"slc-{service}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_sets_only_environment_the_settings_read(service: str) -> None:
    container = k8s_container(service)
    assert "envFrom" not in container, "name each variable so its name can be checked"
    unknown = set(k8s_env(container)) - accepted_env_names(SETTINGS[service])
    assert not unknown, f"{service} sets environment its settings do not read: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_takes_secrets_and_its_own_redis_user_from_slc_secrets(
    service: str,
) -> None:
    settings = SETTINGS[service]
    env = k8s_env(k8s_container(service))
    for field_name in ("jwt_secret", "database_url", "redis_url"):
        name = env_name(settings, field_name)
        assert name in env, f"{service} does not set {name}"
        reference = env[name].get("valueFrom", {}).get("secretKeyRef", {})
        assert reference.get("name") == "slc-secrets", f"{name} is not from slc-secrets"
        assert "value" not in env[name]
    # Each service its own Redis URL (its user and password), not one shared by all.
    redis_reference = env[env_name(settings, "redis_url")]["valueFrom"]["secretKeyRef"]
    assert redis_reference["key"] == f"{service.upper()}_REDIS_URL"
    assert env_name(settings, "consumer_name") not in env
    assert env[env_name(settings, "host")].get("value") == "0.0.0.0"


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_runs_two_replicas_with_health_probes(service: str) -> None:
    deployment = k8s_object("Deployment", service)
    assert deployment["spec"]["replicas"] == 2
    container = k8s_container(service)
    port = int(k8s_env(container)[env_name(SETTINGS[service], "port")]["value"])
    ports = {entry.get("name"): entry["containerPort"] for entry in container["ports"]}
    assert port in ports.values()

    def probe_target(probe: str) -> tuple[str, int]:
        http_get = container.get(probe, {}).get("httpGet", {})
        target = http_get.get("port")
        return http_get.get("path"), ports.get(target, target)

    assert probe_target("readinessProbe") == ("/readyz", port)
    assert probe_target("livenessProbe") == ("/healthz", port)
    security = deployment["spec"]["template"]["spec"].get("securityContext", {})
    assert security.get("runAsNonRoot") is True


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_service_selects_the_deployment_and_targets_its_port(service: str) -> None:
    deployment = k8s_object("Deployment", service)
    k8s_service = k8s_object("Service", service)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = k8s_service["spec"]["selector"]
    assert selector and selector.items() <= pod_labels.items()
    container = k8s_container(service)
    port_names = {entry.get("name"): entry["containerPort"] for entry in container["ports"]}
    for entry in k8s_service["spec"]["ports"]:
        target = entry.get("targetPort", entry["port"])
        assert port_names.get(target, target) in port_names.values()


# --- the web front ---------------------------------------------------------------------------


def test_compose_runs_the_web_front_in_front_of_the_services(compose: dict[str, Any]) -> None:
    """Its console script, only environment its settings read, the services at their compose
    names, behind the district's proxy at WEB_PUBLIC_URL, sign-in through the district's
    identity provider, two replicas once the services are healthy, /readyz probed."""
    from services.web.settings import WebSettings

    web = compose_service(compose, "web")
    assert command_words(web.get("command")) == ["slc-web"]
    assert "slc-web" in console_scripts()
    environment = compose_environment(web)
    unknown = set(environment) - accepted_env_names(WebSettings)
    assert not unknown, f"web sets environment its settings do not read: {sorted(unknown)}"
    for service, port in (("portfolio", 8001), ("scheduling", 8002), ("notifications", 8003)):
        assert environment[f"WEB_{service.upper()}_URL"] == f"http://{service}:{port}"
        assert web["depends_on"][service]["condition"] == "service_healthy"
    for required in (
        "WEB_PUBLIC_URL",
        "WEB_SESSION_SECRET",
        "WEB_OIDC_ISSUER",
        "WEB_OIDC_CLIENT_ID",
        "DISTRICT_ID",
    ):
        assert re.fullmatch(rf"\$\{{{required}:\?[^}}]*\}}", environment[required] or ""), required
    # A public client (PKCE only) has no secret.
    assert environment["WEB_OIDC_CLIENT_SECRET"] == "${WEB_OIDC_CLIENT_SECRET:-}"
    assert environment["WEB_HOST"] == "0.0.0.0" and "WEB_DEV_SIGN_IN" not in environment
    assert web.get("deploy", {}).get("replicas") == 2 and not web.get("ports")
    port = environment["WEB_PORT"]
    test = " ".join(command_words(web.get("healthcheck", {}).get("test")))
    assert f":{port}/readyz" in test, test


def test_a_familys_link_opens_the_web_front_in_its_messages_language(
    compose: dict[str, Any],
) -> None:
    environment = compose_environment(compose_service(compose, "notifications"))
    link = environment["NOTIFICATIONS_FAMILY_LINK_URL"] or ""
    assert re.fullmatch(r"\$\{WEB_PUBLIC_URL:\?[^}]*\}/f\?link=\{token\}&lang=\{language\}", link)


def test_k8s_runs_the_web_front_with_only_environment_its_settings_read() -> None:
    from services.web.settings import WebSettings

    container = k8s_container("web")
    assert container["command"] == ["slc-web"]
    environment = k8s_env(container)
    assert set(environment) <= accepted_env_names(WebSettings)
    for secret in ("WEB_SESSION_SECRET", "WEB_OIDC_CLIENT_SECRET"):
        assert environment[secret]["valueFrom"]["secretKeyRef"]["name"] == "slc-secrets"
    assert environment["WEB_SCHEDULING_URL"]["value"] == "http://scheduling:8002"
    service = k8s_object("Service", "web")
    assert service["spec"]["ports"][0]["port"] == 8000
    configmap = yaml.safe_load((K8S_DIR / "configmap.yaml").read_text())["data"]
    link = configmap["NOTIFICATIONS_FAMILY_LINK_URL"]
    assert link == f"{configmap['WEB_PUBLIC_URL']}/f?link={{token}}&lang={{language}}"
    assert "NOTIFICATIONS_FAMILY_LINK_URL" in k8s_env(k8s_container("notifications"))


def test_k8s_notifications_takes_bounce_address_and_reports_secret_when_the_district_sets_them() -> (
    None
):
    env = k8s_env(k8s_container("notifications"))
    bounce = env["NOTIFICATIONS_BOUNCE_ADDRESS"]["valueFrom"]["configMapKeyRef"]
    assert bounce == {"name": "slc-config", "key": "BOUNCE_ADDRESS", "optional": True}
    token = env["NOTIFICATIONS_MAIL_REPORTS_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == {"name": "slc-secrets", "key": "MAIL_REPORTS_TOKEN", "optional": True}
    configmap = (K8S_DIR / "configmap.yaml").read_text()
    assert "# BOUNCE_ADDRESS: " in configmap  # documented there, unset by default


@pytest.mark.parametrize("service", SERVICES)
def test_the_services_accept_the_identity_providers_tokens_the_pages_call_them_with(
    compose: dict[str, Any], service: str
) -> None:
    """The web front signs staff and students in with the identity provider and calls the
    services with its access tokens: each service verifies them with the provider's keys and
    issuer (the pages' own), in compose and in Kubernetes, and keeps the deployment's secret
    for its own tokens beside them."""
    settings = SETTINGS[service]
    environment = compose_environment(compose_service(compose, service))
    web = compose_environment(compose_service(compose, "web"))
    jwks, issuer = env_name(settings, "jwks_url"), env_name(settings, "jwt_issuer")
    assert re.fullmatch(r"\$\{AUTH_JWKS_URL:\?[^}]*\}", environment[jwks] or "")
    assert re.fullmatch(r"\$\{WEB_OIDC_ISSUER:\?[^}]*\}", environment[issuer] or "")
    assert re.fullmatch(r"\$\{WEB_OIDC_ISSUER:\?[^}]*\}", web["WEB_OIDC_ISSUER"] or "")
    env = k8s_env(k8s_container(service))
    configmap = yaml.safe_load((K8S_DIR / "configmap.yaml").read_text())["data"]
    for name, key in ((jwks, "AUTH_JWKS_URL"), (issuer, "WEB_OIDC_ISSUER")):
        assert env[name]["valueFrom"]["configMapKeyRef"] == {"name": "slc-config", "key": key}
        assert configmap[key].startswith("https://")
    assert (
        k8s_env(k8s_container("web"))["WEB_OIDC_ISSUER"]["valueFrom"]["configMapKeyRef"]["key"]
        == "WEB_OIDC_ISSUER"
    )


def test_portfolio_reaches_notifications_and_its_replicas_share_files_and_uploads(
    compose: dict[str, Any],
) -> None:
    """A roster import hands contact details to notifications at its in-network address, and
    may run on the replica the export was not uploaded to: the uploads' directory, and the
    work samples' files, are volumes both replicas mount (compose), or a bucket and a
    ReadWriteMany claim (Kubernetes, whose containers' file systems are read-only)."""
    portfolio = compose_service(compose, "portfolio")
    environment = compose_environment(portfolio)
    notifications_port = compose_environment(compose_service(compose, "notifications"))[
        "NOTIFICATIONS_PORT"
    ]
    assert (
        environment["PORTFOLIO_NOTIFICATIONS_URL"] == f"http://notifications:{notifications_port}"
    )
    defaults = PortfolioSettings()
    workdir = re.findall(r"^WORKDIR (\S+)$", DOCKERFILE.read_text(), re.MULTILINE)[-1]
    files_dir = str(Path(workdir) / defaults.files_url.removeprefix("file:"))
    uploads_dir = str(Path(workdir) / defaults.roster_upload_dir)
    assert "PORTFOLIO_FILES_URL" not in environment  # (the default: file:./var/portfolio-files)
    mounts = dict(reversed(volume.split(":")[:2]) for volume in portfolio.get("volumes", []))
    made = re.findall(r"mkdir -p ([^&\n]+)", DOCKERFILE.read_text())
    for directory in (files_dir, uploads_dir):
        assert mounts.get(directory) in compose["volumes"], (directory, mounts)
        assert any(directory in line.split() for line in made), f"the image makes no {directory}"

    env = k8s_env(k8s_container("portfolio"))
    assert env["PORTFOLIO_NOTIFICATIONS_URL"]["value"] == "http://notifications:8003"
    configmap = yaml.safe_load((K8S_DIR / "configmap.yaml").read_text())["data"]
    assert configmap[env["PORTFOLIO_FILES_URL"]["valueFrom"]["configMapKeyRef"]["key"]].startswith(
        "s3://"
    )
    pod = k8s_object("Deployment", "portfolio")["spec"]["template"]["spec"]
    (mount,) = [
        m
        for m in k8s_container("portfolio")["volumeMounts"]
        if m["mountPath"] == env["PORTFOLIO_ROSTER_UPLOAD_DIR"]["value"]
    ]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    claim = k8s_object("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
