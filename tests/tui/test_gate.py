"""The gate for every role: by function key, by the command palette and by a direct call of the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from astrofin_tui.app import AstrofinApp
from astrofin_tui.palette import ScreenCommands
from db.engine import Actor
from db.permissions import SCREENS, may_open, screens_for
from screens.base import BackScreen
from screens.home import HomeScreen
from tests.tui.conftest import DEMO, build_app, notices, run, settle


def _log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


async def _palette_titles(app: AstrofinApp, query: str = "") -> list[str]:
    """What ScreenCommands offers on the current screen: its discovery list, or the hits for a query."""
    provider = ScreenCommands(app.screen)
    hits = provider.search(query) if query else provider.discover()
    return [str(hit.text) async for hit in hits]


async def _sign_in(pilot: Pilot[Any], actor: Actor) -> None:
    app = pilot.app
    assert isinstance(app, AstrofinApp)
    await app.sign_in_as(actor)
    await settle(pilot)
    assert isinstance(app.screen, HomeScreen)


@pytest.mark.parametrize("username", DEMO)
def test_every_screen_is_gated_for_every_role(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor], username: str
) -> None:
    actor = actors[username]
    permitted = {spec.name for spec in screens_for(actor.role)}

    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _sign_in(pilot, actor)

            # The footer shows exactly the permitted function keys.
            shown = {key for key, active in app.screen.active_bindings.items()
                     if active.binding.show and active.binding.action.startswith("open(")}
            assert shown == {spec.key for spec in SCREENS if spec.name in permitted}

            # The palette offers exactly the permitted screens.
            assert set(await _palette_titles(app)) == {spec.title for spec in SCREENS if spec.name in permitted}

            refusals = 0
            for spec in SCREENS:
                allowed = spec.name in permitted
                assert may_open(actor.role, spec.name) is allowed

                # By function key.
                await pilot.press(spec.key)
                await pilot.pause()
                if allowed:
                    assert isinstance(app.screen, BackScreen) and app.screen.screen_name == spec.name
                    await pilot.press("escape")
                    await pilot.pause()
                else:
                    refusals += 1
                    assert isinstance(app.screen, HomeScreen), spec.name
                    assert f"{spec.title} is not open to" in notices(app)[-1]
                assert isinstance(app.screen, HomeScreen)

                # By the palette: offered when permitted (and then it opens), never otherwise.
                titles = await _palette_titles(app, spec.title)
                assert (spec.title in titles) is allowed, (spec.title, titles)

                # By a direct call of the app's open method.
                assert app.open_screen(spec.name) is allowed
                await pilot.pause()
                if allowed:
                    assert isinstance(app.screen, BackScreen) and app.screen.screen_name == spec.name
                    app.pop_screen()
                    await pilot.pause()
                else:
                    refusals += 1
                    assert isinstance(app.screen, HomeScreen)
                assert len(app.screen_stack) == 2

            lines = _log_lines(access_log)
            assert len(lines) == refusals == 2 * (len(SCREENS) - len(permitted))
            for spec in SCREENS:
                if spec.name not in permitted:
                    for via in ("key", "call"):
                        expected = f" refused user={username} role={actor.role} screen={spec.name} via={via}"
                        assert any(line.endswith(expected) for line in lines), expected

    run(scenario())


def test_a_cashier_reaches_no_accounting_or_admin_screen(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor]
) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _sign_in(pilot, actors["cashier"])
            for key in ("f8", "f12"):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, HomeScreen)

            # The real palette, typed into: the entries are not there.
            for query in ("Accounting", "Administration"):
                await pilot.press("ctrl+p")
                await pilot.pause()
                assert isinstance(app.screen, CommandPalette)
                await pilot.press(*query)
                await settle(pilot)
                options = app.screen.query_one(CommandList)
                offered = [str(options.get_option_at_index(i).hit.text)  # type: ignore[attr-defined]
                           for i in range(options.option_count) if options.get_option_at_index(i).id != "--no-matches"]
                assert query not in offered
                await pilot.press("escape")
                await pilot.pause()
            assert isinstance(app.screen, HomeScreen)

            assert app.open_screen("accounting") is False
            assert app.open_screen("administration") is False
            assert app.open_screen("Administration[/b]; x") is False
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert notices(app)[-1] == "There is no screen called Administration\\[/b]; x."

            # What a cashier may open still opens from the real palette.
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Payment")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, BackScreen) and app.screen.screen_name == "payment_entry"

        lines = _log_lines(access_log)
        assert [line.split(" ", 1)[1] for line in lines] == [
            "refused user=cashier role=cashier screen=accounting via=key",
            "refused user=cashier role=cashier screen=administration via=key",
            "refused user=cashier role=cashier screen=accounting via=call",
            "refused user=cashier role=cashier screen=administration via=call",
            "refused user=cashier role=cashier screen=Administration??b???x via=call",
        ]

    run(scenario())


def test_nothing_opens_before_sign_in(app_engine: Engine, access_log: Path) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.press("f2")
            await pilot.pause()
            assert app.open_screen("customer_lookup") is False
            assert notices(app)[-1] == "Sign in first."
            assert await _palette_titles(app) == []
            assert not app.check_action("sign_out", ())

    run(scenario())
    assert [line.split(" ", 1)[1] for line in _log_lines(access_log)] == [
        "refused user=- role=- screen=customer_lookup via=key",
        "refused user=- role=- screen=customer_lookup via=call",
    ]


def test_after_sign_out_the_next_person_gets_only_their_screens(
    app_engine: Engine, access_log: Path, actors: dict[str, Actor]
) -> None:
    async def scenario() -> None:
        app = build_app(app_engine, access_log)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await _sign_in(pilot, actors["supervisor"])
            assert app.open_screen("accounting") is True
            await pilot.pause()
            await pilot.press("ctrl+o")
            await pilot.pause()
            await _sign_in(pilot, actors["cashier"])
            assert app.open_screen("accounting") is False
            assert "Accounting" not in await _palette_titles(app)

    run(scenario())
