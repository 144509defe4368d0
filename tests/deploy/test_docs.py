"""Operator docs keep up with the code: every metric gatekeeper exports is described in docs/operations.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b(?:Counter|Gauge|Histogram)\(\s*\"(gatekeeper_[a-z0-9_]+)\"")


def exported_metrics() -> set[str]:
    return {name for path in (ROOT / "gatekeeper").rglob("*.py") for name in METRIC.findall(path.read_text())}


def test_every_exported_metric_is_in_the_operations_guide() -> None:
    documented = set(re.findall(r"`(gatekeeper_[a-z0-9_]+)`", (ROOT / "docs" / "operations.md").read_text()))
    exported = exported_metrics()

    assert len(exported) >= 20, "the metric pattern no longer finds the metrics"
    assert sorted(exported - documented) == []


def test_every_relative_link_in_the_docs_points_at_a_file_that_exists() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "helm").rglob("*.md"))]
    broken = [f"{page.relative_to(ROOT)}: {target}" for page in pages
              for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
              if "://" not in target and not target.startswith("mailto:")
              and not (page.parent / target).exists()]
    assert broken == []
