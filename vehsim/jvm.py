"""JVM artifacts vehsim runs on, declared once and fetched by Maven into a local cache.

Each *set* is one classpath, declared by a small ``pom.xml`` under ``vehsim/data/jvm/<set>/``
(the pinned Maven coordinates and why they are what they are are in the README beside them):

- ``kafka-broker``: Apache Kafka for the embedded development broker (``vehsim broker``);
- ``spark``: Spark's Kafka source and delta-spark for the Spark jobs (``vehsim pipeline``).

:func:`ensure_jars` runs ``mvn dependency:copy-dependencies`` once per pom (Maven uses the
machine's own settings, mirrors included) into ``$VEHSIM_JARS_DIR/<set>`` and records the pom's
hash there; later calls find the hash and return at once, without Maven or a network. The cache
folder is ``$VEHSIM_JARS_DIR`` — the Makefile points it at the git-ignored ``.jars/`` of the
checkout, which ``make clean`` keeps — else that ``.jars/`` when it exists, else
``~/.cache/vehsim/jars`` (:func:`jars_root`).

**Class-data archives.** Every JVM vehsim starts loads and verifies the same tens of thousands
of classes before it does any work: a Spark driver spends about a third of a short job's CPU
there. A HotSpot class-data-sharing archive (JEP 350, dynamic archiving; Java 13 and later) holds
them parsed and verified, mapped from one file that every JVM on the machine shares.
:func:`build_class_archive` writes one from a training run (``-XX:ArchiveClassesAtExit``) next to
the jars, named after the Java build and the classpath it was made with;
:func:`class_archive_options` gives a JVM the options that use it when it exists. A JVM that
finds the archive does not fit (another Java, another classpath) ignores it and starts as
without it, quietly.

This module starts no JVM and imports neither Spark nor Kafka: it only finds files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from vehsim.errors import ConfigError, VehsimError

DATA_DIR = Path(__file__).resolve().parent / "data" / "jvm"
SETS = ("kafka-broker", "spark")
_STAMP = ".pom-sha256"
# "kafka-clients-3.9.1.jar" -> "kafka-clients"; "scala-library-2.13.17.jar" -> "scala-library"
_ARTIFACT_RE = re.compile(r"^(?P<artifact>.+?)-\d+(?:\.\d+)*(?:[-.][A-Za-z0-9]+)*\.jar$")


class JarsUnavailable(VehsimError):
    """A set of JVM artifacts is not in the cache and Maven could not fetch it."""


def pom_path(name: str) -> Path:
    """The pom that declares set ``name``."""
    if name not in SETS:
        raise ConfigError(f"unknown JVM artifact set {name!r}; known: {', '.join(SETS)}")
    return DATA_DIR / name / "pom.xml"


def jars_root(env: os._Environ | dict | None = None) -> Path:
    """The cache folder.

    ``$VEHSIM_JARS_DIR`` when set (the Makefile sets it to the checkout's ``.jars/``); else the
    ``.jars/`` of the source checkout this module runs from, when there is one (so notebooks,
    tests and commands started without the Makefile share it); else ``~/.cache/vehsim/jars``,
    beside Maven's own cache of the same artifacts, so that a fresh ``VEHSIM_HOME`` does not
    fetch them again.
    """
    env = os.environ if env is None else env
    if env.get("VEHSIM_JARS_DIR"):
        return Path(env["VEHSIM_JARS_DIR"]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / ".jars").is_dir():
        return checkout / ".jars"
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache.expanduser().resolve() / "vehsim" / "jars"


def artifact_name(jar: str | Path) -> str:
    """The artifact id of a jar file named ``<artifact>-<version>.jar``."""
    name = Path(jar).name
    match = _ARTIFACT_RE.match(name)
    return match["artifact"] if match else name.removesuffix(".jar")


def _pom_hash(name: str) -> str:
    return hashlib.sha256(pom_path(name).read_bytes()).hexdigest()


def cached_jars(name: str, root: Path | None = None) -> list[Path] | None:
    """The jars of set ``name`` if the cache holds them for the current pom, else None."""
    folder = (root or jars_root()) / name
    stamp = folder / _STAMP
    if not stamp.is_file() or stamp.read_text().strip() != _pom_hash(name):
        return None
    return sorted(folder.glob("*.jar"))


def pyspark_jars_dir() -> Path | None:
    """pyspark's bundled ``jars/`` folder, found without importing pyspark (None if absent)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "jars"
    return folder if folder.is_dir() else None


def ensure_jars(
    name: str,
    *,
    exclude_artifacts_in: Path | None = None,
    root: Path | None = None,
    quiet: bool = False,
) -> list[Path]:
    """The jars of set ``name``, fetched with Maven the first time.

    Args:
        name: one of :data:`SETS`.
        exclude_artifacts_in: a folder of jars whose artifacts must not be added a second time
            (default for ``spark``: pyspark's own ``jars/``): a second, older copy of Jackson or
            Hadoop on Spark's classpath breaks it in ways that only show at run time.
        root: cache folder (default :func:`jars_root`).
        quiet: no progress line on stderr.

    Raises:
        JarsUnavailable: not cached and Maven is missing or failed (its output is included).
    """
    root = root or jars_root()
    if exclude_artifacts_in is None and name == "spark":
        exclude_artifacts_in = pyspark_jars_dir()
    found = cached_jars(name, root)
    if found is not None:
        return found
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarsUnavailable(
            f"the JVM artifacts '{name}' are not in {root / name} and Maven ('mvn') is not "
            "installed to fetch them; install Maven (Debian: apt-get install maven) and run "
            "'vehsim jars fetch'"
        )
    if not quiet:
        print(f"vehsim: fetching JVM artifacts '{name}' with Maven (once) ...", file=sys.stderr)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        command = [
            mvn,
            "--batch-mode",
            "--quiet",
            "-f",
            str(pom_path(name)),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise JarsUnavailable(
                f"Maven could not fetch the JVM artifacts '{name}' ({pom_path(name)}):\n{tail}"
            )
        if exclude_artifacts_in is not None:
            present = {artifact_name(j) for j in Path(exclude_artifacts_in).glob("*.jar")}
            for jar in staging.glob("*.jar"):
                if artifact_name(jar) in present:
                    jar.unlink()
        (staging / _STAMP).write_text(_pom_hash(name) + "\n")
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return sorted((root / name).glob("*.jar"))


def classpath(jars: Iterable[Path]) -> str:
    """A Java classpath string of ``jars``."""
    return os.pathsep.join(str(j) for j in jars)


# --- command line: ``vehsim jars fetch|path`` ---------------------------------------------------


def register_cli(subparsers) -> None:
    parser = subparsers.add_parser(
        "jars",
        help="fetch the JVM artifacts (Apache Kafka, Spark's Kafka source, delta-spark) once",
        description=(
            "Fetch the pinned JVM artifacts declared in vehsim/data/jvm/*/pom.xml with Maven into "
            "$VEHSIM_JARS_DIR (default: the checkout's .jars/, else ~/.cache/vehsim/jars); later "
            "runs use the cache offline."
        ),
    )
    parser.add_argument("action", choices=("fetch", "path"))
    parser.add_argument("sets", nargs="*", metavar="SET", help=f"default: all ({', '.join(SETS)})")
    parser.set_defaults(func=_cli)


def _cli(args) -> int:
    names = args.sets or list(SETS)
    for name in names:
        pom_path(name)  # an unknown name fails before anything is fetched
    for name in names:
        if args.action == "fetch":
            jars = ensure_jars(name)
            print(f"{name}: {len(jars)} jars in {jars_root() / name}", file=sys.stderr)
        else:
            print(jars_root() / name)
    return 0


# --- class-data archives -----------------------------------------------------------------------

#: The JVM's class-data-sharing messages off: an archive that does not fit this JVM is ignored,
#: which costs start-up time and nothing else, and is no reason to print to a user's console.
CDS_QUIET = "-Xlog:cds*=off"
#: Options a JVM's own settings may carry that choose its class-data archive; given them, vehsim
#: adds none of its own.
CDS_OPTIONS = ("-XX:SharedArchiveFile", "-XX:ArchiveClassesAtExit", "-Xshare")


def java_executable() -> str | None:
    """``$JAVA_HOME/bin/java``, else ``java`` on PATH (the rule of Spark's launcher), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def class_archive_path(
    name: str, java: str, classpath_dirs: Iterable[Path], root: Path | None = None
) -> Path:
    """Where the class-data archive ``name`` for this Java and these classpath folders lives.

    The file name carries a digest of the Java build (the ``release`` file of its home) and of
    the jar names in ``classpath_dirs``, so a new Java or a new jar gets an archive of its own.
    """
    java_home = Path(java).resolve().parents[1]
    release = java_home / "release"
    digest = hashlib.sha256(str(java_home).encode())
    if release.is_file():
        digest.update(release.read_bytes())
    for folder in classpath_dirs:
        digest.update(f"\n{folder}:".encode())
        digest.update(",".join(sorted(j.name for j in Path(folder).glob("*.jar"))).encode())
    return (root or jars_root()) / "class-archives" / f"{name}-{digest.hexdigest()[:16]}.jsa"


def class_archive_options(
    name: str, java: str | None, classpath_dirs: Iterable[Path], root: Path | None = None
) -> list[str]:
    """The JVM options that use archive ``name``, or none when it was not built."""
    if java is None:
        return []
    path = class_archive_path(name, java, classpath_dirs, root)
    return [f"-XX:SharedArchiveFile={path}", CDS_QUIET] if path.is_file() else []


def chooses_class_archive(java_options: str | None) -> bool:
    """Whether JVM options already choose a class-data archive (or switch sharing off)."""
    return any(option in (java_options or "") for option in CDS_OPTIONS)


def build_class_archive(
    name: str,
    java: str,
    classpath_dirs: Iterable[Path],
    train: Callable[[list[str]], None],
    root: Path | None = None,
    rebuild: bool = False,
) -> Path:
    """Write class-data archive ``name`` from a training run, unless it exists.

    ``train(options)`` runs a JVM of this classpath with ``options`` through a typical workload
    and returns once it has exited; the JVM writes the archive of every class it loaded as it
    exits. The file is written under a temporary name and renamed into place, so a JVM never
    maps half an archive, and archives of an older Java or classpath are removed.

    Raises:
        VehsimError: the training run exited without writing an archive.
    """
    dirs = list(classpath_dirs)
    path = class_archive_path(name, java, dirs, root)
    if path.is_file() and not rebuild:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.stem}.{os.getpid()}.jsa")
    staging.unlink(missing_ok=True)
    try:
        train([f"-XX:ArchiveClassesAtExit={staging}", CDS_QUIET])
        if not staging.is_file():
            raise VehsimError(
                f"the training run of the class-data archive '{name}' exited without writing "
                f"{staging}; the JVMs start without one (slower, and correct)"
            )
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    for old in path.parent.glob(f"{name}-*.jsa"):
        if old != path:
            old.unlink(missing_ok=True)
    return path
