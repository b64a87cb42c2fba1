"""Trained models on disk, beside the database: `<db>.models/model-<sha>.skops` with its model card, registered in
the `models` table with the file's SHA-256, the labels and configuration it was trained on, and its metrics.

Models are written with skops, never pickle, and read back only when the file's SHA-256 is the one registered and
every type in it is on the explicit allow-list below: a changed or foreign file is refused with a Chinese message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV

from assess.store import Store, StoreError, upkeep

# Every type a saved classifier holds beyond the ones skops trusts by default (numpy, scikit-learn estimators).
ALLOWED_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


@dataclass(frozen=True)
class ModelRecord:
    model_id: int
    created_at: dt.datetime
    file: str
    sha256: str
    labels_sha256: str
    config_sha256: str
    report: dict


def models_dir(store: Store) -> Path:
    return store.models_dir


def save(
    store: Store, model: CalibratedClassifierCV, card: str, labels_sha256: str, config_sha256: str, report: dict
) -> ModelRecord:
    """Write the model and its card, then register them; the file name carries the hash, so a rewrite is visible."""
    data = sio.dumps(model)
    sha = hashlib.sha256(data).hexdigest()
    directory = models_dir(store)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"model-{sha[:16]}.skops"
    partial = target.with_suffix(".partial")
    # until the model's row commits, no store opening meanwhile takes its files for orphans
    with upkeep.in_flight(partial, target, target.with_suffix(".md")):
        partial.write_bytes(data)
        partial.replace(target)
        target.with_suffix(".md").write_text(card, encoding="utf-8")
        created = dt.datetime.now()
        model_id = store.con.execute(
            "INSERT INTO models VALUES (nextval('model_ids'), ?, ?, ?, ?, ?, ?) RETURNING model_id",
            [created, target.name, sha, labels_sha256, config_sha256, json.dumps(report, ensure_ascii=False)],
        ).fetchall()[0][0]
    return ModelRecord(int(model_id), created, target.name, sha, labels_sha256, config_sha256, report)


def find(store: Store, labels_sha256: str, config_sha256: str) -> ModelRecord | None:
    """The newest model trained on exactly these labels with exactly this configuration."""
    rows = store.con.execute(
        """SELECT model_id, created_at, file, sha256, labels_sha256, config_sha256, report FROM models
           WHERE labels_sha256 = ? AND config_sha256 = ? ORDER BY model_id DESC LIMIT 1""",
        [labels_sha256, config_sha256],
    ).fetchall()
    if not rows:
        return None
    model_id, created, file, sha, labels, config, report = rows[0]
    return ModelRecord(model_id, created, file, sha, labels, config, json.loads(report))


def load(store: Store, record: ModelRecord) -> CalibratedClassifierCV:
    """The registered model, refused unless its file is unchanged and holds only allowed types."""
    return loads(read(models_dir(store) / record.file, record.sha256), record.file)


def read(path: Path, sha256: str) -> bytes:
    """A model file's bytes, refused unless their SHA-256 is the one registered."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"模型文件「{path.name}」无法读取（{exc.strerror}）：请重新运行 assess train。") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StoreError(
            f"模型文件「{path.name}」的 SHA-256 与登记的不一致，文件可能已被改动：拒绝使用。请重新运行 assess train。"
        )
    return data


def loads(data: bytes, name: str) -> CalibratedClassifierCV:
    """A model from the bytes of its (checked) file `name`, refused unless it holds only allowed types."""
    foreign = sorted(set(sio.get_untrusted_types(data=data)) - set(ALLOWED_TYPES))
    if foreign:
        raise StoreError(f"模型文件「{name}」含有不在允许清单中的类型：{'、'.join(foreign)}。拒绝加载。")
    return sio.loads(data, trusted=list(ALLOWED_TYPES))
