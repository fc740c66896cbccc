"""A test run removes its own session folder (server data, XDG folders) when it ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_INNER = '''
import os
from pathlib import Path


def test_the_session_folder_exists_while_the_run_lasts():
    made = [p for p in Path(os.environ["TMPDIR"]).iterdir() if p.name.startswith("astrofin-tests-")]
    assert len(made) == 1 and made[0].is_dir()
    (made[0] / "data").mkdir(exist_ok=True)
    (made[0] / "data" / "left-behind").write_text("x")
'''


def test_a_run_leaves_no_session_folder_behind(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "test_inner.py").write_text(_INNER)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(inner), "-c", os.devnull, str(inner / "test_inner.py")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert [p.name for p in scratch.iterdir() if p.name.startswith("astrofin-tests-")] == []
