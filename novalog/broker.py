"""A single-node Kafka (KRaft) broker for the local stack and the tests.

The broker runs from the Maven Central jars (`deploy/kafka/pom.xml`) with
`java -cp`, not from a tarball or a container. `LocalBroker` owns one broker's
files: the rendered `server.properties`, the cluster id, the data directory,
the log and the pid file. `ensure_topics` creates topics the way the project
wants them: explicitly, with fixed partition counts.

Command line: `python -m novalog.broker {fetch,start,stop,status,reset}`.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from novalog.events.kafka.log import TopicMismatchError, ensure_topics
from novalog.events.topics import KEEP_FOREVER, LATEST_ONLY
from novalog.settings import PROJECT_ROOT, get_settings

__all__ = ["KEEP_FOREVER", "LATEST_ONLY", "BrokerError", "LocalBroker", "TopicMismatchError", "ensure_topics"]

DEPLOY_DIR = PROJECT_ROOT / "deploy" / "kafka"
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"

"""Topic config of event topics: the log is the source of truth, nothing expires."""

"""Topic config of state topics: the latest record per key is kept."""

_FETCH_STAMP = ".fetched"
_LOG_TAIL_LINES = 40
_START_MARKER = "--- novalog: starting broker"


class BrokerError(RuntimeError):
    """The local broker could not be fetched, formatted, started, reached or stopped."""




def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Ids starting with `-` are redrawn, since the storage tool would read them as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cluster_id.startswith("-"):
            return cluster_id


def port_in_use(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port (a refused or timed-out connect means free)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _require_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BrokerError(
            f"`{name}` is not on PATH; the local Kafka broker needs it (on Debian: apt-get install {package})"
        )
    return path


def _pid_alive(pid: int) -> bool:
    """Whether pid names a live process; zombies (exited, not yet reaped) count as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _cmdline(pid: int) -> list[str] | None:
    """The argv of pid from /proc, or None where /proc cannot tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


class LocalBroker:
    """One combined broker + controller node on loopback, with all its files under `state_dir`.

    `state_dir` holds `server.properties`, `cluster-id`, `data/`, `broker.log` and `broker.pid`;
    the jars live in `libs_dir`, shared between brokers. The pid file lets a fresh process
    (another CLI call, a later test session) see and stop a broker started elsewhere.
    """

    def __init__(
        self,
        libs_dir: Path | None = None,
        state_dir: Path | None = None,
        host: str = "127.0.0.1",
        broker_port: int = 9092,
        controller_port: int = 9093,
        heap: str | None = None,
        *,
        node_id: int = 1,
        maven_repo: Path | None = None,
        kafka_version: str | None = None,
        deploy_dir: Path = DEPLOY_DIR,
    ) -> None:
        settings = get_settings()
        base = Path(settings.state_dir)
        self.libs_dir = (Path(libs_dir) if libs_dir is not None else base / "kafka" / "libs").absolute()
        self.state_dir = (Path(state_dir) if state_dir is not None else base / "kafka").absolute()
        self.maven_repo = (Path(maven_repo) if maven_repo is not None else base / "m2").absolute()
        self.host = host
        self.broker_port = broker_port
        self.controller_port = controller_port
        self.heap = heap or settings.kafka_heap
        self.node_id = node_id
        self.kafka_version = kafka_version or settings.kafka_version
        self.deploy_dir = Path(deploy_dir).absolute()
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LocalBroker({self.bootstrap}, state_dir={str(self.state_dir)!r})"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.broker_port}"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def cluster_id_file(self) -> Path:
        return self.state_dir / "cluster-id"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    @property
    def cluster_id(self) -> str:
        """This broker's cluster id, made on first use and then read from `cluster-id`.

        The id must survive as long as the data: formatting existing data with another id fails.
        """
        try:
            existing = self.cluster_id_file.read_text().strip()
        except FileNotFoundError:
            existing = ""
        if existing:
            return existing
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = new_cluster_id()
        self.cluster_id_file.write_text(cluster_id + "\n")
        return cluster_id

    def _fetch_stamp(self) -> str:
        pom = (self.deploy_dir / "pom.xml").read_bytes()
        return f"kafka {self.kafka_version} pom-sha256 {hashlib.sha256(pom).hexdigest()}\n"

    def jars_present(self) -> bool:
        """Whether `libs_dir` holds the jars of the current POM and Kafka version.

        A stamp file written after a complete copy records both; a changed POM or version,
        or a missing Kafka jar, means the jars must be fetched again.
        """
        stamp = self.libs_dir / _FETCH_STAMP
        try:
            if stamp.read_text() != self._fetch_stamp():
                return False
        except FileNotFoundError:
            return False
        return (self.libs_dir / f"kafka_2.13-{self.kafka_version}.jar").is_file()

    def fetch(self, *, force: bool = False) -> bool:
        """Copy the broker's jars from Maven into `libs_dir`; returns whether Maven ran.

        Skipped when the jars are already there (see `jars_present`). Maven's repository is
        `maven_repo` (`<state_dir>/m2` by default), so nothing lands in `~/.m2`. The jars are
        copied into a scratch directory first and swapped in whole, so an interrupted fetch never
        leaves a half-filled or mixed-version `libs_dir`; a lock file next to `libs_dir` makes
        concurrent fetches (two test sessions) wait for each other instead of racing.
        """
        if not force and self.jars_present():
            return False
        mvn = _require_tool("mvn", "maven")
        _require_tool("java", "openjdk-17-jre-headless")
        self.libs_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.libs_dir.parent / ".fetch.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not force and self.jars_present():
                return False
            self._copy_dependencies(mvn)
        return True

    def _copy_dependencies(self, mvn: str) -> None:
        self.maven_repo.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".libs-", dir=self.libs_dir.parent))
        try:
            command = [
                mvn, "-B", "-q",
                "-f", str(self.deploy_dir / "pom.xml"),
                MAVEN_DEPENDENCY_PLUGIN,
                "-DincludeScope=runtime",
                f"-DoutputDirectory={scratch.resolve()}",
                f"-Dmaven.repo.local={self.maven_repo.resolve()}",
                f"-Dkafka.version={self.kafka_version}",
            ]
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
            if result.returncode != 0:
                output = result.stdout.decode(errors="replace").strip()
                raise BrokerError(f"fetching the Kafka jars failed (mvn exit {result.returncode}):\n{output}")
            if not (scratch / f"kafka_2.13-{self.kafka_version}.jar").is_file():
                raise BrokerError(f"mvn succeeded but copied no kafka_2.13-{self.kafka_version}.jar into {scratch}")
            (scratch / _FETCH_STAMP).write_text(self._fetch_stamp())
            if self.libs_dir.exists():
                shutil.rmtree(self.libs_dir)
            scratch.rename(self.libs_dir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _java(self) -> str:
        return _require_tool("java", "openjdk-17-jre-headless")

    def _classpath(self) -> str:
        if not self.jars_present():
            raise BrokerError(f"no Kafka jars in {self.libs_dir}; run fetch() (or `python -m novalog.broker fetch`)")
        return str(self.libs_dir.resolve() / "*")

    def render_config(self) -> Path:
        """Write `server.properties` from `deploy/kafka/server.properties.in` for this broker's ports and data."""
        template = (self.deploy_dir / "server.properties.in").read_text()
        values = {
            "NODE_ID": str(self.node_id),
            "HOST": self.host,
            "BROKER_PORT": str(self.broker_port),
            "CONTROLLER_PORT": str(self.controller_port),
            "DATA_DIR": str(self.data_dir.resolve()),
        }
        rendered = template
        for name, value in values.items():
            rendered = rendered.replace(f"@{name}@", value)
        leftover = re.findall(r"@[A-Z_]+@", rendered)
        if leftover:
            raise BrokerError(f"server.properties.in has unknown placeholders: {sorted(set(leftover))}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(rendered)
        return self.config_file

    def is_formatted(self) -> bool:
        return (self.data_dir / "meta.properties").is_file()

    def format(self) -> None:
        """Format the data directory with this broker's cluster id (a no-op on formatted data).

        Static quorum: the voters come from `controller.quorum.voters`, so no `--standalone`.
        `--ignore-formatted` makes a second format harmless as long as the cluster id is the same.
        """
        java = self._java()
        classpath = self._classpath()
        config = self.render_config()
        command = [
            java, "-Xmx256m",
            f"-Dlog4j2.configurationFile={(self.deploy_dir / 'tools-log4j2.yaml').resolve()}",
            "-cp", classpath,
            "kafka.tools.StorageTool", "format",
            "--cluster-id", self.cluster_id,
            "--config", str(config),
            "--ignore-formatted",
        ]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            output = result.stdout.decode(errors="replace").strip()
            raise BrokerError(f"formatting {self.data_dir} failed (exit {result.returncode}):\n{output}")

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _is_our_broker(self, pid: int) -> bool:
        """Whether pid is alive and is a Kafka broker on this broker's config file.

        Guards against a recycled pid: a pid file outliving its broker must not lead to
        signalling an unrelated process.
        """
        if not _pid_alive(pid):
            return False
        argv = _cmdline(pid)
        if argv is None:
            return True
        return "kafka.Kafka" in argv and str(self.config_file.resolve()) in argv

    def pid(self) -> int | None:
        """The pid of this broker's running process, from this object or the pid file; None if not running."""
        if self._process is not None:
            if self._process.poll() is None:
                return self._process.pid
            self._process = None
        pid = self._read_pid()
        if pid is not None and self._is_our_broker(pid):
            return pid
        return None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self) -> int:
        """Start the broker in the background and return its pid; does not wait until it answers.

        Refuses when this broker already runs or when anything listens on its broker or controller
        port (a stale broker there would answer in its place). Formats the data on first start.
        The JVM gets its own session, so a Ctrl-C in the calling terminal does not reach it;
        stop it with `stop()`.
        """
        running = self.pid()
        if running is not None:
            raise BrokerError(f"the broker in {self.state_dir} already runs (pid {running})")
        busy = [port for port in (self.broker_port, self.controller_port) if port_in_use(self.host, port)]
        if busy:
            raise BrokerError(
                f"something already listens on {self.host}:{', '.join(map(str, busy))}; "
                "stop that process (another Kafka broker?) or pick other ports"
            )
        java = self._java()
        classpath = self._classpath()
        self.render_config()
        if not self.is_formatted():
            self.format()
        command = [
            java,
            f"-Xms{self.heap}", f"-Xmx{self.heap}",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={(self.deploy_dir / 'log4j2.yaml').resolve()}",
            "-cp", classpath,
            "kafka.Kafka", str(self.config_file.resolve()),
        ]
        with open(self.log_file, "ab") as log:
            log.write(f"{_START_MARKER} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._process.pid}\n")
        return self._process.pid

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last `lines` lines the broker logged since its latest start."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 64 * 1024))
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return "(no broker log)"
        text = text.rpartition(_START_MARKER)[2].partition("\n")[2]
        return "\n".join(text.splitlines()[-lines:]) or "(the broker logged nothing)"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the broker answers metadata requests with our cluster id.

        Ready means: the AdminClient lists at least one broker and the cluster id is this broker's
        (not a stale broker that happens to hold the port). Raises BrokerError with the log tail
        when the process dies meanwhile, and on timeout.
        """
        expected = self.cluster_id
        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        seen = "no answer"
        while True:
            code = self._process.poll() if self._process is not None else None
            if code is not None or not self.is_running():
                how = f" with exit code {code}" if code is not None else ""
                raise BrokerError(f"the Kafka broker exited{how} before it was ready; log tail:\n{self.log_tail()}")
            try:
                metadata = admin.list_topics(timeout=1)
            except KafkaException as exc:
                seen = str(exc)
            else:
                if metadata.brokers and metadata.cluster_id == expected:
                    return
                seen = f"cluster id {metadata.cluster_id!r}, {len(metadata.brokers)} broker(s)"
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"the Kafka broker at {self.bootstrap} was not ready within {timeout:g} s "
                    f"(expected cluster id {expected!r}; last answer: {seen}); log tail:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._process is not None and self._process.pid == pid:
            try:
                self._process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while _pid_alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker: SIGTERM (controlled shutdown), SIGKILL if it has not exited after `timeout`.

        Works from any process through the pid file. Returns whether a running broker was stopped.
        """
        pid = self.pid()
        stopped = False
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if not self._wait_exit(pid, timeout):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if not self._wait_exit(pid, 10.0):
                    raise BrokerError(f"the Kafka broker (pid {pid}) survived SIGKILL")
            stopped = True
        self._process = None
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def reset(self, timeout: float = 30.0) -> None:
        """Stop the broker and delete its data; the cluster id is kept for the next format."""
        self.stop(timeout)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalBroker:
        """Fetch (if needed), start and wait until ready; the broker is stopped on exit."""
        self.fetch()
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m novalog.broker", description="The local Kafka broker.")
    parser.add_argument(
        "command",
        choices=["fetch", "start", "stop", "status", "reset"],
        help="fetch: copy the jars; start: start and wait until ready; stop; status; reset: stop and delete data",
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="broker files (default <state_dir>/kafka)")
    parser.add_argument("--broker-port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, default=9093)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    broker = LocalBroker(
        state_dir=args.state_dir, broker_port=args.broker_port, controller_port=args.controller_port
    )
    try:
        if args.command == "fetch":
            ran = broker.fetch()
            print(f"{'fetched' if ran else 'already present'}: Kafka {broker.kafka_version} jars in {broker.libs_dir}")
        elif args.command == "start":
            broker.fetch()
            pid = broker.start()
            broker.wait_ready(args.timeout)
            print(f"Kafka broker ready at {broker.bootstrap} (pid {pid}, log {broker.log_file})")
        elif args.command == "stop":
            print("stopped" if broker.stop(args.timeout) else "not running")
        elif args.command == "status":
            pid = broker.pid()
            print(f"running at {broker.bootstrap} (pid {pid})" if pid else "not running")
            return 0 if pid else 3
        elif args.command == "reset":
            broker.reset(args.timeout)
            print(f"stopped and deleted {broker.data_dir}")
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
