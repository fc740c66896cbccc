"""The low-bandwidth profile's switches; the byte budgets themselves are measured by `python -m bench.wire`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from textual.widgets import Static

from astrofin_tui.frugal_driver import FrugalDriver, compress
from astrofin_tui.launch import LOW_BANDWIDTH_FPS, prepare_profile
from tests.tui.conftest import TODAY, run


def test_blank_segments_become_erase_and_skip() -> None:
    frame = "\x1b[39;49m" + " " * 30 + "\x1b[0m"
    assert compress(frame) == "\x1b[39;49m\x1b[30X\x1b[30C\x1b[0m"


def test_extended_colours_are_parsed_not_mistaken_for_blink() -> None:
    # 38;5;5 is colour 5, not SGR 5 (blink): still erasable.
    frame = "\x1b[38;5;5;48;5;235m" + " " * 20 + "\x1b[0m"
    assert "\x1b[20X" in compress(frame)


def test_styles_an_erase_would_lose_are_kept_as_spaces() -> None:
    for sgr in ("7", "4", "9", "2;30;47;7", "1;5"):
        frame = f"\x1b[{sgr}m" + " " * 20 + "\x1b[0m"
        assert compress(frame) == frame


def test_short_runs_and_spaces_inside_text_are_not_erased() -> None:
    frame = "\x1b[39;49m      \x1b[0m\x1b[1mSign in          now\x1b[0m"
    assert compress(frame) == "\x1b[39;49m      \x1b[0;1mSign in          now\x1b[0m"


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


def test_a_reset_is_folded_into_the_style_after_it_across_cursor_moves() -> None:
    assert compress("a\x1b[0m\x1b[5;3H\x1b[1;35mb") == "a\x1b[5;3H\x1b[0;1;35mb"
    assert compress("a\x1b[0m\x1b[39;49mb") == "a\x1b[0;39;49mb"
    # A reset before text or an erase stays: both depend on the style in force.
    assert compress("a\x1b[0mb") == "a\x1b[0mb"
    assert compress("\x1b[0m\x1b[12X") == "\x1b[0m\x1b[12X"
