"""Starting Spark: the PySpark check that comes before anything else, and the session built from settings that a
file or flags give, so that the same command runs in local mode or on a cluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assess.errors import ResourceError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL = "pip install 'assess[spark]'"


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


def start(settings: SparkSettings) -> SparkSession:
    """A Spark session with these settings (an existing one in this process is reused, as Spark does)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(settings.master).appName("assess")
    for key, value in settings.conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
