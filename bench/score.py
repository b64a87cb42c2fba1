"""Scoring benchmark: training the 三高一核心 classifier on 200,000 labelled filings, then scoring and explaining every
firm of one year in the 1,000,000-enterprise test store of bench/run.py (built there, reused here).

`python bench/score.py` runs the training case (once by default: it cross-validates, so it is the slow one; with
`--train-repeats 0` not at all, scoring with the newest model the store has) and then the scoring case three times,
each run in its own process under GNU time (`/usr/bin/time -v`), and rewrites the scoring section of
bench/RESULTS.md. `python bench/score.py --case NAME --db PATH` is one such run, printing its measurement as one JSON
line. Training registers its model in the test store; scoring uses the newest model there.
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
    keeps, from which the sentences are rendered where they are shown); then the rows stored in DuckDB."""
    from assess.contract import load_contract
    from assess.resources import PACKAGED_RULES
    from assess.run.config import load_config
    from assess.run.context import install_features
    from assess.scoring import persist
    from assess.scoring.score import score_year
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
        start = time.perf_counter()
        frame = score_year(store, rules, config, YEAR, trained).frame
        scored = time.perf_counter()
        store.con.register("scored_rows", frame.to_arrow())
        store.con.execute("CREATE TEMP TABLE bench_scores AS SELECT * FROM scored_rows")
        end = time.perf_counter()
    return {
        "seconds": scored - start,
        "store_seconds": end - scored,
        "firms": frame.height,
        "scored": int(frame["scored"].sum()),
        "factors": int(frame["factors"].list.len().sum()) + int(frame["index_factors"].list.len().sum()),
        "model_id": record.model_id,
    }


CASES: dict[str, Callable[[Path], dict]] = {"train": train_case, "score": score_case}


# --- RESULTS.md ---------------------------------------------------------------------------------------------------


def section(train: CaseResult | None, score: CaseResult, db: Path, load: float) -> str:
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
        f"factors and components kept, no sentence: they are rendered where shown); storing them in DuckDB "
        f"{score.median('store_seconds'):.1f} s more |",
        "",
    ]
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
    return "\n".join(lines)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="the test store (default: bench/run.py's, built if missing)")
    parser.add_argument("--train-repeats", type=int, default=1, help="runs of the training case (default 1)")


def main() -> None:
    _, args = parse_args(__doc__ or "", CASES, _arguments)
    if args.case:
        print(json.dumps(CASES[args.case](args.db or ensure_store())))
        return
    db = args.db or ensure_store()
    load = os.getloadavg()[0]
    results: dict[str, CaseResult] = {}
    for case, repeats in (("train", args.train_repeats), ("score", args.repeats)):
        done = []
        for i in range(1, repeats + 1):
            run = measure(__file__, case, "--db", str(db))
            print(f"{case} run {i}/{repeats}: {run.seconds:.1f} s, {run.peak_rss_mb:,.0f} MB", file=sys.stderr)
            done.append(run)
        if done:
            results[case] = CaseResult(case, done)
    write_section(HEADING, section(results.get("train"), results["score"], db, load))


if __name__ == "__main__":
    main()
