"""Starting Spark: the PySpark check that comes before anything else, and the session built from settings that a
file or flags give, so that the same command runs in local mode or on a cluster."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assess.errors import InputError, ResourceError, describe_os_error
from assess.resources import parse_yaml

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL = "pip install 'assess[spark]'"
MASTER = "spark.master"
DEFAULT_MASTER = "local[*]"  # every core of this machine
QUIET = {"spark.log.level": "ERROR", "spark.ui.showConsoleProgress": "false"}
WORKER_PYTHON = "PYSPARK_PYTHON"  # the environment variable PySpark reads for the Python its workers run


def require_pyspark() -> None:
    """Refuse, saying what to install, where PySpark is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ResourceError(
            f"用 Spark 评估需要 PySpark，本机没有安装：请运行 {INSTALL}"
            "（还需要 Java 17 或更高版本的运行环境，如 Debian 的 openjdk-17-jre-headless）。"
        ) from exc


@dataclass(frozen=True)
class SparkSettings:
    master: str  # local[2], or a cluster's address
    conf: Mapping[str, str] = field(default_factory=dict)  # spark.driver.memory and any other Spark setting


def settings(file: Path | None, master: str | None) -> SparkSettings:
    """Spark settings from a YAML file of Spark setting names and values (`spark.master: local[4]`,
    `spark.driver.memory: 4g`, ...), `master` overriding the file's; by default local mode on every core, Spark's
    errors alone in its log, and no progress bars of Spark's own (a run reports its steps)."""
    conf = {**QUIET, **(_read(file) if file is not None else {})}
    chosen = master or conf.pop(MASTER, None) or DEFAULT_MASTER
    conf.pop(MASTER, None)
    return SparkSettings(master=chosen, conf=conf)


def _read(file: Path) -> dict[str, str]:
    import yaml

    try:
        loaded = parse_yaml(file.read_bytes())
    except OSError as exc:
        raise InputError(f"Spark 设置文件「{file}」无法读取：{describe_os_error(exc)}。") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"Spark 设置文件「{file.name}」的 YAML 格式有误：请检查缩进、冒号和引号。") from exc
    if not isinstance(loaded, dict) or not all(
        isinstance(key, str) and key.startswith("spark.") and isinstance(value, str | int | float | bool)
        for key, value in loaded.items()
    ):
        raise InputError(
            f"Spark 设置文件「{file.name}」应是 Spark 设置名到取值的映射，每行如 spark.driver.memory: 4g。"
        )
    return {key: _text(value) for key, value in loaded.items()}


def _text(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def start(settings: SparkSettings) -> SparkSession:
    """A Spark session with these settings (an existing one in this process is reused, as Spark does). In local
    mode the workers run this Python (where assess is installed) unless PYSPARK_PYTHON names another; on a cluster,
    assess must be installed in the Python its workers run."""
    require_pyspark()
    from pyspark.sql import SparkSession

    if settings.master.startswith("local"):
        os.environ.setdefault(WORKER_PYTHON, sys.executable)
    builder = SparkSession.builder.master(settings.master).appName("assess")
    for key, value in settings.conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
