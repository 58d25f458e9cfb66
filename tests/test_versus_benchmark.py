"""The Python side of benchmarks/versus_r.py runs (R is not needed), and each of its cases has a
twin of the same name in benchmarks/versus_r.R, so that the benchmark cannot rot unnoticed."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def versus():
    spec = importlib.util.spec_from_file_location("versus_r", BENCHMARKS / "versus_r.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["versus_r"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("versus_r", None)


def test_every_case_has_an_r_twin(versus):
    r_script = (BENCHMARKS / "versus_r.R").read_text()
    literal = set(re.findall(r'cases\[\["([^"]+)"\]\]', r_script))
    literal |= set(re.findall(r'lmer_case\("([^"]+)"', r_script))
    literal |= set(re.findall(r'ddf_case\("([^"]+)"', r_script))
    patterns = [
        re.compile(re.escape(p).replace("%s", ".+") + "$")
        for p in re.findall(r'sprintf\("([^"]*%s[^"]*)"', r_script)
    ]
    for case in versus.CASES:
        if case.name.startswith("bootstrap_lrt"):
            continue  # R reads its name (with the number of draws) from the case list
        assert case.name in literal or any(p.match(case.name) for p in patterns), case.name
    assert len({case.name for case in versus.CASES}) == len(versus.CASES)


def test_two_cases_run_and_compare(versus):
    wanted = ["meta rma REML (BCG)", "panel FE + RE + hausman (Grunfeld)"]
    cases = [c for c in versus.CASES if c.name in wanted]
    ours = versus.run_ours(cases, versus.Data(), quick=True)
    assert set(ours) == set(wanted)
    seconds, numbers = ours["panel FE + RE + hausman (Grunfeld)"]
    assert seconds > 0
    assert numbers["chisq"][0] == pytest.approx(2.3304, abs=1e-4)
    # R's numbers as versus_r.R writes them: agreement within the tolerance
    theirs = {"cases": {c: {"seconds": 0.01, "numbers": ours[c][1]} for c in ours}}
    table = versus.table(cases, ours, theirs)
    assert list(table.case) == [c.name for c in cases]
    assert set(table.agree) == {"yes"}
    assert versus.difference({"a": [1.0, 2.0]}, {"a": [1.0, 2.002]}, absolute=False) == (
        pytest.approx(0.002 / 2.002, rel=1e-9)
    )
    assert versus.difference({"a": [1.0]}, {"a": [1.0, 2.0]}, absolute=False) == float("inf")


def test_quick_mode_without_r_prints_our_side(versus, capsys):
    result = versus.main(["--quick", "meta rma FE"])
    out = capsys.readouterr().out
    assert "R not run" in out
    assert list(result.columns) == ["case", "R twin", "ours ms", "agree"]
