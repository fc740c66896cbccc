"""Checking for the cluster's tools leaves the test worker as it was."""

from __future__ import annotations

import os

from bench.cluster import patroni_missing


def test_checking_for_patroni_leaves_the_process_umask_alone() -> None:
    # Importing Patroni sets the umask to 077; in a worker of the suite every file made after that was private, and a
    # later test's replica could not copy its primary's data folder (pg_basebackup: Permission denied).
    before = os.umask(0o022)
    try:
        assert patroni_missing() is None
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)
