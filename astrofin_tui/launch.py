"""`astrofin` with no command: get the database ready, then run the app until the person quits."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

from db.paths import ensure_runtime_dir


def low_bandwidth_wanted(flag: bool, env: dict[str, str] | None = None) -> bool:
    """On with --low-bandwidth or over SSH; ASTROFIN_PROFILE=ssh|local overrides either way."""
    env = dict(os.environ if env is None else env)
    profile = (env.get("ASTROFIN_PROFILE") or "").strip().lower()
    if profile == "ssh":
        return True
    if profile == "local":
        return False
    return flag or bool(env.get("SSH_CONNECTION"))


LOW_BANDWIDTH_FPS = "15"


def prepare_profile(low_bandwidth: bool, env: MutableMapping[str, str] = os.environ) -> None:
    """Textual reads its TEXTUAL_* settings once, at import: set the profile's before it loads."""
    if low_bandwidth:
        env.setdefault("TEXTUAL_FPS", LOW_BANDWIDTH_FPS)  # a capped frame rate: fewer, larger updates
        env.setdefault("TEXTUAL_ANIMATIONS", "none")


def run_app(low_bandwidth: bool) -> int:
    """Errors a person can act on (AstrofinError, ConfigError) propagate to cli.main, which prints one line."""
    ensure_runtime_dir()
    low_bandwidth = low_bandwidth_wanted(low_bandwidth)
    prepare_profile(low_bandwidth)
    from db import embedded

    embedded.stop_on_hangup()
    from astrofin_tui.terminal_watch import exit_on_hangup

    exit_on_hangup()  # also when a wrapper between the terminal and the app swallows the hangup
    from db.bootstrap import open_app_database
    from db.config import insecure_config_warning, load_settings
    from db.engine import make_engine
    from db.seed import DEMO_USERS

    warning = insecure_config_warning()
    if warning:
        print(warning, file=sys.stderr, flush=True)
    settings = load_settings()
    if settings.connection.embedded:
        print("Starting AstroFinance database…", file=sys.stderr, flush=True)
    target = open_app_database(settings)
    engine = make_engine(target.url, settings)
    from db.replica import attach_from_settings, detach

    attach_from_settings(engine, settings)
    try:
        from astrofin_tui.app import AstrofinApp
        from screens.sign_in import DemoAccount

        demo = target.server is not None and settings.connection.environment == "development"
        app = AstrofinApp(
            engine,
            demo_accounts=[DemoAccount(username, role) for username, _name, role in DEMO_USERS] if demo else (),
            low_bandwidth=low_bandwidth,
            target=target,
            settings=settings,
        )
        from astrofin_tui.terminal_watch import exit_app_on_signals

        exit_app_on_signals(lambda code: app.exit(return_code=code))
        app.run()
    finally:
        detach(engine)
        engine.dispose()
    # The embedded server stops with the last astrofin process attached to it (the wheel does it at exit).
    return app.return_code or 0
