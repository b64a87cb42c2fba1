"""The product as a department receives it: a wheel installed into a new virtual environment far from the checkout,
with no ../shared and no source tree beside it, runs the demo and writes the managers' workbook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import openpyxl

from assess.contract import load_contract

PROJECT = Path(__file__).resolve().parent.parent


def test_every_package_of_the_source_tree_ships_in_the_wheel() -> None:
    listed = set(
        tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    )
    found = {".".join(init.parent.relative_to(PROJECT).parts) for init in (PROJECT / "assess").rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"


def _the_demo_assessed_the_bundled_sample(payload: dict, target: Path) -> None:
    """The demo (run once per suite, here, from the installed wheel): both sample files in, every year assessed, the
    classifier trained on the sample's expert decisions, the lists drawn and the workbook written."""
    panel, messy = payload["uploads"]
    assert not panel["duplicate_upload"] and panel["rejected"] == 0 and panel["accepted"] == panel["rows_read"]
    assert messy["rejected"] > 0 and messy["upload_id"] == 2
    assert (target / "assess.duckdb").exists() and (target / "messy_问题清单.xlsx").exists()
    assert [row["year"] for row in payload["by_year"]] == [2020, 2021, 2022, 2023, 2024]
    assert [r["year"] for r in payload["runs"]] == [2020, 2021, 2022, 2023, 2024]
    latest = payload["stats"][-1]
    assert latest["year"] == 2024 and set(latest["no_rd"]["by_city"]) == set(load_contract().cities.values())
    assert payload["model"]["fallback"] is False and payload["model"]["cv"]["roc_auc"] > 0.7
    workbook = target.parent / payload["workbook"]  # as the command line names it, from where it ran
    assert workbook.name == "2024_全省_培育清单.xlsx" and workbook.is_file()
    assert payload["lists"]["three_highs"] and payload["lists"]["little_giant"]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, (
        f"{command[:3]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    )
    return done


def test_the_installed_wheel_runs_the_demo_and_exports_the_workbook(tmp_path: Path) -> None:
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(PROJECT)], work)
    [wheel] = wheels.glob("assess-*.whl")
    _run([sys.executable, "-m", "venv", str(venv)], work)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-c", str(PROJECT / "constraints.txt"), str(wheel)], work)
    # Nothing of the checkout may be reachable: no PYTHONPATH, no rule folder named by the environment.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASSESS_RULES", "ASSESS_DB", "VIRTUAL_ENV")}
    assess = str(venv / "bin" / "assess")
    payload = json.loads(_run([assess, "demo", "--dir", "演示", "--json"], work, env).stdout)
    _the_demo_assessed_the_bundled_sample(payload, work / "演示")
    out = work / "2024_全省.xlsx"
    _run(
        [assess, "export", "--year", "2024", "--out", str(out), "--db", str(work / "演示" / "assess.duckdb")], work, env
    )
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert sheets[:2] == ["说明", "汇总"] and "科技小巨人候选" in sheets and sheets[-1] == "数据问题"
    located = _run(
        [str(venv / "bin" / "python"), "-c", "import assess.resources as r; print(r.PACKAGED_RULES)"], work, env
    )
    assert Path(located.stdout.strip()).is_relative_to(venv), "the installed package read rules from the checkout"
