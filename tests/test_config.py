"""Configuration precedence: environment over the user file over the shipped file; sections by ASTROFIN_ENV."""

import json
import logging

import pytest

from db.config import ConfigError, load_settings
from db.engine import libpq_env, make_engine, server_url
from db.paths import log_dir


def test_defaults_fall_back_to_the_embedded_server(tmp_path):
    settings = load_settings(env={}, user_file=tmp_path / "none.json")
    conn = settings.connection
    assert conn.environment == "development"
    assert conn.embedded
    assert (conn.database, conn.user, conn.port) == ("astrofinance", "postgres", 5432)


def test_environment_variables_fill_the_placeholders(tmp_path):
    env = {"DB_HOST": "db.branch.local", "DB_PORT": "6543", "DB_NAME": "branch1", "DB_PASSWORD": "s3cret"}
    conn = load_settings(env=env, user_file=tmp_path / "none.json").connection
    assert (conn.host, conn.port, conn.database, conn.password) == ("db.branch.local", 6543, "branch1", "s3cret")
    assert not conn.embedded


def test_user_file_overrides_the_shipped_file_and_environment_overrides_both(tmp_path):
    user_file = tmp_path / "database.config.json"
    user_file.write_text(json.dumps({"development": {"host": "from-file", "database": "${DB_NAME:-filedb}"},
                                     "backup": {"retention_count": "3"}}))
    settings = load_settings(env={}, user_file=user_file)
    assert settings.connection.host == "from-file"
    assert settings.connection.database == "filedb"
    assert settings.backup["retention_count"] == "3"
    assert settings.backup["retention_days"] == "30"  # untouched keys keep the shipped value
    assert str(user_file) in settings.sources
    settings = load_settings(env={"DB_NAME": "envdb"}, user_file=user_file)
    assert settings.connection.database == "envdb"


def test_sections_by_astrofin_env(tmp_path):
    none = tmp_path / "none.json"
    test_conn = load_settings(env={"ASTROFIN_ENV": "test", "TEST_DB_HOST": "/run/pg"}, user_file=none).connection
    assert test_conn.environment == "test"
    assert test_conn.host == "/run/pg"
    assert test_conn.database == "astrofinance_test"
    prod = load_settings(env={"ASTROFIN_ENV": "production", "PROD_DB_POOL_SIZE": "20"}, user_file=none)
    assert prod.connection.pool_size == 20
    assert prod.connection.ssl is True
    assert prod.connection.host == "localhost"
    # Only development falls back to the embedded server.
    empty_test = load_settings(env={"ASTROFIN_ENV": "test"}, user_file=none).connection
    assert not empty_test.embedded


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ASTROFIN_ENV": "staging"}, "ASTROFIN_ENV must be one of"),
        ({"DB_PORT": "five"}, "port must be a whole number"),
        ({"ASTROFIN_ENV": "production", "PROD_DB_SSL": "maybe"}, "ssl must be true or false"),
    ],
)
def test_bad_values_get_a_message_that_names_them(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env, user_file=tmp_path / "none.json")


def test_a_broken_user_file_is_named(tmp_path):
    user_file = tmp_path / "database.config.json"
    user_file.write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_settings(env={}, user_file=user_file)


def test_masked_settings_never_show_the_password(tmp_path):
    settings = load_settings(env={"DB_HOST": "h", "DB_PASSWORD": "hunter2-secret"}, user_file=tmp_path / "x")
    text = json.dumps(settings.masked())
    assert "hunter2-secret" not in text
    assert "********" in text


def test_a_socket_folder_host_is_passed_to_libpq_as_host(tmp_path):
    conn = load_settings(env={"DB_HOST": "/var/run/postgresql", "DB_PORT": "5433"}, user_file=tmp_path / "x").connection
    url = server_url(conn)
    assert url.host is None
    env = libpq_env(url)
    assert env["PGHOST"] == "/var/run/postgresql"
    assert env["PGPORT"] == "5433"


def test_several_hosts_become_libpqs_multi_host_string_asking_for_the_primary(tmp_path):
    env = {"DB_HOST": "db1.branch, db2.branch,db3.branch", "DB_PORT": "5432,5433,5434", "DB_CONNECT_TIMEOUT": "2"}
    conn = load_settings(env=env, user_file=tmp_path / "x").connection
    assert conn.endpoints == [("db1.branch", 5432), ("db2.branch", 5433), ("db3.branch", 5434)]
    assert conn.target_session_attrs == "read-write"  # several servers: the one that accepts writes
    assert not conn.embedded
    url = server_url(conn)
    assert url.host is None
    assert url.query["host"] == "db1.branch,db2.branch,db3.branch"
    assert url.query["port"] == "5432,5433,5434"
    assert url.query["target_session_attrs"] == "read-write"
    assert url.query["connect_timeout"] == "2"
    # What psycopg receives: libpq's own multi-host keywords.
    _, params = make_engine(url).dialect.create_connect_args(url)
    assert (params["host"], params["port"]) == ("db1.branch,db2.branch,db3.branch", "5432,5433,5434")
    env_vars = libpq_env(url)
    assert (env_vars["PGHOST"], env_vars["PGPORT"]) == ("db1.branch,db2.branch,db3.branch", "5432,5433,5434")
    assert env_vars["PGTARGETSESSIONATTRS"] == "read-write"
    shown = json.dumps(load_settings(env=env, user_file=tmp_path / "x").masked())
    assert "5432,5433,5434" in shown and "read-write" in shown


def test_hosts_may_carry_their_own_ports_and_one_port_serves_the_rest(tmp_path):
    env = {"DB_HOST": "a:6001,b,c:6003", "DB_PORT": "5432"}
    conn = load_settings(env=env, user_file=tmp_path / "x").connection
    assert conn.endpoints == [("a", 6001), ("b", 5432), ("c", 6003)]
    single = load_settings(env={"DB_HOST": "a"}, user_file=tmp_path / "x").connection
    assert single.target_session_attrs == "" and single.endpoints == [("a", 5432)]
    assert "target_session_attrs" not in server_url(single).query  # one server: libpq's default
    chosen = load_settings(env={"DB_HOST": "a", "DB_TARGET_SESSION_ATTRS": "Primary"}, user_file=tmp_path / "x")
    assert server_url(chosen.connection).query["target_session_attrs"] == "primary"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DB_HOST": "a,b,c", "DB_PORT": "1,2"}, "port lists 2 ports for 3 hosts"),
        ({"DB_HOST": "a,,c"}, "empty name between its commas"),
        ({"DB_HOST": "a,b", "DB_TARGET_SESSION_ATTRS": "standby"}, "target_session_attrs must be read-write"),
        ({"DB_HOST": "a:x,b"}, "port must be a whole number"),
        ({"DB_HOST": "a", "DB_PORT": "70000"}, "port must be between 1 and 65535"),
        ({"DB_HOST": "a", "DB_CONNECT_TIMEOUT": "soon"}, "connect_timeout must be a whole number"),
    ],
)
def test_a_bad_cluster_setting_is_refused_in_one_line(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(env=env, user_file=tmp_path / "none.json")
    assert "\n" not in str(caught.value)


def test_slow_queries_are_logged_with_parameters_only_when_asked(tmp_path, db_url, monkeypatch):
    log = logging.getLogger("astrofin.queries")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Collect()
    log.addHandler(handler)
    try:
        for with_params in ("false", "true"):
            env = {"SLOW_QUERY_THRESHOLD": "0", "LOG_QUERY_PARAMS": with_params}
            settings = load_settings(env=env, user_file=tmp_path / "none.json")
            eng = make_engine(db_url, settings)
            with eng.connect() as conn:
                conn.exec_driver_sql("SELECT pg_sleep(0.01), %(marker)s::text", {"marker": "param-marker"})
            eng.dispose()
    finally:
        log.removeHandler(handler)
    slow = [line for line in records if "pg_sleep" in line]
    assert len(slow) == 2
    assert slow[0].startswith("slow query") and "param-marker" not in slow[0]
    assert "param-marker" in slow[1]
    assert log_dir().joinpath("queries.log").exists()
