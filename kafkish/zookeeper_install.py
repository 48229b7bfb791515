"""Where ZooKeeper and Java are on this machine: the one lookup behind every ZooKeeper kafkish starts
(``kafkish.testing.zookeeper`` for the test kit, ``tests/zookeeper.py`` for the project's tests, and
``make cluster``'s ``broker.local_cluster``).

The classpath, first found wins: ``KAFKISH_ZOOKEEPER_CLASSPATH`` or ``ZOOKEEPER_CLASSPATH`` (a Java
classpath, as given), ``ZOOKEEPER_HOME`` (an Apache ZooKeeper binary release: its ``lib/*.jar``),
Debian's ``zookeeper`` package (``/usr/share/java/zookeeper.jar``, whose manifest names the jars it
needs, and slf4j's simple logger when installed). Java: ``JAVA_HOME``'s ``bin/java``, else ``java`` on
the PATH. When either is missing, ``ZooKeeperUnavailable`` says what to install.

Standard library only, and no import of the broker's packages: applications import ``kafkish``.
"""

from __future__ import annotations

import glob
import os
import shutil

DEBIAN_JAR = "/usr/share/java/zookeeper.jar"
DEBIAN_LOGGER_JAR = "/usr/share/java/slf4j-simple.jar"  # libslf4j-java, a dependency of the package
MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"
CLASSPATH_VARIABLES = ("KAFKISH_ZOOKEEPER_CLASSPATH", "ZOOKEEPER_CLASSPATH")


class ZooKeeperUnavailable(RuntimeError):
    """ZooKeeper or Java is not installed here; the message says how to get them."""


def classpath() -> str:
    """The Java classpath of a ZooKeeper server, or ZooKeeperUnavailable."""
    for variable in CLASSPATH_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    home = os.environ.get("ZOOKEEPER_HOME")
    if home:
        jars = sorted(glob.glob(os.path.join(home, "lib", "*.jar")))
        if not jars:
            raise ZooKeeperUnavailable(f"ZOOKEEPER_HOME={home} has no lib/*.jar")
        return os.pathsep.join(jars)
    if os.path.exists(DEBIAN_JAR):
        return os.pathsep.join([DEBIAN_JAR] + ([DEBIAN_LOGGER_JAR] if os.path.exists(DEBIAN_LOGGER_JAR) else []))
    raise ZooKeeperUnavailable(
        f"ZooKeeper is missing ({DEBIAN_JAR} not found): apt-get install zookeeper (in kafkish's repository: "
        "make system-deps, as root), or set ZOOKEEPER_HOME to an Apache ZooKeeper release "
        "(or KAFKISH_ZOOKEEPER_CLASSPATH to its classpath)"
    )


def java() -> str:
    """The ``java`` binary ZooKeeper runs on, or ZooKeeperUnavailable."""
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not found or not os.access(found, os.X_OK):
        raise ZooKeeperUnavailable(
            "java is missing (ZooKeeper needs it): apt-get install default-jre-headless "
            "(Debian's zookeeper package brings it)"
        )
    return found
