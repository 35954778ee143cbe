"""Dates as typed on the command line (pipecli.dates), seen from Thursday 26 November 2026,
09:30 UTC; each expectation worked out by hand from a calendar."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipecli.dates import DateError, parse

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)  # a Thursday


@pytest.mark.parametrize("text, expected", [
    ("now", "2026-11-26 09:30"),
    ("today", "2026-11-26 00:00"), ("Tomorrow", "2026-11-27 00:00"),
    ("yesterday", "2026-11-25 00:00"),
    # weekdays: the next one after today (today's own name is a week on)
    ("friday", "2026-11-27 00:00"), ("fri", "2026-11-27 00:00"),
    ("thursday", "2026-12-03 00:00"), ("monday", "2026-11-30 00:00"),
    ("wed", "2026-12-02 00:00"), ("sunday", "2026-11-29 00:00"),
    # bounds of this week (Monday to Sunday), month, quarter, year
    ("sow", "2026-11-23 00:00"), ("eow", "2026-11-29 00:00"),
    ("som", "2026-11-01 00:00"), ("eom", "2026-11-30 00:00"),
    ("soq", "2026-10-01 00:00"), ("eoq", "2026-12-31 00:00"),
    ("soy", "2026-01-01 00:00"), ("eoy", "2026-12-31 00:00"),
    # offsets keep the time of day; months are calendar months
    ("+3d", "2026-11-29 09:30"), ("-3d", "2026-11-23 09:30"), ("+2w", "2026-12-10 09:30"),
    ("+1m", "2026-12-26 09:30"), ("+3m", "2027-02-26 09:30"), ("+1q", "2027-02-26 09:30"),
    ("-1y", "2025-11-26 09:30"), ("+1y", "2027-11-26 09:30"),
    # month days: the nearest one when no year is given
    ("Dec 1", "2026-12-01 00:00"), ("1 Dec", "2026-12-01 00:00"),
    ("December 1", "2026-12-01 00:00"), ("1 december 2027", "2027-12-01 00:00"),
    ("Jan 15", "2027-01-15 00:00"), ("Oct 1", "2026-10-01 00:00"),
    ("May 26", "2027-05-26 00:00"), ("Jun 1", "2026-06-01 00:00"),
    ("Sept 3", "2026-09-03 00:00"), ("feb 29", "2028-02-29 00:00"),
    ("Mar 5, 2025", "2025-03-05 00:00"),
    ("2026-12-01", "2026-12-01 00:00"), ("2026-12-01T15:45", "2026-12-01 15:45"),
])
def test_date_words(text, expected):
    assert parse(text, NOW).strftime("%Y-%m-%d %H:%M") == expected


def test_month_ends_clamp_to_the_last_day():
    end_of_january = datetime(2027, 1, 31, 8, 0, tzinfo=timezone.utc)
    assert parse("+1m", end_of_january).date().isoformat() == "2027-02-28"
    assert parse("+13m", end_of_january).date().isoformat() == "2028-02-29"
    assert parse("-1q", end_of_january).date().isoformat() == "2026-10-31"


@pytest.mark.parametrize("text", ["foo", "2026-02-30", "Feb 30", "31 April", "+200y",
                                  "+99999d", "friday next", "Decembre 1", "13/13/2026", ""])
def test_what_is_not_a_date_is_refused(text):
    with pytest.raises(DateError):
        parse(text, NOW)


def test_the_cli_reads_date_words_and_refuses_a_backwards_range(run, workspace):
    assert run("add", "Acme", "--close-date", "eom").code == 0
    assert run("list", "-o", "json").json()[0]["close_date"] == "2026-11-30"  # NOW: 20 Nov
    assert run("add", "Beta", "--close-date", "+1m").code == 0
    assert run("show", "Beta", "-o", "json").json()["close_date"] == "2026-12-20"
    backwards = run("report", "--since", "2026-11-01", "--until", "2026-10-01")
    assert backwards.code == 2 and "is after --until" in backwards.err
    bad = run("add", "Gamma", "--close-date", "Feb 30")
    assert bad.code == 2 and bad.err.count("\n") == 1
