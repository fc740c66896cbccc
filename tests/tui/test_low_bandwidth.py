"""The low-bandwidth profile's switches; the byte budgets themselves are measured by `python -m bench.wire`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Static

from astrofin_tui.frugal_driver import FrugalDriver
from astrofin_tui.launch import LOW_BANDWIDTH_FPS, prepare_profile
from tests.tui.conftest import TODAY, run


def test_profile_sets_textual_before_it_loads() -> None:
    env: dict[str, str] = {}
    prepare_profile(True, env)
    assert env == {"TEXTUAL_FPS": LOW_BANDWIDTH_FPS, "TEXTUAL_ANIMATIONS": "none"}
    env = {}
    prepare_profile(False, env)
    assert env == {}


def test_profile_uses_the_frugal_driver_and_a_static_loading_label(app_engine: Engine, access_log: Path) -> None:
    from astrofin_tui.app import AstrofinApp

    frugal = AstrofinApp(app_engine, today=lambda: TODAY, low_bandwidth=True, access_log=access_log)
    assert frugal.driver_class is FrugalDriver
    plain = AstrofinApp(app_engine, today=lambda: TODAY, access_log=access_log)
    assert plain.driver_class is not FrugalDriver

    async def scenario() -> None:
        async with frugal.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            loading = frugal.get_loading_widget()
            assert isinstance(loading, Static) and not loading.auto_refresh

    run(scenario())


def test_the_repaint_key_is_left_to_the_driver() -> None:
    """ctrl+l clears and repaints the terminal under the profile: no screen may bind it to anything else."""
    import inspect

    from textual.binding import Binding
    from textual.screen import Screen

    import screens
    from astrofin_tui.app import AstrofinApp
    from astrofin_tui.frugal_driver import REPAINT_KEY

    def keys(owner: type) -> set[str]:
        found = set()
        for binding in getattr(owner, "BINDINGS", []):
            key = binding.key if isinstance(binding, Binding) else binding[0]
            found |= {k.strip() for k in key.split(",")}
        return found

    import pkgutil
    from importlib import import_module

    owners: list[type] = [AstrofinApp]
    for module in pkgutil.iter_modules(screens.__path__):
        loaded = import_module(f"screens.{module.name}")
        owners += [c for _, c in inspect.getmembers(loaded, inspect.isclass) if issubclass(c, Screen)]
    assert all(REPAINT_KEY not in keys(owner) for owner in owners)
