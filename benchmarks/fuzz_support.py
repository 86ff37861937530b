"""The runner every parser fuzzer shares (``benchmarks/fuzz_*.py``).

Why a worker process: the inputs that matter most here are the ones that hang a parser
or eat the machine (100k-deep JSON once reached 23.5 GB), so no input runs in the
fuzzer's own process. A forked worker runs each input; the parent watches its
resident set and its clock, kills it past the hard limits and starts another. Per
input, the worker resets the kernel's peak-RSS mark (``/proc/self/clear_refs``) after
the input is in its memory and reads ``VmHWM`` afterwards, so the peak growth it
reports is the parser's own, C libraries (libxml2, yajl, libjpeg, the C2PA SDK)
included, which ``tracemalloc`` would not see.

The rule checked for every input: the parser returns, or raises one of its documented
error types; anything else that escapes is a finding, as is an input that grows the
worker past ``--memory-mb`` or runs past ``--timeout``. Each family script may add its
own checks (a detail that is not one printable line, an external entity resolved).

Engines: Hypothesis (always; seeds, mutations of seeds and structure-aware strategies,
generation only, so a finding is recorded and the run goes on), and atheris
(coverage-guided libFuzzer over the Python code, when ``pip install atheris`` works; in
its own process, in-process target, libFuzzer's own ``-rss_limit_mb`` and ``-timeout``).
Hostile inputs that are too big to keep (200 MB lines) are recipes, run once per
parser at the start. Findings go under ``.bench/fuzz-findings/PARSER/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import hashlib
import importlib.util
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = ROOT / ".bench" / "fuzz-findings"
CORPORA = ROOT / ".bench" / "fuzz-corpus"
SAVE_INPUTS_UP_TO = 8 * 1024 * 1024  # bigger inputs are named by recipe, not saved
ATHERIS_MAX_LEN = 1024 * 1024
MB = 1024 * 1024


class RuleBroken(Exception):
    """Raised by a family's own check: the parser returned, but what it returned is wrong."""


@dataclass(frozen=True)
class Hostile:
    """A deliberate hostile input, made on the fly (some are hundreds of MB)."""

    name: str
    make: Callable[[], bytes]


@dataclass(frozen=True)
class Parser:
    """One parser under test: how to run an input, and what may be raised."""

    name: str
    check: Callable[[bytes], None]  # runs in the worker; RuleBroken for a wrong result
    allowed: tuple[type[BaseException], ...]
    inputs: st.SearchStrategy[bytes]
    seeds: Sequence[bytes] = ()  # small, real-shaped inputs: the atheris corpus
    hostile: Sequence[Hostile] = ()


@dataclass(frozen=True)
class Outcome:
    status: str  # ok, allowed, escaped, broken, timeout, memory, crashed
    error: str = ""  # exception type, or what the parent saw
    where: str = ""  # file:line of the innermost frame of the project (or any)
    report: str = ""  # traceback or description
    seconds: float = 0.0
    peak_mb: float = 0.0

    @property
    def finding(self) -> bool:
        return self.status not in ("ok", "allowed")


@dataclass
class Tally:
    """What one parser's run saw."""

    parser: str
    inputs: int = 0
    by_engine: dict[str, int] = field(default_factory=dict)
    findings: int = 0
    distinct: dict[tuple[str, str, str], Path] = field(default_factory=dict)
    peak_mb: float = 0.0
    peak_input: str = ""
    slowest: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        engines = ", ".join(f"{name} {count:,}" for name, count in self.by_engine.items())
        return (
            f"SUMMARY {self.parser}: {self.inputs:,} inputs in {self.seconds:.0f} s ({engines}); "
            f"{self.findings} findings ({len(self.distinct)} distinct); peak growth "
            f"{self.peak_mb:.1f} MB ({self.peak_input or '-'}); slowest {self.slowest:.2f} s"
        )


# --- memory, read from the kernel --------------------------------------------------------


def _status_kb(field_name: str, pid: int | str = "self") -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found[1]) if found else 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- the worker ----------------------------------------------------------------------------


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "clearsight" in f.filename] or list(frames)
    if not ours:
        return "?"
    frame = ours[-1]
    path = frame.filename
    if str(ROOT) in path:
        path = os.path.relpath(path, ROOT)
    return f"{path}:{frame.lineno}"


def _serve(connection: Connection, parser: Parser) -> None:
    # A child of the fuzzer: run each input it is sent, report how it went. A crash in C
    # (a segfault in a parser's extension) prints the Python stack before the worker dies.
    faulthandler.enable()
    can_reset = _reset_peak()
    connection.send(_status_kb("VmRSS"))
    while True:
        try:
            data = connection.recv_bytes()
        except EOFError:
            return
        base_kb = _status_kb("VmRSS")
        if can_reset:
            _reset_peak()
        else:
            base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        outcome: tuple[str, str, str, str]
        try:
            parser.check(data)
            outcome = ("ok", "", "", "")
        except parser.allowed as error:
            outcome = ("allowed", type(error).__name__, "", "")
        except RuleBroken as error:
            outcome = ("broken", "RuleBroken", _where(error), str(error)[:2000])
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 - the finding: it escaped
            report = "".join(traceback.format_exception(error))[-6000:]
            outcome = ("escaped", type(error).__name__, _where(error), report)
        seconds = time.perf_counter() - started
        peak_kb = (
            _status_kb("VmHWM") if can_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        del data
        connection.send((*outcome, seconds, max(0, peak_kb - base_kb) / 1024))


class Worker:
    """A forked process that runs inputs; replaced whenever it is killed or dies."""

    def __init__(self, parser: Parser, timeout: float, hard_mb: float) -> None:
        self.parser = parser
        self.timeout = timeout
        self.hard_mb = hard_mb
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, self.parser), daemon=True)
        self.process.start()
        child.close()
        self.idle_kb: int = self.connection.recv()

    def close(self) -> None:
        self.connection.close()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()
        self._start()

    def run(self, data: bytes) -> Outcome:
        started = time.monotonic()
        try:
            self.connection.send_bytes(data)
        except (BrokenPipeError, OSError):
            self._restart()
            return Outcome("crashed", "worker gone before the input was sent")
        ceiling_kb = self.idle_kb + len(data) // 1024 + self.hard_mb * 1024
        pid = self.process.pid or 0
        while not self.connection.poll(0.02):
            elapsed = time.monotonic() - started
            if not self.process.is_alive():
                code = self.process.exitcode
                self._restart()
                return Outcome("crashed", f"worker died (exit code {code})", seconds=elapsed)
            rss_kb = _status_kb("VmRSS", pid)
            if rss_kb > ceiling_kb:
                self._restart()
                grown = (rss_kb - self.idle_kb - len(data) // 1024) / 1024
                return Outcome(
                    "memory",
                    f"killed at {grown:.0f} MB of growth after {elapsed:.1f} s",
                    seconds=elapsed,
                    peak_mb=grown,
                )
            if elapsed > self.timeout:
                self._restart()
                return Outcome("timeout", f"killed after {elapsed:.1f} s", seconds=elapsed)
        try:
            status, error, where, report, seconds, peak = self.connection.recv()
        except EOFError:
            self._restart()
            return Outcome("crashed", "worker died while answering")
        return Outcome(status, error, where, report, seconds, peak)


# --- findings ----------------------------------------------------------------------------


class Recorder:
    """Counts inputs, judges each outcome against the limits, and saves the findings."""

    def __init__(self, parser: str, memory_mb: float, timeout: float) -> None:
        self.tally = Tally(parser)
        self.memory_mb = memory_mb
        self.timeout = timeout
        self.folder = FINDINGS / parser

    def judge(self, outcome: Outcome, data: bytes, engine: str, label: str = "") -> None:
        tally = self.tally
        tally.inputs += 1
        tally.by_engine[engine] = tally.by_engine.get(engine, 0) + 1
        if outcome.peak_mb > tally.peak_mb:
            tally.peak_mb, tally.peak_input = outcome.peak_mb, label or f"{len(data):,} bytes"
        tally.slowest = max(tally.slowest, outcome.seconds)
        if not outcome.finding and outcome.peak_mb > self.memory_mb:
            outcome = Outcome(
                "memory",
                f"peak growth {outcome.peak_mb:.0f} MB",
                report=f"returned after {outcome.seconds:.1f} s",
                seconds=outcome.seconds,
                peak_mb=outcome.peak_mb,
            )
        if outcome.finding:
            self.save(outcome, data, engine, label)

    def save(self, outcome: Outcome, data: bytes, engine: str, label: str) -> None:
        tally = self.tally
        tally.findings += 1
        key = (outcome.status, outcome.error.split(" ")[0], outcome.where)
        if key in tally.distinct:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).hexdigest()[:16]
        stem = self.folder / f"{outcome.status}-{digest}"
        if len(data) <= SAVE_INPUTS_UP_TO:
            stem.with_suffix(".bin").write_bytes(data)
        stem.with_suffix(".txt").write_text(
            f"parser: {tally.parser}\nengine: {engine}\ninput: {label or '-'}, "
            f"{len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}\n"
            f"status: {outcome.status}\nerror: {outcome.error}\nwhere: {outcome.where}\n"
            f"seconds: {outcome.seconds:.2f}\npeak growth MB: {outcome.peak_mb:.1f}\n\n"
            f"{outcome.report}\n"
        )
        tally.distinct[key] = stem
        shown = f" ({label})" if label else ""
        print(
            f"FINDING {tally.parser}: {outcome.status} {outcome.error} at {outcome.where or '-'} "
            f"on {len(data):,} bytes{shown}; saved {os.path.relpath(stem, ROOT)}.*",
            flush=True,
        )


# --- Hypothesis strategies shared by the families ----------------------------------------

# Byte strings a parser should survive anywhere in its input.
HOSTILE_TOKENS = (
    b"\x00",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\xc3\x28",  # invalid UTF-8
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\x1b[2J",
    b"\r\n",
    b"\n",
    b'"',
    b"\\",
    b"<",
    b"&",
    b"]]>",
    b"1e999999",
    b"-0.0e-99999",
    b"9" * 5000,
    b"18446744073709551616",
    b"NaN",
    b"Infinity",
    b"\xff\xd8",
    b"\xff\xd9",
    b"\xff\xe1\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x7f\xff\xff\xff",
)


def _position(data: bytes, where: int) -> int:
    # Half the mutations land in the first 64 kB, where the headers and metadata are.
    if where % 2:
        return (where >> 1) % (min(len(data), 65536) + 1)
    return (where >> 1) % (len(data) + 1)


def _apply(seed: bytes, operations: list[tuple[str, int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for kind, where, size, payload in operations:
        at = _position(bytes(data), where)
        if kind == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << (size % 8)
        elif kind == "set" and data:
            data[min(at, len(data) - 1)] = size % 256
        elif kind == "insert":
            data[at:at] = payload
        elif kind == "delete":
            del data[at : at + size]
        elif kind == "truncate":
            del data[at:]
        elif kind == "repeat":  # a span repeated: deep nesting, long runs, huge counts
            span = bytes(data[at : at + 1 + size % 64])
            data[at:at] = span * (size % 2000)
    return bytes(data)


_OPERATION = st.tuples(
    st.sampled_from(("flip", "set", "insert", "delete", "truncate", "repeat")),
    st.integers(0, 2**32),
    st.integers(0, 65535),
    st.one_of(st.sampled_from(HOSTILE_TOKENS), st.binary(max_size=32)),
)


def mutations(seeds: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A seed with a few byte-level mutations: flips, inserts of hostile tokens, cuts,
    truncation, and repeated spans."""
    return st.builds(_apply, st.sampled_from(list(seeds)), st.lists(_OPERATION, max_size=6))


# --- engines -------------------------------------------------------------------------------


def run_hostile(parser: Parser, worker: Worker, recorder: Recorder) -> None:
    for hostile in parser.hostile:
        data = hostile.make()
        outcome = worker.run(data)
        recorder.judge(outcome, data, "hostile", hostile.name)
        print(
            f"  hostile {hostile.name} ({len(data):,} bytes): {outcome.status} "
            f"{outcome.error} {outcome.seconds:.2f} s, peak growth {outcome.peak_mb:.1f} MB",
            flush=True,
        )
        del data


def run_hypothesis(parser: Parser, worker: Worker, recorder: Recorder, seconds: float) -> None:
    end = time.monotonic() + seconds

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(parser.inputs)
    def one(data: bytes) -> None:
        if time.monotonic() < end:
            recorder.judge(worker.run(data), data, "hypothesis")

    while time.monotonic() < end:
        one()


def atheris_available() -> bool:
    return importlib.util.find_spec("atheris") is not None


def run_atheris(parser: Parser, script: Path, recorder: Recorder, seconds: float) -> None:
    """libFuzzer in a process of its own, restarted (warm, from its corpus) when a hang or
    an out-of-memory ends it early; Python exceptions are recorded there and it goes on."""
    corpus = CORPORA / parser.name
    corpus.mkdir(parents=True, exist_ok=True)
    for index, seed in enumerate(parser.seeds):
        if len(seed) <= ATHERIS_MAX_LEN:
            (corpus / f"seed-{index}").write_bytes(seed)
    artifacts = FINDINGS / parser.name / "atheris"
    artifacts.mkdir(parents=True, exist_ok=True)
    end = time.monotonic() + seconds
    executed, peaks, rounds = 0, [], 0
    while (left := end - time.monotonic()) > 5 and rounds < 5:
        rounds += 1
        log = artifacts / f"atheris-{rounds}.log"
        command = [
            sys.executable,
            str(script),
            "--atheris-worker",
            "--parser",
            parser.name,
            "--memory-mb",
            str(recorder.memory_mb),
            "--",
            f"-max_total_time={int(left)}",
            f"-timeout={int(recorder.timeout)}",
            f"-artifact_prefix={artifacts}/",
            f"-max_len={ATHERIS_MAX_LEN}",
            "-print_final_stats=1",
            str(corpus),
        ]
        with log.open("w") as output:
            subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
        text = log.read_text(errors="replace")
        runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
        executed += int(runs[1]) if runs else 0
        peaks += re.findall(r"stat::peak_rss_mb:\s*(\d+)", text)
        for line in re.findall(r"^FINDING .*$", text, re.MULTILINE):
            recorder.tally.findings += 1
            recorder.tally.distinct.setdefault(("atheris", line, ""), artifacts)
            print(line, flush=True)
        for artifact in re.findall(r"Test unit written to (\S+)", text):
            recorder.tally.findings += 1
            recorder.tally.distinct.setdefault(("atheris", artifact, ""), Path(artifact))
            print(f"FINDING {parser.name}: atheris ended on {Path(artifact).name}", flush=True)
        if "Done " in text and "ERROR: libFuzzer" not in text:
            break
    recorder.tally.inputs += executed
    recorder.tally.by_engine["atheris"] = executed
    print(
        f"  atheris: {executed:,} runs in {rounds} round(s), libFuzzer peak RSS "
        f"{max(map(int, peaks)) if peaks else '?'} MB (whole process)",
        flush=True,
    )


def atheris_worker(parser: Parser, memory_mb: float, libfuzzer_args: list[str]) -> None:
    """Runs inside the atheris process: the target runs in-process under libFuzzer, and a
    Python exception is recorded as a finding rather than ending the run."""
    import atheris  # type: ignore[import-not-found]

    recorder = Recorder(parser.name, memory_mb, 0)
    baseline_mb = _status_kb("VmRSS") / 1024

    def target(data: bytes) -> None:
        try:
            parser.check(data)
        except parser.allowed:
            pass
        except RuleBroken as error:
            recorder.save(
                Outcome("broken", "RuleBroken", _where(error), str(error)), data, "atheris", ""
            )
        except Exception as error:  # noqa: BLE001 - the finding
            report = "".join(traceback.format_exception(error))[-6000:]
            outcome = Outcome("escaped", type(error).__name__, _where(error), report)
            recorder.save(outcome, data, "atheris", "")

    # libFuzzer's limit is on the whole process, whose corpus of images alone takes
    # hundreds of MB; the growth per input is measured by the Hypothesis engine's worker.
    limit = f"-rss_limit_mb={int(baseline_mb + 4 * memory_mb)}"
    atheris.Setup([sys.argv[0], limit, *libfuzzer_args], target)
    atheris.Fuzz()


def instrumented() -> contextlib.AbstractContextManager[object]:
    """Wrap a family script's imports of clearsight: atheris instruments them for coverage
    when the script runs as the atheris worker, and nothing happens otherwise."""
    if "--atheris-worker" in sys.argv and atheris_available():
        import atheris

        return atheris.instrument_imports(include=["clearsight"])  # type: ignore[no-any-return]
    return contextlib.nullcontext()


# --- the command line ----------------------------------------------------------------------


def main(parsers: Sequence[Parser], description: str, argv: Sequence[str] | None = None) -> int:
    by_name = {parser.name: parser for parser in parsers}
    arguments = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in arguments:
        at = arguments.index("--")
        arguments, extra = arguments[:at], arguments[at + 1 :]
    options = _options(description, list(by_name)).parse_args(arguments)
    if options.atheris_worker:
        atheris_worker(by_name[options.parser[0]], options.memory_mb, extra)
        return 0
    engines = _engines(options.engine)
    chosen = [by_name[name] for name in options.parser] if options.parser else list(parsers)
    print(
        f"fuzzing {', '.join(p.name for p in chosen)}: {options.minutes:g} min each, "
        f"engines {' + '.join(engines)}, limits {options.memory_mb:g} MB / {options.timeout:g} s",
        flush=True,
    )
    tallies = []
    for parser in chosen:
        tallies.append(_fuzz_one(parser, options, engines))
    print()
    for tally in tallies:
        print(tally.summary())
    return 1 if any(t.findings for t in tallies) else 0


def _options(description: str, names: list[str]) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=description)
    options.add_argument("--parser", action="append", choices=names, help="default: all")
    options.add_argument("--minutes", type=float, default=10.0, help="per parser (default 10)")
    options.add_argument(
        "--engine",
        choices=("auto", "hypothesis", "atheris", "both"),
        default="auto",
        help="auto: both where atheris is installed, else hypothesis; both split the time",
    )
    options.add_argument("--memory-mb", type=float, default=512.0, help="peak growth per input")
    options.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    options.add_argument("--no-hostile", action="store_true", help="skip the hostile recipes")
    options.add_argument("--atheris-worker", action="store_true", help=argparse.SUPPRESS)
    return options


def _engines(choice: str) -> list[str]:
    if choice == "auto":
        return ["hypothesis", "atheris"] if atheris_available() else ["hypothesis"]
    if choice == "both":
        return ["hypothesis", "atheris"]
    return [choice]


def _fuzz_one(parser: Parser, options: argparse.Namespace, engines: list[str]) -> Tally:
    print(f"\n== {parser.name}", flush=True)
    recorder = Recorder(parser.name, options.memory_mb, options.timeout)
    started = time.monotonic()
    budget = options.minutes * 60
    worker = Worker(parser, options.timeout, options.memory_mb * 2)
    try:
        if not options.no_hostile:
            run_hostile(parser, worker, recorder)
        share = max(1.0, budget - (time.monotonic() - started)) / len(engines)
        for engine in engines:
            if engine == "hypothesis":
                run_hypothesis(parser, worker, recorder, share)
            else:
                run_atheris(parser, Path(sys.argv[0]).resolve(), recorder, share)
    finally:
        worker.close()
        shutil.rmtree(CORPORA / parser.name / ".tmp", ignore_errors=True)
    recorder.tally.seconds = time.monotonic() - started
    print(recorder.tally.summary(), flush=True)
    return recorder.tally
