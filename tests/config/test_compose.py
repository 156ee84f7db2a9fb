"""The container deployment: docker-compose.yml, deploy/nginx.conf, the Dockerfile.

Nothing here needs Docker: the files are parsed and held to the rules the deployment depends
on (two workers, Daphne by default, sharing one database, one Redis and one var volume behind
nginx).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ("web1", "web2")
REQUIRED_FROM_OPERATOR = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "ATRIUM_BASE_URL",
    "ATRIUM_MASTER_KEYS",
    "ATRIUM_EVIDENCE_KEY",
)
# What an operator's .env would provide, used to resolve ${...} references.
OPERATOR_ENV = {
    "SECRET_KEY": "operator-secret-" + "k" * 50,
    "ALLOWED_HOSTS": "portal.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
    "ATRIUM_BASE_URL": "https://portal.example.com",
    "POSTGRES_PASSWORD": "operator-db-password",
    "ATRIUM_MASTER_KEYS": "k1:" + "A" * 43 + "=",
    "ATRIUM_EVIDENCE_KEY": "B" * 43 + "=",
}


# --- docker-compose.yml ----------------------------------------------------------------------

_REFERENCE = re.compile(
    r"\$(?:\$|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)


class MissingVariableError(Exception):
    pass


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Resolve ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} as Compose."""

    def resolve(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        current = environ.get(name)
        missing = current is None or (op is not None and op.startswith(":") and current == "")
        if op in {"?", ":?"} and missing:
            raise MissingVariableError(f"{name}: {arg}")
        if op in {"-", ":-"} and missing:
            return arg
        return current or ""

    return _REFERENCE.sub(resolve, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: Mapping[str, Any]) -> dict[str, Any]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in raw)
        return dict(pairs)
    return dict(raw)


def resolved_environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    return {
        key: None if value is None else interpolate(str(value), OPERATOR_ENV)
        for key, value in environment(service).items()
    }


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """Map each mount target in the container to its source (named volume or host path)."""
    result = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        result[target] = source
    return result


def command(service: Mapping[str, Any]) -> list[str]:
    """The service's command; for a service built from this repository, the image's CMD."""
    raw = service.get("command")
    if raw is None:
        return dockerfile_cmd() if "build" in service else []
    return shlex.split(raw) if isinstance(raw, str) else [str(part) for part in raw]


def option(argv: list[str], *names: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg in names and index + 1 < len(argv):
            return argv[index + 1]
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


# The server that measured best (docs/performance.md, "Servers"); ATRIUM_SERVER changes it.
DEFAULT_SERVER = "daphne"


def assert_runs_the_server(argv: list[str]) -> None:
    """Through config.serve, which gives the server the app's limits (config/serve.py)."""
    assert Path(argv[0]).name == "python" and argv[1:3] == ["-m", "config.serve"], argv
    assert "--proxy-headers" in argv, argv
    assert option(argv, "-b", "--bind") == "0.0.0.0", argv  # noqa: S104 (inside the container)
    assert option(argv, "-p", "--port") == "8000", argv


def test_stack_has_database_redis_migration_workers_and_proxy(services):
    assert {"db", "redis", "migrate", *WORKERS, "proxy"} <= set(services)


def test_exactly_two_workers_built_from_one_image(services):
    serving = {name for name, svc in services.items() if "config.serve" in " ".join(command(svc))}
    assert serving == set(WORKERS)
    for name in WORKERS:
        assert_runs_the_server(command(services[name]))
    first, second = (services[name] for name in WORKERS)
    assert first.get("image") == second.get("image")
    assert first.get("build") == second.get("build")
    build = first.get("build")
    assert build is not None, "the workers run the image built from this repository"
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile"


def test_workers_share_one_environment(services):
    first, second = (environment(services[name]) for name in WORKERS)
    assert first == second


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_runs_production_against_the_db_and_redis_services(services, worker):
    env = resolved_environment(services[worker])
    assert env["ATRIUM_ENV"] == "production"

    database = urlsplit(env["DATABASE_URL"])
    db_env = resolved_environment(services["db"])
    assert database.scheme in {"postgres", "postgresql", "pgsql"}
    assert (database.hostname, database.port) == ("db", 5432)
    assert database.path == f"/{db_env['POSTGRES_DB']}"
    assert database.username == db_env["POSTGRES_USER"]
    assert database.password == db_env["POSTGRES_PASSWORD"]

    redis = urlsplit(env["REDIS_URL"])
    assert redis.scheme == "redis"
    assert redis.hostname == "redis"
    assert redis.port in {None, 6379}


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_database_connections_are_not_persistent(services, worker):
    # settings.py defaults CONN_MAX_AGE to 60 for PostgreSQL; under ASGI every request runs
    # its ORM work on a short-lived thread, so persistent connections pile up unclosed.
    database = urlsplit(resolved_environment(services[worker])["DATABASE_URL"])
    assert parse_qs(database.query).get("conn_max_age") == ["0"]


@pytest.mark.parametrize("name", REQUIRED_FROM_OPERATOR)
@pytest.mark.parametrize("worker", WORKERS)
def test_worker_secrets_and_hosts_are_required_from_the_operator(services, worker, name):
    raw = environment(services[worker])[name]
    assert isinstance(raw, str)
    assert re.fullmatch(rf"\$\{{{name}:?\?[^}}]*\}}", raw), f"{name} must be ${{{name}:?...}}"
    without = {key: value for key, value in OPERATOR_ENV.items() if key != name}
    with pytest.raises(MissingVariableError):
        interpolate(raw, without)


def test_no_secret_is_written_into_the_compose_file(services):
    for name, service in services.items():
        env = environment(service)
        for key in ("SECRET_KEY", "POSTGRES_PASSWORD"):
            if key in env:
                assert re.fullmatch(rf"\$\{{{key}:?\?[^}}]*\}}", str(env[key])), (name, key)
        if "DATABASE_URL" in env:
            with pytest.raises(MissingVariableError):
                interpolate(env["DATABASE_URL"], {})


def test_workers_share_one_named_var_volume(compose, services):
    sources = set()
    for name in WORKERS:
        var_dir = resolved_environment(services[name])["ATRIUM_VAR_DIR"]
        assert var_dir and var_dir.startswith("/"), name
        source = mounts(services[name]).get(var_dir)
        assert source, f"{name} has no volume at ATRIUM_VAR_DIR={var_dir}"
        assert source in (compose.get("volumes") or {}), f"{source} is not a named volume"
        sources.add(source)
    assert len(sources) == 1


def test_var_volume_is_created_writable_for_the_image_user(services):
    # A named volume takes its owner from the image directory it is first mounted over.
    var_dir = resolved_environment(services["web1"])["ATRIUM_VAR_DIR"]
    assert dockerfile_env().get("ATRIUM_VAR_DIR") == var_dir
    user = dockerfile_user()
    assert any(
        var_dir in args and user in args and ("install -d" in args or "chown" in args)
        for args in dockerfile_instructions("RUN")
    )


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_waits_for_migrations_redis_and_db(services, worker):
    waits = depends_on(services[worker])
    assert waits.get("migrate") == "service_completed_successfully"
    assert waits.get("redis") == "service_healthy"
    assert waits.get("db") == "service_healthy"


def test_migrate_is_a_one_shot_with_the_worker_image_and_settings(services):
    migrate, worker = services["migrate"], services["web1"]
    argv = " ".join(command(migrate))
    assert "manage.py migrate --noinput" in argv
    assert migrate.get("restart", "no") == "no"
    assert depends_on(migrate).get("db") == "service_healthy"
    assert migrate.get("image") == worker.get("image")
    assert migrate.get("build") == worker.get("build")
    assert environment(migrate) == environment(worker)


def test_migrate_only_migrates(services):
    assert command(services["migrate"])[-3:] == ["manage.py", "migrate", "--noinput"]


def test_proxy_is_nginx_in_front_of_both_workers(services):
    proxy = services["proxy"]
    assert str(proxy["image"]).startswith("nginx:1.27")
    assert set(WORKERS) <= set(depends_on(proxy))
    targets = set()
    for port in proxy.get("ports") or []:
        if isinstance(port, dict):
            targets.add(str(port["target"]))
        else:
            targets.add(interpolate(str(port), {}).split(":")[-1].split("/")[0])
    assert "80" in targets
    config = mounts(proxy)["/etc/nginx/nginx.conf"]
    assert (ROOT / config).resolve() == ROOT / "deploy" / "nginx.conf"


@pytest.mark.parametrize(("name", "image"), [("db", "postgres:16"), ("redis", "redis:7")])
def test_backing_services_have_healthchecks(services, name, image):
    service = services[name]
    assert str(service["image"]).startswith(image)
    healthcheck = service.get("healthcheck") or {}
    assert not healthcheck.get("disable")
    test = healthcheck.get("test")
    assert test, f"{name} has no healthcheck"
    assert (test if isinstance(test, str) else test[0]) != "NONE"


def test_database_lives_in_a_named_volume(compose, services):
    source = mounts(services["db"]).get("/var/lib/postgresql/data")
    assert source in (compose.get("volumes") or {})


# --- deploy/nginx.conf ----------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None
    parent: Directive | None = field(default=None, repr=False)

    def all(self, name: str) -> list[Directive]:
        return [child for child in self.block or [] if child.name == name]

    def first(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[0] if found else None

    def inherited(self, name: str) -> list[Directive]:
        """nginx inheritance: the innermost level that sets `name` wins, outer ones are ignored."""
        node: Directive | None = self
        while node is not None:
            if found := node.all(name):
                return found
            node = node.parent
        return []


_NGINX_TOKEN = re.compile(
    r"""\s+|#[^\n]*|"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)'|([{};])|([^\s{};]+)"""
)


def parse_nginx(text: str) -> Directive:
    root = Directive("main", [], [])
    stack, words = [root], []
    for match in _NGINX_TOKEN.finditer(text):
        double, single, punct, word = match.groups()
        if punct == "{":
            directive = Directive(words[0], words[1:], [], stack[-1])
            stack[-1].block.append(directive)
            stack.append(directive)
            words = []
        elif punct == ";":
            stack[-1].block.append(Directive(words[0], words[1:], None, stack[-1]))
            words = []
        elif punct == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        elif double is not None or single is not None:
            words.append(double if double is not None else single)
        elif word is not None:
            words.append(word)
    assert len(stack) == 1 and not words, "unbalanced nginx.conf"
    return root


@pytest.fixture(scope="module")
def nginx_http() -> Directive:
    http = parse_nginx((ROOT / "deploy" / "nginx.conf").read_text()).first("http")
    assert http is not None
    return http


def locations(http: Directive) -> dict[str, Directive]:
    return {
        " ".join(location.args): location
        for server in http.all("server")
        for location in server.all("location")
    }


def headers(location: Directive) -> dict[str, str]:
    return {d.args[0].lower(): d.args[1] for d in location.inherited("proxy_set_header")}


def single(location: Directive, name: str) -> str | None:
    found = location.inherited(name)
    return found[-1].args[0] if found else None


def seconds(value: str) -> int:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d)?", value):
        total += int(number) * units[unit or "s"]
    return int(total)


def size_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * 1024 ** " kmg".index(unit.lower() or " ")


def mapped_from(http: Directive, variable: str) -> tuple[str, dict[str, str]] | None:
    """The source variable and table of the `map` that defines `variable`."""
    for directive in http.all("map"):
        if directive.args[1] == variable:
            return directive.args[0], {d.name: " ".join(d.args) for d in directive.block}
    return None


def test_upstream_lists_both_workers_and_every_location_uses_it(nginx_http):
    upstreams = {
        u.args[0]: [s.args[0] for s in u.all("server")] for u in nginx_http.all("upstream")
    }
    passes = {single(location, "proxy_pass") for location in locations(nginx_http).values()}
    assert len(passes) == 1
    (target,) = passes
    name = urlsplit(target).hostname
    assert name in upstreams, f"proxy_pass {target} is not an upstream"
    assert {f"{worker}:8000" for worker in WORKERS} <= set(upstreams[name])


def test_websocket_location_upgrades_the_connection(nginx_http):
    websocket = locations(nginx_http)["/ws/"]
    assert single(websocket, "proxy_http_version") == "1.1"
    sent = headers(websocket)
    assert sent.get("upgrade") == "$http_upgrade"
    connection = sent.get("connection", "")
    assert connection.startswith("$"), "Connection must follow the client's Upgrade"
    source, table = mapped_from(nginx_http, connection) or (None, {})
    assert source == "$http_upgrade"
    assert table.get("default") == "upgrade"
    assert seconds(single(websocket, "proxy_read_timeout") or "60s") >= 3600


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/ws/",
        "~ ^/api/v1/vault/uploads/[^/]+$",
        "= /api/v1/vault/documents",
        "~ ^/api/v1/vault/documents/[^/]+/versions$",
    ],
)
def test_location_forwards_host_client_address_and_scheme(nginx_http, path):
    sent = headers(locations(nginx_http)[path])
    assert sent.get("host") == "$host"
    # Daphne --proxy-headers trusts the first X-Forwarded-For entry: overwrite, never append.
    assert sent.get("x-forwarded-for") == "$remote_addr"
    proto = sent.get("x-forwarded-proto", "")
    if proto != "$scheme":
        source, table = mapped_from(nginx_http, proto) or (None, {})
        assert source == "$http_x_forwarded_proto"
        assert "$scheme" in {table.get(""), table.get("default")}


def location_for(http: Directive, uri: str) -> Directive | None:
    """The location nginx picks for ``uri``: an exact match; else the longest matching prefix
    if it is ``^~``; else the first matching regular expression; else that prefix."""
    (server,) = http.all("server")
    prefixes: list[tuple[str, bool, Directive]] = []
    expressions: list[tuple[re.Pattern, Directive]] = []
    for location in server.all("location"):
        modifier, *rest = location.args
        if modifier == "=" and rest == [uri]:
            return location
        if modifier in {"~", "~*"}:
            flags = re.IGNORECASE if modifier == "~*" else 0
            expressions.append((re.compile(rest[0], flags), location))
        elif modifier == "^~":
            prefixes.append((rest[0], True, location))
        elif modifier != "=":
            prefixes.append((modifier, False, location))
    matching = [p for p in prefixes if uri.startswith(p[0])]
    longest = max(matching, key=lambda p: len(p[0]), default=None)
    if longest is not None and longest[1]:
        return longest[2]
    for pattern, location in expressions:
        if pattern.search(uri):
            return location
    return longest[2] if longest else None


def body_limit(http: Directive, uri: str) -> int:
    location = location_for(http, uri)
    assert location is not None, f"no location serves {uri}"
    return size_bytes(single(location, "client_max_body_size") or "1m")


# The workers' own limits (config.bodies): what nginx must let through, and no more.
VAULT_MAX_BYTES_DEFAULT = 2 * 1024**3
UPLOAD_LIMITS = {
    "/api/v1/vault/uploads/upl_abc": "part",
    "/api/v1/vault/documents": "file",
    "/api/v1/vault/documents/doc_abc/versions": "file",
}
SMALL_BODY_PATHS = [
    "/",
    "/login/",
    "/ws/",
    "/admin/accounts/user/",
    "/api/v1/me",
    "/api/v1/vault/uploads",
    "/api/v1/vault/uploads/upl_abc/complete",
    "/api/v1/vault/documents/doc_abc",
    "/api/v1/vault/documents/doc_abc/access-grants",
    "/api/v1/vault/folders",
    "/api/v1/vault/documents/doc_abc/versions/more",
]


@pytest.mark.parametrize("uri", SMALL_BODY_PATHS)
def test_bodies_are_small_outside_the_vaults_upload_paths(nginx_http, uri):
    from config.bodies import BODY_MAX_BYTES

    assert body_limit(nginx_http, uri) <= BODY_MAX_BYTES


@pytest.mark.parametrize(("uri", "kind"), UPLOAD_LIMITS.items())
def test_vault_upload_paths_take_what_the_workers_take_and_stream_it(nginx_http, uri, kind):
    from vault.sessions import PART_BYTES
    from vault.uploads import FORM_SLACK

    wanted = PART_BYTES + FORM_SLACK if kind == "part" else VAULT_MAX_BYTES_DEFAULT + FORM_SLACK
    limit = body_limit(nginx_http, uri)
    assert wanted <= limit <= wanted + 16 * 1024**2
    location = location_for(nginx_http, uri)
    assert single(location, "proxy_request_buffering") == "off"
    sent = headers(location)
    assert sent.get("host") == "$host"
    assert sent.get("x-forwarded-for") == "$remote_addr"
    assert sent.get("connection") == ""


# --- Dockerfile -----------------------------------------------------------------------------


def dockerfile_instructions(kind: str) -> list[str]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            if instruction.upper() == kind:
                result.append(" ".join(args.split()))
    return result


def dockerfile_env() -> dict[str, str]:
    env = {}
    for args in dockerfile_instructions("ENV"):
        parts = shlex.split(args)
        if "=" not in parts[0]:
            env[parts[0]] = " ".join(parts[1:])
        else:
            env.update(part.split("=", 1) for part in parts)
    return env


def dockerfile_user() -> str:
    users = dockerfile_instructions("USER")
    assert users, "the image must switch to a non-root USER"
    return users[-1].split(":")[0]


def dockerfile_cmd() -> list[str]:
    (cmd,) = dockerfile_instructions("CMD")[-1:]
    return json.loads(cmd)


def test_image_is_python_slim_and_runs_as_a_created_non_root_user():
    assert dockerfile_instructions("FROM")[0].split()[0] == "python:3.12-slim"
    user = dockerfile_user()
    assert user not in {"root", "0", ""}
    assert any(
        re.search(r"\b(useradd|adduser)\b", args) and re.search(rf"\b{re.escape(user)}\b", args)
        for args in dockerfile_instructions("RUN")
    ), f"user {user} is never created"


def test_workers_run_the_measured_default_and_trust_only_their_proxy(services):
    for name in WORKERS:
        env = resolved_environment(services[name])
        assert env["ATRIUM_SERVER"] == DEFAULT_SERVER
        # Reachable only through nginx: the port is exposed to the network, never published.
        assert env["ATRIUM_TRUSTED_PROXIES"] == "*"
        assert not services[name].get("ports")
    chosen = interpolate(
        str(environment(services[WORKERS[0]])["ATRIUM_SERVER"]),
        {**OPERATOR_ENV, "ATRIUM_SERVER": "uvicorn"},
    )
    assert chosen == "uvicorn"


def test_image_command_serves_the_asgi_app():
    assert_runs_the_server(dockerfile_cmd())
    exposed = {port for args in dockerfile_instructions("EXPOSE") for port in args.split()}
    assert {"8000", "8000/tcp"} & exposed


def test_image_installs_the_project_and_collects_static_with_build_only_values():
    runs = dockerfile_instructions("RUN")
    install = next(
        i for i, args in enumerate(runs) if re.search(r"pip install (\S+ )*\.( |$)", args)
    )
    collect = next(i for i, args in enumerate(runs) if "manage.py collectstatic --noinput" in args)
    assert install < collect
    inline = dict(re.findall(r"\b([A-Z_]+)=(\S+)", runs[collect]))
    assert inline.get("ATRIUM_ENV") == "production"
    assert inline.get("ALLOWED_HOSTS")
    # Production settings refuse a key shorter than 50 characters or with under 5 distinct ones.
    secret = inline.get("SECRET_KEY", "")
    assert len(secret) >= 50 and len(set(secret)) >= 5
    # Production settings refuse to load without master keys; the build's is a placeholder.
    assert re.fullmatch(r"[\w.-]+:[A-Za-z0-9+/]{43}=", inline.get("ATRIUM_MASTER_KEYS", ""))
    # Likewise the evidence key.
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", inline.get("ATRIUM_EVIDENCE_KEY", ""))
    # Only inline: a SECRET_KEY or a key in ENV or ARG would be baked into the image.
    for name in ("SECRET_KEY", "ATRIUM_MASTER_KEYS", "ATRIUM_EVIDENCE_KEY"):
        assert name not in dockerfile_env()
        assert not any(args.split("=")[0] == name for args in dockerfile_instructions("ARG"))


def test_build_context_leaves_out_local_state():
    ignored = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", ".git", ".env"} <= ignored


def test_a_task_worker_runs_the_database_queue_with_the_web_environment(services):
    tasks = services["tasks"]
    assert command(tasks)[-2:] == ["manage.py", "db_worker"]
    assert environment(tasks) == environment(services["web1"])
    assert tasks["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
