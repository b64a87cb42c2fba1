"""Training the classifier on the store's labelled filings, or saying clearly why the index stands in for it.

The model is keyed by what it learned from: the SHA-256 of the labels (credit code, year, verdict) and of the
classifier configuration. `ensure_model` reuses a registered model with the same keys and trains one otherwise, so
`assess run` trains first when no model exists for the store's labels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV

from assess.features import BY_NAME, view_for
from assess.progress import Progress, Steps
from assess.scoring import model as classifier
from assess.scoring import persist
from assess.scoring.card import model_card
from assess.scoring.config import ClassifierConfig
from assess.scoring.persist import ModelRecord
from assess.store import Store, StoreError


@dataclass(frozen=True)
class Trained:
    """The outcome of training: a registered model, or the fallback with its reason."""

    report: dict  # n_train, n_positive, n_negative, fallback, cv, temporal, message, model_id, sha256
    record: ModelRecord | None
    model: CalibratedClassifierCV | None

    @property
    def fallback(self) -> bool:
        return self.record is None

    def configured(self, config: ClassifierConfig) -> ClassifierConfig:
        """The configuration as the model was trained: only the features it learnt from (a model registered before
        features could be left out learnt from all of them)."""
        return config.restricted(self.report.get("features", config.feature_names))


def uninformative(config: ClassifierConfig, data: classifier.Labelled) -> dict[str, str]:
    """The configured features the labelled filings cannot teach, with why (in Chinese, naming the feature): no value
    at all (a column nobody filed), one value for every firm, or values from so few firms that the grouped
    calibration has a fold without any. They are left out of the model, its card and every reason it gives."""
    left_out = {}
    for name in config.feature_names:
        title = BY_NAME[name].title
        values = data.features.get_column(name).drop_nulls().drop_nans().unique()
        if values.len() == 0:
            left_out[name] = f"{title}在训练样本中没有任何取值（该项未填报）"
        elif values.len() == 1:
            left_out[name] = f"{title}在训练样本中所有企业取值相同（{values[0]:g}），无法区分"
    rest = config.restricted([name for name in config.feature_names if name not in left_out])
    for name in classifier.lacking(rest, data):
        firms = len(np.unique(data.firm[data.features.get_column(name).fill_nan(None).is_not_null().to_numpy()]))
        left_out[name] = (
            f"{BY_NAME[name].title}在训练样本中只有{firms}家企业填报，按企业分组校准时有的训练部分没有任何取值，无法学习"
        )
    return left_out


def feature_select(config: ClassifierConfig) -> str:
    return ", ".join(f"CAST(f.{name} AS DOUBLE) AS {name}" for name in config.feature_names)


def labelled(store: Store, config: ClassifierConfig, *, features: bool = True) -> classifier.Labelled:
    """Every current filing with an expert verdict, with the model's features (without `features`: none, which is
    all that finding a registered model needs); the label comes from the filings table and is never among the
    features."""
    label = config.spec.label
    if label not in store.field_names:
        raise StoreError(f"评分模型的标注列「{label}」不是填报字段。")
    view = view_for(config.feature_names)
    frame = store.con.sql(
        f"""
        SELECT f.credit_code, f.year, CAST(l.{label} AS INTEGER) AS label
               {", " + feature_select(config) if features else ""}
        FROM {view} AS f JOIN (SELECT credit_code, year, {label} FROM filings WHERE {label} IS NOT NULL) AS l
        USING (credit_code, year)
        ORDER BY f.credit_code, f.year
        """
    ).pl()
    return classifier.Labelled(
        features=frame.select(config.feature_names if features else []),
        label=frame["label"].to_numpy(),
        firm=frame["credit_code"].to_numpy(),
        year=frame["year"].to_numpy(),
    )


def labels_sha256(data: classifier.Labelled) -> str:
    digest = hashlib.sha256()
    for firm, year, verdict in zip(data.firm, data.year, data.label, strict=True):
        digest.update(f"{firm}\t{year}\t{verdict}\n".encode())
    return digest.hexdigest()


def _too_few(config: ClassifierConfig, data: classifier.Labelled) -> str | None:
    # Grouped cross-validation needs each class in every fold, whatever min_per_class says.
    minimum = max(int(config.spec.value("min_per_class")), int(config.spec.value("cv_folds")))
    positive, negative = data.counts()
    if min(positive, negative) >= minimum:
        return None
    return (
        f"标注不足：专家确认 {positive} 条、否决 {negative} 条，每类至少需要 {minimum} 条才能训练模型。"
        "三高一核心评分暂以创新能力指数 / 100 代替（结果中标为“指数代替”）。"
    )


def train(
    store: Store, config: ClassifierConfig, data: classifier.Labelled | None = None, progress: Progress | None = None
) -> Trained:
    """Validate, fit on every labelled filing, write the model and its card, register it."""
    step = Steps(progress, int(config.spec.value("cv_folds")) + 4)
    step("读取专家评审结果")
    data = labelled(store, config) if data is None else data
    positive, negative = data.counts()
    report: dict = {"n_train": data.size, "n_positive": positive, "n_negative": negative}
    reason = _too_few(config, data)
    if reason is not None:
        return Trained({**report, "fallback": True, "cv": None, "temporal": None, "message": reason}, None, None)
    left_out = uninformative(config, data)
    config = config.restricted([name for name in config.feature_names if name not in left_out])
    if not config.feature_names:
        message = "标注样本中没有任何可区分企业的特征，未训练模型：评分以创新能力指数 / 100 代替。"
        return Trained({**report, "fallback": True, "cv": None, "temporal": None, "message": message}, None, None)
    cv = classifier.cross_validate(config, data, lambda fold: step(f"按企业分组交叉验证：第 {fold} 折"))
    step("时间检验")
    temporal = classifier.temporal_check(config, data)
    step("用全部样本训练模型")
    fitted = classifier.fit(config, data)
    report |= {
        "features": config.feature_names,
        "left_out": left_out,
        "fallback": False,
        "cv": {k: v for k, v in cv.items() if k != "calibration"},
        "calibration": cv["calibration"],
        "temporal": temporal,
        "years": sorted({int(y) for y in data.year}),
        "firms": len(np.unique(data.firm)),
        "seed": config.spec.value("seed"),
        "scikit_learn": metadata.version("scikit-learn"),
        "message": None,
    }
    step("写出模型和模型卡")
    card = model_card(config, report)
    record = persist.save(store, fitted, card, labels_sha256(data), config.sha256, report)
    step.finish()
    return Trained({**report, "model_id": record.model_id, "sha256": record.sha256}, record, fitted)


def ensure_model(store: Store, config: ClassifierConfig, progress: Progress | None = None) -> Trained:
    """The model for the store's current labels and configuration: the registered one if any (refused if its file
    changed), else a newly trained one, else the fallback."""
    found = registered(store, config)
    return found if found is not None else train(store, config, None, progress)


def registered(store: Store, config: ClassifierConfig) -> Trained | None:
    """What `ensure_model` gives without training: the fallback where the labels are too few, the registered model
    for the store's labels and configuration, or None where the labels suffice but no model was trained on them."""
    keys = labelled(store, config, features=False)
    reason = _too_few(config, keys)
    if reason is not None:
        positive, negative = keys.counts()
        report: dict = {"n_train": keys.size, "n_positive": positive, "n_negative": negative}
        return Trained({**report, "fallback": True, "cv": None, "temporal": None, "message": reason}, None, None)
    record = persist.find(store, labels_sha256(keys), config.sha256)
    if record is None:
        return None
    return Trained(
        {**record.report, "model_id": record.model_id, "sha256": record.sha256}, record, persist.load(store, record)
    )


MODEL_FOLDER = "model"  # inside an export: the model file a run on another engine applies


def model_entry(trained: Trained, config: ClassifierConfig) -> dict:
    """A model as an export's manifest records it (`record`: the registered model, its file in MODEL_FOLDER; none
    for the fallback), with the SHA-256 of the classifier configuration it is for."""
    record = trained.record
    entry = {"config_sha256": config.sha256, "report": trained.report, "record": None}
    if record is not None:
        entry["record"] = {
            "model_id": record.model_id,
            "created_at": record.created_at.isoformat(),
            "file": f"{MODEL_FOLDER}/{record.file}",
            "sha256": record.sha256,
            "labels_sha256": record.labels_sha256,
            "config_sha256": record.config_sha256,
        }
    return entry


def from_entry(entry: dict | None, folder: Path, config: ClassifierConfig) -> tuple[Trained, bytes | None]:
    """The model an export carries (`model_entry`), its file checked, with the file's bytes (None: the fallback);
    refused where the export has none or where it was trained for another classifier configuration."""
    if entry is None:
        raise StoreError(
            "导出中没有评分模型：导出时库中还没有按当前专家评审结果训练的模型。请先运行 assess train，再重新导出。"
        )
    if entry["config_sha256"] != config.sha256:
        raise StoreError(
            f"导出中的评分模型是按另一份评分配置训练的，与规则文件夹中的「{config.path.name}」不符："
            "请用同一规则文件夹评估，或用它重新导出（assess export-parquet --rules）。"
        )
    found = entry["record"]
    if found is None:
        return Trained(entry["report"], None, None), None
    data = persist.read(folder / found["file"], found["sha256"])
    record = ModelRecord(
        model_id=found["model_id"],
        created_at=dt.datetime.fromisoformat(found["created_at"]),
        file=Path(found["file"]).name,
        sha256=found["sha256"],
        labels_sha256=found["labels_sha256"],
        config_sha256=found["config_sha256"],
        report={k: v for k, v in entry["report"].items() if k not in ("model_id", "sha256")},
    )
    return Trained(entry["report"], record, persist.loads(data, record.file)), data
