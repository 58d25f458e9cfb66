"""mt.plots.forest and mt.plots.funnel: drawn from the fit's numbers, labels readable, bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mixedtools as mt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def fit(k=13, seed=5):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.1, k)
    return mt.meta.rma(rng.normal(0.3, np.sqrt(v + 0.02)), v)


def test_forest_rows_diamond_and_labels_do_not_overlap_for_k50():
    res = fit(50)
    labels = [f"Author et al. {1990 + i}" for i in range(50)]
    ax = mt.plots.forest(res, labels=labels)
    fig = ax.figure
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.get_yticklabels()]
    assert len(boxes) == 51
    ys = sorted(b.y0 for b in boxes)
    heights = min(b.height for b in boxes)
    assert min(np.diff(ys)) >= heights * 0.95
    diamond = [p for p in ax.patches if p.get_label().startswith("pooled")][0]
    xs = diamond.get_xy()[:, 0]
    assert xs.min() == pytest.approx(res.ci_lower)
    assert xs.max() == pytest.approx(res.ci_upper)


@pytest.mark.parametrize("k", [13, 250])
def test_forest_fits_inside_its_figure_without_blank_bands(k):
    # saved without bbox_inches="tight", the right-hand column was cut off; at k = 400 the
    # margins (fractions of a 98-inch height) left about 12 inches blank above and below
    res = fit(k)
    if k > 200:
        with pytest.warns(UserWarning, match=f"k = {k} studies is 62 inches tall"):
            ax = mt.plots.forest(res, transform=np.exp, log_scale=True)
    else:
        ax = mt.plots.forest(res, transform=np.exp, log_scale=True)
    fig = ax.figure
    fig.canvas.draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # in inches
    width, height = fig.get_size_inches()
    assert drawn.x0 > 0 and drawn.y0 > 0 and drawn.x1 < width and drawn.y1 < height
    for gap in (drawn.x0, drawn.y0, width - drawn.x1, height - drawn.y1):
        assert gap < 0.2  # every margin about 0.1 inch, whatever k
    right = max(t.get_window_extent().x1 for t in fig.axes[1].get_yticklabels())
    assert right < fig.bbox.x1


def test_forest_and_funnel_reject_bad_input():
    with pytest.raises(TypeError, match="mt.meta.rma"):
        mt.plots.forest([1, 2])
    with pytest.raises(ValueError, match="labels"):
        mt.plots.forest(fit(), labels=["a"])
    with pytest.raises(TypeError, match="mt.meta.rma"):
        mt.plots.funnel(None)


def test_funnel_points_and_filled_studies():
    res = fit(20, seed=2)
    tf = mt.meta.trimfill(res, side="left")
    ax = mt.plots.funnel(res, filled=tf)
    offsets = ax.collections[-1].get_offsets() if tf.k0 else ax.collections[-1].get_offsets()
    assert len(offsets) == (tf.k0 if tf.k0 else res.k)
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # standard error axis inverted
    assert ax.get_ylabel() == "standard error"


def test_weight_bars_draw_each_models_weights_in_the_given_order():
    res = fit(6)
    fe = mt.meta.rma(res.yi, res.vi, method="FE")
    labels = [f"S{i}" for i in range(6)]
    order = np.argsort(res.vi)[::-1]  # largest variance at the bottom
    ax = mt.plots.weight_bars({"fixed": fe, "random": res}, labels=labels, order=order)
    assert [t.get_text() for t in ax.get_yticklabels()] == [labels[i] for i in order]
    bars = [p for p in ax.patches if p.get_width() > 0]
    widths = np.array([b.get_width() for b in bars]).reshape(2, 6)
    assert widths[0] == pytest.approx(np.asarray(fe.weights)[order])
    assert widths[1] == pytest.approx(np.asarray(res.weights)[order])
    # the precise study on top; under the fixed-effect model it carries the most weight
    assert widths[0, -1] == pytest.approx(max(fe.weights))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fixed", "random"]


def test_weight_bars_reject_bad_input():
    res = fit(6)
    with pytest.raises(TypeError, match="dict"):
        mt.plots.weight_bars(res)
    with pytest.raises(ValueError, match="numbers of studies"):
        mt.plots.weight_bars({"a": res, "b": fit(7)})
    with pytest.raises(ValueError, match="permutation"):
        mt.plots.weight_bars({"a": res}, order=[0, 0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="labels"):
        mt.plots.weight_bars({"a": res}, labels=["x"])
