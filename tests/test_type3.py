"""Type III hypotheses do not depend on the user's column names or coding."""

import numpy as np
import pandas as pd
import pytest

import mixedtools as mt


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "f": np.repeat(list("abc"), 20),
            "x": rng.normal(size=60),
            "g": np.tile(list("uvwxy"), 12),
            "y": rng.normal(size=60),
        }
    )


def test_columns_named_like_patsy_functions_are_allowed(data):
    """A factor called C (and a covariate called Sum) once broke the type III code."""
    expected = mt.lmer("y ~ f * x + (1 | g)", data).anova()
    renamed = data.rename(columns={"f": "C", "x": "Sum"})
    got = mt.lmer("y ~ C * Sum + (1 | g)", renamed).anova()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-8)
    assert list(got.index) == ["C", "Sum", "C:Sum"]


def test_type3_tests_ignore_the_users_contrast_coding(data):
    expected = mt.lmer("y ~ f * x + (1 | g)", data).anova()
    got = mt.lmer("y ~ C(f, Helmert) * x + (1 | g)", data).anova()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6)
