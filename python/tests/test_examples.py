"""The README's Python quick start and the seed example run as scripts."""
import runpy
import subprocess
import sys

from conftest import EXAMPLES


def test_quickstart(capsys):
    g = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    out = capsys.readouterr().out
    assert "{'Sym': ['AAPL', 'MSFT'], 'Px': [189.25, 411.2]}" in out
    assert "[{'Sym': 'AAPL', 'High': 189.25}, {'Sym': 'MSFT', 'High': 411.2}]" in out
    assert g["t"].size == 4


def test_seed_example_script():
    out = subprocess.run([sys.executable, str(EXAMPLES / "seed_example.py")], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    # the table as printed after the guide's last step: 12 rows, the new location last
    assert 'Ticker: [["GOOG","GOOG"],["MSFT","MSFT","MSFT","MSFT"],["MSFT","MSFT","MSFT","MSFT"],["GOOG","GOOG"]]' in out


def test_readme_quick_start_is_the_example():
    readme = (EXAMPLES.parent.parent / "README.md").read_text()
    section = readme[readme.index("## Python"):]
    block = section[section.index("```python\n") + len("```python\n"):]
    block = block[:block.index("```")]
    example = (EXAMPLES / "quickstart.py").read_text().split('"""', 2)[2].lstrip("\n")
    assert block == example
