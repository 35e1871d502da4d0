"""Cutting text to fit a cell: at a word, marked, never longer than asked."""
from jstui.fleet.cli import last_words
from jstui.textfit import clip


def test_clip_cuts_at_a_word_and_marks_the_cut():
    text = "pool unreachable (cannot reach the pool database at postgresql://x:1/none)"
    assert clip(text, 200) == text
    assert clip(text, 40) == "pool unreachable (cannot reach the pool…"
    assert all(len(clip(text, w)) <= w for w in range(2, 80))
    assert clip("a" * 50, 10) == "a" * 9 + "…"          # one long word: cut inside it
    assert clip("two\nlines  of   space", 80) == "two lines of space"


def test_last_words_are_the_workers_own_without_its_prefix():
    tail = ["2026-01-01T12:00:00.123Z gamma pid=77 INFO run 3 starts from seed:norm",
            "2026-01-01T12:00:09.001Z gamma pid=77 INFO worker exits with 3 (solved): done",
            "[jstui 2026-01-01 12:00:09] worker pid 77 exited with status 3"]
    assert last_words(tail) == "worker exits with 3 (solved): done"
    assert last_words(["Traceback (most recent call last):", "ValueError: bad"]) == \
        "ValueError: bad"
    assert last_words([]) == ""
