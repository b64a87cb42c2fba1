"""Scoring benchmark: training the 三高一核心 classifier on 200,000 labelled filings, then scoring and explaining every
firm of one year in the 1,000,000-enterprise test store of bench/run.py (built there, reused here).

`python bench/score.py` runs the training case (once by default: it cross-validates, so it is the slow one; with
`--train-repeats 0` not at all, scoring with the newest model the store has), then the scoring case three times and
the run case (`api.run_year`, as `assess run` does) once (`--run-repeats N`), each run in its own process under GNU
time (`/usr/bin/time -v`), and rewrites the scoring section of bench/RESULTS.md. `python bench/score.py --case NAME
--db PATH` is one such run, printing its measurement as one JSON line. Training registers its model in the test
store; scoring uses the newest model there. A run scores with the model trained on every label of the store (it
would train one first, which takes an hour: `assess train`, or `bench/report.py --case train`, beforehand); each run
case keeps a run in the test store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import (  # bench/common.py, beside this script
    PEAK_RSS_LIMIT_MB,
    CaseResult,
    machine,
    measure,
    parse_args,
    section_head,
    verdict,
    write_section,
)
from run import ensure_store  # bench/run.py: the 1,000,000-enterprise store

HEADING = "## Scoring (bench/score.py)"
TRAIN_ROWS = 200_000
YEAR = 2024
SAMPLE_SEED = 1
MAX_SCORE_SECONDS = 30.0  # the target: scoring with explanations for 1,000,000 firms
PACKAGES = ("duckdb", "polars", "scikit-learn", "skops", "numpy")


# --- one run (the child process) ----------------------------------------------------------------------------------


def train_case(db: Path) -> dict:
    """TRAIN_ROWS labelled filings drawn at random from the store's, then the whole of `train`: grouped CV, the
    temporal check, the final fit, the skops file, the model card and the registry."""
    import numpy as np

    from assess.contract import load_contract
    from assess.resources import PACKAGED_RULES
    from assess.run.config import load_config
    from assess.run.context import install_features
    from assess.scoring.train import labelled, train
    from assess.store import Store

    everything = load_config(PACKAGED_RULES)
    config = everything.scoring.classifier
    with Store(db, load_contract()) as store:
        install_features(store, everything)
        start = time.perf_counter()
        data = labelled(store, config)
        rows = np.sort(np.random.default_rng(SAMPLE_SEED).choice(data.size, TRAIN_ROWS, replace=False))
        loaded = time.perf_counter()
        trained = train(store, config, data.subset(rows))
        end = time.perf_counter()
    return {
        "seconds": end - loaded,
        "load_seconds": loaded - start,
        "labelled_available": data.size,
        "n_train": trained.report["n_train"],
        "n_positive": trained.report["n_positive"],
        "cv": trained.report["cv"],
        "model_id": trained.report["model_id"],
    }


def score_case(db: Path) -> dict:
    """Every firm with a filing in YEAR: the index with its largest components, and for the SMEs in flagship chains
    the calibrated score with its factors, sub-judgements and the R&D intensity a near miss needs (the numbers a run
    keeps, from which the sentences are rendered where they are shown), a piece at a time as a run computes them;
    each piece stored in DuckDB as it comes (timed apart)."""
    from contextlib import closing

    from assess.contract import load_contract
    from assess.resources import PACKAGED_RULES
    from assess.run.config import load_config
    from assess.run.context import install_features
    from assess.scoring import persist
    from assess.scoring.score import score_batches
    from assess.scoring.train import Trained
    from assess.store import Store

    everything = load_config(PACKAGED_RULES)
    rules, config = everything.rules, everything.scoring
    with Store(db, load_contract()) as store:
        install_features(store, everything)
        [(labels, model_id)] = store.con.execute(
            "SELECT labels_sha256, model_id FROM models ORDER BY model_id DESC LIMIT 1"
        ).fetchall()
        record = persist.find(store, labels, config.classifier.sha256)
        if record is None or record.model_id != model_id:
            raise SystemExit("no model trained with this configuration: run the train case first")
        trained = Trained(record.report, record, persist.load(store, record))
        firms = scored = factors = 0
        storing = 0.0
        start = time.perf_counter()
        with closing(score_batches(store, rules, config, YEAR, trained)) as pieces:
            for piece in pieces:
                firms, scored = firms + piece.height, scored + int(piece["scored"].sum())
                factors += int(piece["factors"].list.len().sum()) + int(piece["index_factors"].list.len().sum())
                begin = time.perf_counter()
                store.con.register("scored_rows", piece.to_arrow())
                store.con.execute("CREATE TEMP TABLE IF NOT EXISTS bench_scores AS FROM scored_rows LIMIT 0")
                store.con.execute("INSERT INTO bench_scores FROM scored_rows")
                store.con.unregister("scored_rows")
                storing += time.perf_counter() - begin
        end = time.perf_counter()
    return {
        "seconds": end - start - storing,
        "store_seconds": storing,
        "firms": firms,
        "scored": scored,
        "factors": factors,
        "model_id": record.model_id,
    }


def run_case(db: Path) -> dict:
    """`api.run_year` of YEAR: every pack, the headline figures, scoring with reasons, the three lists, the run kept
    in one transaction, its figures and lists read back."""
    from assess import api
    from assess.resources import PACKAGED_RULES
    from assess.run.config import load_config
    from assess.run.context import install_features
    from assess.scoring import persist
    from assess.scoring.train import labelled, labels_sha256

    with api.open_store(db) as store:
        everything = load_config(PACKAGED_RULES)
        install_features(store, everything)
        config = everything.scoring.classifier
        if persist.find(store, labels_sha256(labelled(store, config, features=False)), config.sha256) is None:
            raise SystemExit("no model trained on every label of the store: run `assess train` on it first")
        start = time.perf_counter()
        done = api.run_year(store, YEAR)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "run_id": done.run.run_id,
        "model_id": done.run.manifest["scoring"]["model"].get("model_id"),
        "selected": {tier: frame.height for tier, frame in done.lists.items()},
    }


CASES: dict[str, Callable[[Path], dict]] = {"train": train_case, "score": score_case, "run": run_case}


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def section(train: CaseResult | None, score: CaseResult, run: CaseResult | None, db: Path, load: float) -> str:
    scored = score.runs[-1].report
    time_met = score.median() < MAX_SCORE_SECONDS
    memory_met = score.peak_rss_mb < PEAK_RSS_LIMIT_MB
    lines = [
        *section_head(HEADING, __file__),
        f"Machine: {machine(PACKAGES)}. Load average when the runs began: {load:.2f} (other work shares the cores).",
        "",
        f"Test store: `{db.name}`, {scored['firms']:,} firms with a {YEAR} filing, of which {scored['scored']:,} are "
        "SMEs in flagship chains (the classifier's population). Synthetic data.",
        "",
        "| Case | Runs | Median s | Fastest s | Peak RSS MB | What |",
        "|---|---|---|---|---|---|",
    ]
    if train is not None:
        fitted = train.runs[-1].report
        lines.append(
            f"| train | {len(train.runs)} | {train.median():.1f} | {train.fastest():.1f} | {train.peak_rss_mb:,.0f} | "
            f"{fitted['n_train']:,} labelled rows ({fitted['n_positive']:,} confirmed): grouped 5-fold CV, temporal "
            "check, final calibrated fit, skops file and card; reading the labelled rows not included "
            f"({train.median('load_seconds'):.1f} s) |"
        )
    lines += [
        f"| score | {len(score.runs)} | {score.median():.1f} | {score.fastest():.1f} | {score.peak_rss_mb:,.0f} | "
        f"{scored['firms']:,} firms: the index and its largest components for all, the score, its factors, the "
        f"sub-judgements and the R&D intensity a near miss needs for {scored['scored']:,} ({scored['factors']:,} "
        f"factors and components kept, no sentence: they are rendered where shown), a piece at a time as a run "
        f"computes them; storing the pieces in DuckDB {score.median('store_seconds'):.1f} s more |",
    ]
    if run is not None:
        kept = run.runs[-1].report
        selected = ", ".join(f"{tier} {n:,}" for tier, n in kept["selected"].items())
        lines.append(
            f"| run | {len(run.runs)} | {run.median():.1f} | {run.fastest():.1f} | {run.peak_rss_mb:,.0f} | "
            f"`api.run_year({YEAR})` as `assess run` does it, with model {kept['model_id']}: every flag rule and "
            f"rubric, the headline figures, the scores with their reasons, the three lists (selected: {selected}), "
            "the run kept in one transaction, its figures and lists read back |"
        )
    lines.append("")
    if train is not None:
        cv = train.runs[-1].report["cv"]
        lines += [
            f"Grouped-CV metrics of the {TRAIN_ROWS:,}-row model: ROC AUC {cv['roc_auc']:.3f}, PR AUC "
            f"{cv['pr_auc']:.3f}, Brier {cv['brier']:.3f}.",
            "",
        ]
    else:
        newest = f"model {scored['model_id']}"
        lines += [f"Training not re-run: the scores come from the store's newest model ({newest}).", ""]
    lines += [
        f"Targets (issue 15): scoring with explanations for 1,000,000 firms in under {MAX_SCORE_SECONDS:.0f} s: "
        f"{verdict(time_met)} (median {score.median():.1f} s); its peak RSS under {PEAK_RSS_LIMIT_MB:,} MB: "
        f"{verdict(memory_met)} ({score.peak_rss_mb:,.0f} MB, the whole process).",
        "",
    ]
    if run is not None:
        lines += [
            f"`assess run` of one year in under {PEAK_RSS_LIMIT_MB:,} MB (the issue sets it for 1,500,000 firms; "
            f"measured here for {scored['firms']:,}): {verdict(run.peak_rss_mb < PEAK_RSS_LIMIT_MB)} "
            f"({run.peak_rss_mb:,.0f} MB).",
            "",
        ]
    return "\n".join(lines)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="the test store (default: bench/run.py's, built if missing)")
    parser.add_argument("--train-repeats", type=int, default=1, help="runs of the training case (default 1)")
    parser.add_argument("--run-repeats", type=int, default=1, help="runs of the run case (default 1)")


def main() -> None:
    _, args = parse_args(__doc__ or "", CASES, _arguments)
    if args.case:
        print(json.dumps(CASES[args.case](args.db or ensure_store())))
        return
    db = args.db or ensure_store()
    load = os.getloadavg()[0]
    results: dict[str, CaseResult] = {}
    for case, repeats in (("train", args.train_repeats), ("score", args.repeats), ("run", args.run_repeats)):
        done = []
        for i in range(1, repeats + 1):
            run = measure(__file__, case, "--db", str(db))
            print(f"{case} run {i}/{repeats}: {run.seconds:.1f} s, {run.peak_rss_mb:,.0f} MB", file=sys.stderr)
            done.append(run)
        if done:
            results[case] = CaseResult(case, done)
    write_section(HEADING, section(results.get("train"), results["score"], results.get("run"), db, load))


if __name__ == "__main__":
    main()
