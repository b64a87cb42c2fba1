"""The store's tables, in one place, with the schema version and the migrations from each earlier version.

Every table of the database is created here: the filings side (uploads, versions, problems), the runs side (runs and
their results) and the registered models. A database of an earlier version is migrated when it is opened, in one
transaction; every later change of a table bumps SCHEMA_VERSION, adds a migration below and a fixture database of
the version before it under tests/fixtures/stores/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from assess.contract import Contract, FieldSpec

SCHEMA_VERSION = 7

# What a run keeps of a score's and an index's reasons, most important first (assess.scoring.reasons renders them):
# the classifier's factors, and the index's components.
FACTORS_SQL = "STRUCT(feature VARCHAR, value DOUBLE, percentile DOUBLE, effect DOUBLE, without DOUBLE)[]"
INDEX_FACTORS_SQL = "STRUCT(component VARCHAR, value DOUBLE, percentile DOUBLE, points DOUBLE, weight DOUBLE)[]"

# What the counts, the 待补数据 rows and a firm's explanation read of a rubric result, kept beside the whole of it
# (`result`, JSON: its gates, points and tracks differ from pack to pack).
RUBRIC_COLUMNS_SQL = "credit_code VARCHAR, verdict BOOLEAN, missing VARCHAR[]"

_SQL_TYPES = {
    "year": "INTEGER",
    "boolean": "BOOLEAN",
    "money": "DECIMAL(38,6)",
    "percent": "DECIMAL(38,6)",
    "count": "BIGINT",
    "set": "VARCHAR[]",
    "date": "DATE",
}


def _sql_type(spec: FieldSpec) -> str:
    return _SQL_TYPES.get(spec.kind, "VARCHAR")


_FILING_ROW = {"upload_id": "INTEGER", "seq": "INTEGER", "sheet": "VARCHAR", "row_number": "BIGINT"}
_SUPPLEMENT = {"column_header": "VARCHAR", "credit_code": "VARCHAR", "year": "INTEGER", "field": "VARCHAR",
               "value": "DECIMAL(38,6)"}  # fmt: skip


def source_columns(contract: Contract) -> dict[str, dict[str, str]]:
    """The columns (DuckDB types) of the `filings` and `supplements` views the features read: the versions in force."""
    return {
        "filings": {**_FILING_ROW, **{spec.name: _sql_type(spec) for spec in contract.fields}, "extra": "JSON"},
        "supplements": {**_FILING_ROW, **_SUPPLEMENT},
    }


def _filings_sql(contract: Contract) -> str:
    """The filings side; a field the contract gained after the table was created is added to it (empty for the
    filings stored before), so a contract may grow without a migration of its own."""
    fields = ",\n".join(f"{spec.name} {_sql_type(spec)}" for spec in contract.fields)
    added = "\n".join(
        f"ALTER TABLE filing_versions ADD COLUMN IF NOT EXISTS {spec.name} {_sql_type(spec)};"
        for spec in contract.fields
    )
    return f"""
    CREATE SEQUENCE IF NOT EXISTS upload_ids START 1;
    CREATE TABLE IF NOT EXISTS uploads (
        upload_id INTEGER PRIMARY KEY, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        size_bytes BIGINT NOT NULL, uploaded_at TIMESTAMP NOT NULL, options VARCHAR NOT NULL,
        stored_file VARCHAR NOT NULL, rows_read INTEGER NOT NULL, accepted INTEGER NOT NULL,
        rejected INTEGER NOT NULL, skipped INTEGER NOT NULL, warnings INTEGER NOT NULL,
        retracted_at TIMESTAMP, uploaded_by VARCHAR
    );
    CREATE TABLE IF NOT EXISTS filing_versions (
        upload_id INTEGER NOT NULL, seq INTEGER NOT NULL, sheet VARCHAR, row_number BIGINT NOT NULL,
        {fields},
        extra JSON, is_current BOOLEAN NOT NULL
    );
    {added}
    CREATE TABLE IF NOT EXISTS supplement_versions (
        upload_id INTEGER NOT NULL, seq INTEGER NOT NULL, sheet VARCHAR, row_number BIGINT NOT NULL,
        column_header VARCHAR NOT NULL, credit_code VARCHAR NOT NULL, year INTEGER NOT NULL,
        field VARCHAR NOT NULL, value DECIMAL(38,6) NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE IF NOT EXISTS problems (
        upload_id INTEGER NOT NULL, seq INTEGER NOT NULL, sheet VARCHAR, row_number BIGINT,
        column_header VARCHAR, code VARCHAR NOT NULL, level VARCHAR NOT NULL, value VARCHAR,
        message VARCHAR NOT NULL, hint VARCHAR NOT NULL
    );
    CREATE OR REPLACE VIEW filings AS
        SELECT * EXCLUDE (is_current) FROM filing_versions WHERE is_current;
    CREATE OR REPLACE VIEW supplements AS
        SELECT * EXCLUDE (is_current) FROM supplement_versions WHERE is_current;
    """


_RUNS_SQL = f"""
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, year INTEGER NOT NULL, created_at TIMESTAMP NOT NULL, manifest JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_hits (
    run_id INTEGER NOT NULL, rule_id VARCHAR NOT NULL, credit_code VARCHAR NOT NULL, name VARCHAR, year INTEGER,
    city VARCHAR, direction VARCHAR, chain VARCHAR, message VARCHAR, verdict BOOLEAN, missing VARCHAR[]
);
CREATE TABLE IF NOT EXISTS rule_counts (
    run_id INTEGER NOT NULL, rule_id VARCHAR NOT NULL, year INTEGER, level VARCHAR NOT NULL, key VARCHAR,
    population BIGINT NOT NULL, hits BIGINT NOT NULL, unknown BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rubric_results (
    run_id INTEGER NOT NULL, pack_id VARCHAR NOT NULL, result JSON NOT NULL, {RUBRIC_COLUMNS_SQL}
);
CREATE TABLE IF NOT EXISTS run_figures (run_id INTEGER NOT NULL, figures JSON NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    run_id INTEGER NOT NULL, credit_code VARCHAR NOT NULL, name VARCHAR, city VARCHAR, direction VARCHAR,
    chain VARCHAR, scored BOOLEAN NOT NULL, score DOUBLE, score_source VARCHAR, "index" DOUBLE, stage VARCHAR,
    rd_share BOOLEAN, growth BOOLEAN, market_share BOOLEAN, core_tech BOOLEAN, reasons VARCHAR[],
    index_reasons VARCHAR[], rd_intensity DOUBLE, rd_intensity_needed DOUBLE, factors {FACTORS_SQL},
    index_factors {INDEX_FACTORS_SQL}
);
CREATE TABLE IF NOT EXISTS tier_results (
    run_id INTEGER NOT NULL, list_id VARCHAR NOT NULL, credit_code VARCHAR NOT NULL, status VARCHAR NOT NULL,
    rank BIGINT, position BIGINT, value DOUBLE, gates VARCHAR, lacks VARCHAR
);
CREATE TABLE IF NOT EXISTS tier_funnels (
    run_id INTEGER NOT NULL, list_id VARCHAR NOT NULL, city VARCHAR, step INTEGER NOT NULL, kind VARCHAR NOT NULL,
    label VARCHAR NOT NULL, firms BIGINT NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS user_ids START 1;
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER NOT NULL, name VARCHAR NOT NULL, role VARCHAR NOT NULL, city VARCHAR,
    password_hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, disabled_at TIMESTAMP,
    token_sha256 VARCHAR, token_created_at TIMESTAMP
);
CREATE SEQUENCE IF NOT EXISTS audit_seq START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT NOT NULL, logged_at TIMESTAMP NOT NULL, user_name VARCHAR, action VARCHAR NOT NULL, object VARCHAR,
    outcome VARCHAR NOT NULL, detail VARCHAR
);
CREATE SEQUENCE IF NOT EXISTS model_ids START 1;
CREATE TABLE IF NOT EXISTS models (
    model_id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
    labels_sha256 VARCHAR NOT NULL, config_sha256 VARCHAR NOT NULL, report JSON NOT NULL
);
"""


def new_fields(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
    """The contract's fields (`names`) that the stored filings do not have a column for yet."""
    stored = {row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE filing_versions)").fetchall()}
    return [name for name in names if name not in stored]


def create(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Every table and view, where missing."""
    con.execute(_filings_sql(contract) + _RUNS_SQL)


# Version 1 kept no pack roles in a run's manifest: its two target packs were known by id.
_V1_ROLES = {"yiqingling": ("no_rd_activity", "yiqingling.no_rd_activity"),
             "yitisheng": ("institution_coverage", "yitisheng.no_rd_institution")}  # fmt: skip


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    """Runs and models moved into the store's schema (version 1 created them on first use), and each run's manifest
    names the role of its target packs, as runs record them from version 2 on."""
    con.execute(_RUNS_SQL)
    for run_id, text in con.execute("SELECT run_id, manifest FROM runs").fetchall():
        manifest = json.loads(text)
        for pack in manifest.get("packs", []):
            role, rule = _V1_ROLES.get(pack["id"], (None, None))
            pack.setdefault("role", role)
            pack.setdefault("rules", [rule] if rule else [])
        con.execute("UPDATE runs SET manifest = ? WHERE run_id = ?", [json.dumps(manifest, ensure_ascii=False), run_id])


def _v2_to_v3(con: duckdb.DuckDBPyConnection) -> None:
    """A rule's verdict may be unknown (待补数据) from version 3 on: rule_hits keep unknown verdicts beside the flagged
    ones, with the inputs that were missing, and rule_counts count them. Every hit of an earlier run was a flag.
    Runs also keep the plan's headline figures (run_figures, created with the other tables); earlier runs have none."""
    con.execute(
        """
        ALTER TABLE rule_hits ADD COLUMN IF NOT EXISTS verdict BOOLEAN DEFAULT true;
        ALTER TABLE rule_hits ADD COLUMN IF NOT EXISTS missing VARCHAR[];
        ALTER TABLE rule_counts ADD COLUMN IF NOT EXISTS unknown BIGINT DEFAULT 0;
        """
    )


def _v3_to_v4(con: duckdb.DuckDBPyConnection) -> None:
    """Runs keep each list's funnel from version 4 on (tier_funnels, created with the other tables): the firms left
    after each gate, exclusion and the selection. Earlier runs have none, and say so where a funnel is shown."""


def _v4_to_v5(con: duckdb.DuckDBPyConnection) -> None:
    """From version 5 on, the store keeps the web app's users with their personal tokens and the audit log (created
    with the other tables), and each upload who made it; earlier uploads were made at the command line, by nobody
    the store knows."""
    con.execute("ALTER TABLE uploads ADD COLUMN IF NOT EXISTS uploaded_by VARCHAR")


def _v5_to_v6(con: duckdb.DuckDBPyConnection) -> None:
    """From version 6 on, a run keeps what its reasons rest on, not the sentences: each score's factors and each
    index's components (the sentences are rendered where they are shown). The sentences earlier runs kept in their
    scores (reasons, index_reasons) stay and are shown as they were; later runs leave those columns empty. A list's
    reasons were the first of its firms' score or index reasons: they are read from the scores from now on, and
    tier_results no longer keeps them."""
    con.execute(
        f"""
        ALTER TABLE scores ADD COLUMN IF NOT EXISTS factors {FACTORS_SQL};
        ALTER TABLE scores ADD COLUMN IF NOT EXISTS index_factors {INDEX_FACTORS_SQL};
        ALTER TABLE tier_results DROP COLUMN IF EXISTS reasons;
        """
    )


def _v6_to_v7(con: duckdb.DuckDBPyConnection) -> None:
    """From version 7 on, a rubric result keeps the firm's credit code, its verdict and the inputs that left it open
    in columns of their own beside the whole result (JSON), read from the JSON of the results stored before; counting
    the verdicts and listing the open ones no longer parses every firm's JSON."""
    for column in RUBRIC_COLUMNS_SQL.split(", "):
        con.execute(f"ALTER TABLE rubric_results ADD COLUMN IF NOT EXISTS {column}")
    con.execute(
        """
        UPDATE rubric_results SET credit_code = result->>'credit_code', verdict = CAST(result->>'verdict' AS BOOLEAN),
                                  missing = CAST(result->'missing' AS VARCHAR[])
        """
    )


MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _v5_to_v6,
    6: _v6_to_v7,
}  # N to N + 1
