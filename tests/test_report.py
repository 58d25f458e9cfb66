"""Formatting of p-values for the page."""

import numpy as np
import pandas as pd
import pytest

from mixedtools.report import format_p, format_table


def test_small_p_values_print_as_a_bound_never_in_e_notation():
    assert format_p(0.0) == "< 0.001"
    assert format_p(0.00099) == "< 0.001"
    assert format_p(0.001) == "0.001"
    assert format_p(1e-300, digits=4) == "< 0.0001"


def test_series_keep_their_index_and_missing_values_print_empty():
    s = pd.Series([0.2, np.nan], index=["x", "y"])
    assert format_p(s).to_dict() == {"x": "0.200", "y": ""}


def test_values_outside_the_unit_interval_are_refused():
    with pytest.raises(ValueError, match="must lie in"):
        format_p(1.5)


def test_format_table_changes_only_p_columns():
    t = pd.DataFrame({"F": [3.0], "p_value": [0.01234]})
    out = format_table(t)
    assert out["F"].dtype == float and out.loc[0, "p_value"] == "0.012"


def test_format_rate_pairs_rates_with_their_monte_carlo_se():
    from mixedtools.report import format_rate

    rates = pd.Series([0.0523, 0.9, np.nan], index=["a", "b", "c"])
    se = np.sqrt(rates * (1 - rates) / 2000)
    out = format_rate(rates, se)
    assert out.to_dict() == {"a": "0.052 (0.005)", "b": "0.900 (0.007)", "c": ""}
    assert format_rate(0.5, 0.0112, digits=2) == "0.50 (0.01)"
    with pytest.raises(ValueError):
        format_rate([0.1, 0.2], [0.01])
