"""Where the JVM artifacts are cached, and how jar files are named (no Maven, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vehsim import jvm
from vehsim.errors import ConfigError, VehsimError


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


# --- class-data archives ---------------------------------------------------------------------


def _java_home(tmp_path: Path, release: str) -> str:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(release)
    return str(home / "bin" / "java")


def test_an_archive_is_named_after_the_java_build_and_the_jars(tmp_path):
    java = _java_home(tmp_path, 'JAVA_VERSION="17.0.15"\n')
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "a-1.0.jar").write_bytes(b"")
    first = jvm.class_archive_path("spark-driver", java, [jars], tmp_path / "root")
    assert first == jvm.class_archive_path("spark-driver", java, [jars], tmp_path / "root")
    assert first.parent == tmp_path / "root" / "class-archives"
    assert first.name.startswith("spark-driver-") and first.suffix == ".jsa"
    (jars / "b-2.0.jar").write_bytes(b"")  # a new jar on the classpath: a new archive
    second = jvm.class_archive_path("spark-driver", java, [jars], tmp_path / "root")
    assert second != first
    (tmp_path / "jdk" / "release").write_text('JAVA_VERSION="17.0.16"\n')  # a Java update
    assert jvm.class_archive_path("spark-driver", java, [jars], tmp_path / "root") != second


def test_archive_options_only_when_built_and_never_over_the_users_own(tmp_path):
    java = _java_home(tmp_path, "17")
    assert jvm.class_archive_options("x", java, [], tmp_path) == []
    assert jvm.class_archive_options("x", None, [], tmp_path) == []
    path = jvm.class_archive_path("x", java, [], tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"archive")
    assert jvm.class_archive_options("x", java, [], tmp_path) == [
        f"-XX:SharedArchiveFile={path}",
        "-Xlog:cds*=off",
    ]
    assert jvm.chooses_class_archive("-Xmx1g -XX:SharedArchiveFile=/mine.jsa")
    assert jvm.chooses_class_archive("-Xshare:off")
    assert not jvm.chooses_class_archive("-Xmx1g -Xlog:gc")
    assert not jvm.chooses_class_archive(None)


def test_an_archive_is_written_under_a_temporary_name_and_replaces_older_ones(tmp_path):
    java = _java_home(tmp_path, "17")
    stale = tmp_path / "class-archives" / "x-0000000000000000.jsa"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    seen: list[list[str]] = []

    def train(options):
        seen.append(options)
        target = Path(options[0].split("=", 1)[1])
        assert target.parent == stale.parent and target.name.startswith(".")
        target.write_bytes(b"new")  # what the JVM does as it exits

    path = jvm.build_class_archive("x", java, [], train, root=tmp_path)
    assert path.read_bytes() == b"new" and not stale.exists()
    assert seen[0][0].startswith("-XX:ArchiveClassesAtExit=") and seen[0][1] == "-Xlog:cds*=off"
    assert jvm.build_class_archive("x", java, [], train, root=tmp_path) == path
    assert len(seen) == 1  # built once
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_training_run_that_writes_no_archive_is_an_error(tmp_path):
    java = _java_home(tmp_path, "17")
    with pytest.raises(VehsimError, match="exited without writing"):
        jvm.build_class_archive("x", java, [], lambda options: None, root=tmp_path)
    assert not list((tmp_path / "class-archives").iterdir())
