"""Warnings point at the user's line, not at a line inside mixedtools."""

import warnings

import numpy as np
import pandas as pd

import mixedtools as mt
from mixedtools.lmm.fit import SingularFitWarning


def test_a_text_column_warning_is_attributed_to_the_callers_file():
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        {
            "y": rng.normal(size=40),
            "day": np.tile(["0", "1", "2", "3"], 10),
            "g": np.repeat([f"g{i}" for i in range(10)], 4),
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mt.lmer("y ~ day + (1 | g)", data)
    texts = [w for w in caught if "stored as text" in str(w.message)]
    assert texts and texts[0].filename == __file__


def test_a_singular_fit_warning_is_attributed_to_the_callers_file():
    data = mt.datasets.load("dyestuff2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mt.lmer("yield ~ 1 + (1 | batch)", data)
    singular = [w for w in caught if issubclass(w.category, SingularFitWarning)]
    assert singular and singular[0].filename == __file__
