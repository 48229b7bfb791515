"""``pip install kafkish`` beside an application that has its own ``storage`` and ``broker`` packages:
the wheel installs only the ``kafkish`` package (the broker's code inside it), the plugin comes in
through its ``pytest11`` entry point, and both the plugin's broker and ``kafkish broker`` run our broker
while the application's tests import the application's packages.

The wheel is built from a copy of this checkout's packaging files and packages in a temporary folder
(setuptools builds in the source tree: build/ and kafkish.egg-info stay out of the checkout) and installed
(without dependencies) into a fresh virtualenv that borrows the dependencies of the running one through a
.pth line.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "kafkish", "broker", "protocol", "storage")
LEFTOVERS = ("build", "kafkish.egg-info")  # what an in-tree setuptools build leaves behind

APP_TEST = """
import broker
import storage
from confluent_kafka import Consumer, Producer


def test_the_apps_own_packages():
    assert storage.WHOSE == "app" and broker.WHOSE == "app"


def test_the_plugin_broker(kafka_bootstrap, kafka_topic):
    topic = kafka_topic()
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, value=b"hello")
    assert producer.flush(10) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "app", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    message = consumer.poll(15)
    consumer.close()
    assert message is not None and message.value() == b"hello"
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the kafkish wheel; yields its bin/ folder."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    before = {name for name in LEFTOVERS if (ROOT / name).exists()}
    wheels = tmp / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True, capture_output=True, timeout=300)
    assert {name for name in LEFTOVERS if (ROOT / name).exists()} == before, "the build wrote into the checkout"
    (wheel,) = wheels.glob("kafkish-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"kafkish", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, tops
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "borrowed-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    yield venv / "bin"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    for package in ("storage", "broker"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('WHOSE = "app"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(APP_TEST)
    return tmp_path


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = ""
    return env


def test_an_apps_tests_use_the_plugin_beside_its_own_storage_and_broker(installed: Path, app: Path) -> None:
    done = subprocess.run(
        [str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=app, capture_output=True, text=True, timeout=300, env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_kafkish_command_starts_our_broker_from_an_apps_folder(installed: Path, app: Path) -> None:
    broker = subprocess.Popen(
        [str(installed / "kafkish"), "broker", "--override", "listeners=PLAINTEXT://127.0.0.1:0",
         "--override", f"log.dirs={app / 'data'}"],
        cwd=app, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )  # fmt: skip
    try:
        assert broker.stderr is not None
        ready = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert broker.stderr is not None
            for line in broker.stderr:
                lines.append(line)
                if "listening on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(60) and broker.poll() is None, "".join(lines)
        ready_line = next(line for line in lines if "listening on" in line)
        bound = re.search(r"listening on PLAINTEXT://127\.0\.0\.1:(\d+) ", ready_line)  # port 0: the one it got
        assert bound is not None, ready_line
        bootstrap = ("--bootstrap-server", f"127.0.0.1:{bound.group(1)}")
        run = [str(installed / "kafkish"), "topics", *bootstrap]
        created = subprocess.run([*run, "--create", "--topic", "t"], cwd=app, capture_output=True, text=True,
                                 env=clean_env(), timeout=60)  # fmt: skip
        assert created.stdout == "Created topic t.\n", created.stderr
        listed = subprocess.run([*run, "--list"], cwd=app, capture_output=True, text=True, env=clean_env(), timeout=60)
        assert "t" in listed.stdout.split()
    finally:
        broker.terminate()
        assert broker.wait(30) == 0
