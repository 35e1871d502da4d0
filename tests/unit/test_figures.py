"""The benchmarks' figures: the house style draws a PNG, and the fleet search's figure is
drawn from a run's records and from its printed summary table."""
from __future__ import annotations

import pytest

pytest.importorskip("matplotlib", reason="figures need matplotlib (the `bench` or `test` extra)")

from benchmarks import figures  # noqa: E402
from benchmarks.bench_fleet_search import SOLVED_FLOOR, summary  # noqa: E402
from benchmarks.fleet_search_figure import draw, draw_table, read_table  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_records() -> list[dict]:
    """Two puzzles; a alone never finishes, c at K=2 finds the answer at 20 and 40 s."""
    records = []
    for n, solved_at in enumerate((20.0, 40.0)):
        records.append({"puzzle": f"p{n}", "setup": "a", "k": 1, "solved": False, "seconds": None,
                        "cpu": None, "curve": [[1.0, 0.5], [10.0, 0.1], [50.0, 0.05]]})
        records.append({"puzzle": f"p{n}", "setup": "c", "k": 2, "solved": True, "seconds": solved_at,
                        "cpu": solved_at * 1.5, "curve": [[5.0, 0.2], [15.0, 0.01], [solved_at, SOLVED_FLOOR]]})
    return records


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_house_style_writes_a_png_with_a_legend(tmp_path):
    fig, axes = figures.panels(2, xlabel="time (s)", ylabel="best MSE", logy=True, titles=["K = 1", "K = 2"])
    for i, ax in enumerate(axes):
        ax.plot([0, 10, 20], [1, 0.1, 0.01], label="one")
        ax.plot([0, 10, 20], [1, 0.5, 0.2], label="two" if i else "three")
    assert axes[0].get_yscale() == "log" and axes[1].get_xlabel() == "time (s)"
    legend = fig.legends
    path = figures.save(fig, tmp_path / "deep" / "f.png", legend_title="medians", order=["two"])
    assert [t.get_text() for t in legend[0].get_texts()] == ["two", "one", "three"]
    width, height = png_size(path)
    assert (width, height) == (round(2 * figures.PANEL[0] * figures.DPI), round(figures.PANEL[1] * figures.DPI))


def test_fleet_search_figure_from_records(tmp_path):
    path = tmp_path / "fleet.png"
    draw(fake_records(), 60.0, path)
    assert png_size(path)[0] > png_size(path)[1]


def test_summary_table_reads_back_and_draws(tmp_path):
    table = tmp_path / "out.md"
    table.write_text("some words\n\n" + "\n".join(summary(fake_records(), 60.0)) + "\n\nmore words\n")
    rows = read_table(table)
    assert [(r["setup"], r["k"], r["runs"], r["wall"]) for r in rows] == [("a", 1, 2, None), ("c", 2, 2, 30.0)]
    c = dict(rows[1]["checkpoints"])
    assert c[15.0] == pytest.approx(0.01) and c[60.0] == SOLVED_FLOOR   # "exact" in the table
    assert dict(rows[0]["checkpoints"])[30.0] == pytest.approx(0.1)
    draw_table(rows, 60.0, tmp_path / "table.png")
    png_size(tmp_path / "table.png")
