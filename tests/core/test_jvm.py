"""Where the JVM artifacts are cached, and how jar files are named (no Maven, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vehsim import jvm
from vehsim.errors import ConfigError


def test_the_cache_folder_follows_the_variable_then_the_checkout_then_the_user_cache(tmp_path):
    assert jvm.jars_root({"VEHSIM_JARS_DIR": str(tmp_path / "j")}) == tmp_path / "j"
    checkout = Path(jvm.__file__).resolve().parents[1]
    expected = (
        checkout / ".jars"
        if (checkout / "pyproject.toml").is_file() and (checkout / ".jars").is_dir()
        else (tmp_path / "cache" / "vehsim" / "jars")
    )
    assert jvm.jars_root({"XDG_CACHE_HOME": str(tmp_path / "cache")}) == expected


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("kafka-clients-3.9.2.jar", "kafka-clients"),
        ("spark-sql-kafka-0-10_2.13-4.2.0.jar", "spark-sql-kafka-0-10_2.13"),
        ("scala-library-2.13.18.jar", "scala-library"),
        ("jackson-annotations-2.21.jar", "jackson-annotations"),
        ("zstd-jni-1.5.6-10.jar", "zstd-jni"),
        ("hadoop-client-api-3.5.0.jar", "hadoop-client-api"),
    ],
)
def test_artifact_names_drop_the_version(jar, artifact):
    assert jvm.artifact_name(jar) == artifact


def test_every_set_has_a_pom_and_an_unknown_set_is_refused():
    for name in jvm.SETS:
        assert jvm.pom_path(name).is_file()
    with pytest.raises(ConfigError, match="unknown JVM artifact set"):
        jvm.pom_path("nope")


def test_a_cache_made_for_another_pom_is_not_used(tmp_path):
    folder = tmp_path / "spark"
    folder.mkdir()
    (folder / "x-1.0.jar").write_bytes(b"")
    (folder / ".pom-sha256").write_text("0" * 64 + "\n")
    assert jvm.cached_jars("spark", tmp_path) is None
    (folder / ".pom-sha256").write_text(jvm._pom_hash("spark") + "\n")
    assert jvm.cached_jars("spark", tmp_path) == [folder / "x-1.0.jar"]
