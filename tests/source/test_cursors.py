"""Per-instance cursor arithmetic: look-back, open restores, new instances, start date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dcs_restores.cursors import CursorTracker, InstanceCursor, begin_time

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_new_instance_reads_all_history_or_from_start_date() -> None:
    assert begin_time(None, DAY, None) is None
    assert begin_time(None, DAY, T0) == T0
    assert begin_time(InstanceCursor(), DAY, None) is None


def test_known_instance_rereads_lookback_window() -> None:
    assert begin_time(InstanceCursor(max_created_at=T0), DAY, None) == T0 - DAY


def test_open_restore_older_than_window_pulls_begin_back() -> None:
    cursor = InstanceCursor(max_created_at=T0, oldest_open=T0 - 10 * DAY)
    assert begin_time(cursor, DAY, None) == T0 - 10 * DAY


def test_start_date_is_a_floor_of_the_window_but_not_of_open_restores() -> None:
    assert begin_time(InstanceCursor(max_created_at=T0), 5 * DAY, T0 - 2 * DAY) == T0 - 2 * DAY
    cursor = InstanceCursor(max_created_at=T0, oldest_open=T0 - 10 * DAY)
    assert begin_time(cursor, DAY, T0 - 2 * DAY) == T0 - 10 * DAY


def test_tracker_keeps_max_and_oldest_unfinished() -> None:
    tracker = CursorTracker(InstanceCursor(max_created_at=T0, oldest_open=T0 - DAY))
    tracker.observe(T0 - 3 * DAY, "succeed")
    tracker.observe(T0 - 2 * DAY, "restoring")
    tracker.observe(T0 - 4 * DAY, "mystery")
    tracker.observe(T0 + DAY, "waiting")
    result = tracker.result()
    assert result.max_created_at == T0 + DAY
    assert result.oldest_open == T0 - 4 * DAY


def test_tracker_forgets_open_restores_that_finished() -> None:
    tracker = CursorTracker(InstanceCursor(max_created_at=T0, oldest_open=T0 - DAY))
    tracker.observe(T0 - DAY, "failed")
    assert tracker.result() == InstanceCursor(max_created_at=T0, oldest_open=None)


def test_state_round_trip() -> None:
    cursor = InstanceCursor(max_created_at=T0, oldest_open=T0 - DAY)
    assert InstanceCursor.from_state(cursor.to_state()) == cursor
    assert InstanceCursor.from_state(None) is None
