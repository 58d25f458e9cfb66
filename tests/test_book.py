"""Structural checks of the book: stored notebooks, table of contents, glossary."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [section["file"] for section in chapter.get("sections", [])]
    return files


def test_every_chapter_notebook_is_in_the_toc_and_exists():
    toc = _toc_files()
    assert {f"book/{nb.stem}" for nb in NOTEBOOKS} <= set(toc)
    for entry in toc:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_in_order_without_errors(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"]
    source = "\n".join("".join(c["source"]) for c in code)
    # Seeded: every random number generator is created with an explicit seed.
    assert "default_rng()" not in source and "np.random.seed(" not in source
    assert "def " not in source, "helper code belongs in mixedtools, not in a notebook"


def test_glossary_is_bilingual_and_links_to_chapters():
    rows = [
        line
        for line in (ROOT / "book" / "glossary.md").read_text().splitlines()
        if line.startswith("| ") and not line.startswith("| English")
    ]
    assert len(rows) >= 20
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
        english, chinese, definition, link = [c.strip() for c in cells]
        assert re.search(r"[\u4e00-\u9fff]", chinese), row
        assert english and definition
        assert link.startswith("{ref}`"), row
    # The page promises an order: sorted by the English term, each term once.
    terms = [row.split("|")[1].strip().replace("\u2013", "-").casefold() for row in rows]
    assert terms == sorted(terms) and len(terms) == len(set(terms))


def test_bibliography_parses_with_unique_keys_and_covers_every_citation():
    pybtex_database = pytest.importorskip("pybtex.database")
    pybtex_errors = pytest.importorskip("pybtex.errors")
    text = (ROOT / "book" / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,\s]+),", text, flags=re.M)
    assert len(keys) == len(set(keys)), "duplicate bibliography keys"
    # An entry left unclosed by a merge swallows the next ones: the strict parser refuses it.
    pybtex_errors.set_strict_mode(True)
    parsed = pybtex_database.parse_string(text, "bibtex")
    assert sorted(parsed.entries.keys()) == sorted(keys)
    sources = [p.read_text() for p in (ROOT / "book").glob("*.md")] + [
        p.read_text() for p in NOTEBOOKS
    ]
    cited = {
        key.strip()
        for source in sources
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", source)
        for key in group.split(",")
    }
    assert cited and cited <= set(keys), sorted(cited - set(keys))


def test_every_named_figure_is_captioned_and_referenced_with_numref():
    markdown = "".join(
        "".join(c["source"])
        for nb in NOTEBOOKS
        for c in json.loads(nb.read_text())["cells"]
        if c["cell_type"] == "markdown"
    )
    unreferenced = []
    for nb in NOTEBOOKS:
        for cell in json.loads(nb.read_text())["cells"]:
            figure = cell["metadata"].get("mystnb", {}).get("figure")
            if figure:
                assert figure.get("caption") and figure.get("name"), (nb.name, figure)
                if f"{{numref}}`{figure['name']}`" not in markdown:
                    unreferenced.append((nb.name, figure["name"]))
    assert not unreferenced, f"figures never referenced with {{numref}}: {unreferenced}"


def _rounded_before_formatting(tree) -> list[str]:
    """Calls of format_table / format_p whose input was rounded first (directly or via .pipe)."""
    import ast

    def name(func):
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")

    def rounds(node):
        return any(isinstance(n, ast.Call) and name(n.func) == "round" for n in ast.walk(node))

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if name(node.func) in ("format_table", "format_p") and node.args and rounds(node.args[0]):
            found.append(ast.unparse(node)[:80])
        if (
            name(node.func) == "pipe"
            and node.args
            and name(node.args[0]) in ("format_table", "format_p")
            and rounds(node.func.value)
        ):
            found.append(ast.unparse(node)[:80])
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_p_values_are_formatted_before_anything_is_rounded(path):
    # A p-value of 0.00096 rounded to 3 decimals first prints "0.001" instead of "< 0.001".
    import ast

    nb = json.loads(path.read_text())
    found = []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "format_" not in source:
            continue
        lines = [line for line in source.splitlines() if not line.lstrip().startswith("%")]
        found += _rounded_before_formatting(ast.parse("\n".join(lines)))
    assert found == []


def test_the_rounding_check_sees_a_rounded_table():
    import ast

    bad = "mt.report.format_table(t.round(3))\nx.round(2).pipe(mt.report.format_table)"
    good = "mt.report.format_table(t, decimals=3).round(2)"
    assert len(_rounded_before_formatting(ast.parse(bad))) == 2
    assert _rounded_before_formatting(ast.parse(good)) == []
