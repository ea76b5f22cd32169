"""The documentation site builds, its tutorials run as written, and README stays a short page that links to it.

A ```` ```bash ```` block in ``docs/`` is run by this test, in the order of the site's navigation and in one
working folder, as a newcomer would type it; ```` ```shell ```` blocks show commands with the reader's own paths and
data and are not run.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def nav_pages() -> list[str]:
    """The site's pages in navigation order (paths under docs/)."""

    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may hold !!python/name tags (Material's emoji); they do not matter for the nav.
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)
    pages: list[str] = []

    def walk(items) -> None:
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            else:
                pages.append(value)

    walk(config["nav"])
    return pages


def bash_blocks(page: Path) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", page.read_text(), re.S | re.M)


def test_every_page_is_in_the_navigation_and_exists():
    pages = nav_pages()
    assert len(pages) == len(set(pages))
    for page in pages:
        assert (DOCS / page).is_file(), page
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk == set(pages), on_disk ^ set(pages)


def test_site_builds_strict(tmp_path):
    """A broken link, a missing page or a docstring mkdocstrings cannot read fails the build."""
    if shutil.which("mkdocs") is None:
        pytest.fail("mkdocs is not installed: pip install -e '.[docs]'")
    done = subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**_env(), "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    # The command reference is generated from the click commands: an option of each is on its page.
    page = (tmp_path / "site" / "reference" / "flame-eval" / "index.html").read_text()
    assert "--latency-from" in page and "--forecast" in page


def _env(cache: Path | None = None) -> dict[str, str]:
    import os

    env = dict(os.environ)
    if cache is not None:  # data sets and footage labels the commands cache go to the test's folder
        env["FLAME_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def test_tutorials_run_as_written_in_the_order_the_pages_give(tmp_path):
    """A newcomer following the pages in order reaches a FLAME number for a foreign ONNX model on a video."""
    outputs = {}
    for page in nav_pages():
        for block in bash_blocks(DOCS / page):
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, capture_output=True,
                                  text=True, timeout=400, env=_env(tmp_path / "cache"))
            assert done.returncode == 0, f"{page}:\n{block}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            outputs[page] = outputs.get(page, "") + done.stdout
    tutorials = [page for page in nav_pages() if page.startswith("tutorials/")]
    assert tutorials and all(bash_blocks(DOCS / page) for page in tutorials), "every tutorial runs something"
    # The foreign model's score: a FLAME row with its k, and the wrapped engine on disk.
    assert re.search(r"FLAME \(k=\d+\)\s*│\s*[\d.]+", outputs["tutorials/own-network.md"])
    assert (tmp_path / "toy.flame.onnx").is_file()
    footage = outputs["tutorials/own-footage.md"]
    assert "FLAME against the teacher on video drive.avi" in footage and re.search(r"FLAME \(k=\d+\)", footage)
    report = json.loads((tmp_path / "footage" / "flame.json").read_text())
    assert report["footage"]["kind"] == "video" and report["reference"]["kind"] == "teacher"
    assert (tmp_path / "drive_labels").is_dir() and (tmp_path / "runs" / "from-footage" / "best.pt").is_file()
    assert (tmp_path / "run.json").is_file() and (tmp_path / "choice.json").is_file()


def test_readme_is_a_short_page_that_starts_with_the_two_commands():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) < 150, len(lines)
    first = "\n".join(lines[:15])
    assert "flame-demo" in first and "pytest" in first
    assert "DESIGN.md" not in text


def test_readme_links_resolve():
    text = README.read_text()
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith(("http://", "https://", "#")):
            continue
        assert (ROOT / target.split("#")[0]).exists(), target


def test_troubleshooting_covers_every_error_class():
    from flame.core.errors import FlameError

    import flame

    for module in pkgutil.walk_packages(flame.__path__, "flame."):
        try:
            importlib.import_module(module.name)
        except ImportError:  # a backend that is not installed here (TensorRT)
            continue
    page = (DOCS / "troubleshooting.md").read_text()

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names = {cls.__name__ for cls in subclasses(FlameError) if cls.__module__.startswith("flame")}
    assert names, "no error classes found"
    missing = sorted(name for name in names if f"`{name}`" not in page)
    assert not missing, missing
