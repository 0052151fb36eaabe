"""The Spark resource picks its engine from configuration and fails in one line when it cannot start."""

from __future__ import annotations

import pytest

from mesh_platform.spark import SparkResource, SparkUnavailable, create_session


def test_engine_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("MESH_SPARK_REMOTE", "sc://127.0.0.1:15002")
    assert SparkResource.from_env().remote == "sc://127.0.0.1:15002"
    monkeypatch.delenv("MESH_SPARK_REMOTE")
    monkeypatch.setenv("MESH_SPARK_MASTER", "spark://127.0.0.1:7077")
    resource = SparkResource.from_env()
    assert (resource.remote, resource.master) == (None, "spark://127.0.0.1:7077")


def test_missing_java_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SparkUnavailable) as caught:
        create_session(None, "local[1]", {})
    assert str(caught.value).startswith("Java not found: install Java 17") and "\n" not in str(caught.value)


def test_unreachable_spark_connect_server_is_one_clear_line():
    with pytest.raises(SparkUnavailable, match=r"^no Spark Connect server answers at sc://127\.0\.0\.1:9 "):
        create_session("sc://127.0.0.1:9", "local[*]", {})


def test_local_session_is_laptop_sized(spark):
    conf = spark.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.ui.enabled") == "false" and conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert int(conf.get("spark.sql.shuffle.partitions")) <= 16
