"""Command line: argument parsing and exit codes only (DESIGN.md, Command line).

Each handler parses, calls the public API (kvminit.api) and hands the result to
report/. The command table below is the one list of commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .batch import PairResult
    from .engine import InitResult
    from .engine.qemu import Qemu
    from .hostspec import HostChoice
    from .report.output import Output

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
R = TypeVar("R")
MAX_TIMEOUT = 3600.0  # boot --timeout: an hour is far beyond any guest kvminit runs
HOST_HELP = "auto (default), real, a device path, a built-in profile name, or a profile file"
QEMU_HELP = (
    "the QEMU version that answers: 2.6, 7.2 or 10.0 (default: the host profile's, else 10.0); "
    "another version maps to the newest modelled one not newer"
)


class Failure(Exception):
    """A message for stderr and exit 1."""


class Usage(Exception):
    """Bad command-line usage: a message for stderr and exit 2."""


def say(message: str) -> None:
    from .common.text import printable_lines

    # Messages quote file names and values from untrusted files: never raw to a terminal.
    for line in printable_lines(message.rstrip("\n")):
        print(f"kvminit: {line}", file=sys.stderr)


def _choice(spec: str) -> HostChoice:
    return _choices(spec, one=True)[0]


def _choices(spec: str, one: bool = False) -> list[HostChoice]:
    """`--host SPEC`: a spec that names nothing is a usage error (2); a profile file that
    exists but is not a valid profile is bad input (1)."""
    import os

    from . import api
    from .kvm.errors import ProfileError

    try:
        return [api.load_host(spec)] if one else api.load_hosts(spec)
    except ProfileError as e:
        if os.path.lexists(spec):
            raise
        raise Usage(f"--host {e}") from None


def _qemu_version(spec: str | None) -> tuple[Qemu | None, str | None]:
    from . import api
    from .engine.qemu import QemuVersionError

    try:
        return api.qemu_version(spec)
    except QemuVersionError as e:
        raise Usage(f"--qemu: {e}") from None


def _run(machine: str, host: str, qemu: str | None) -> InitResult:
    """Run, and say on stderr what QEMU would print (and the host and version notes)."""
    from . import api
    from .config.loader import read_machine_file
    from .report.text import stderr_lines

    # The file is validated by the model's schema without building the model (a cold run's
    # largest cost); the result reads the same.
    result = api.run(read_machine_file(machine), _choice(host), qemu=qemu)
    for line in stderr_lines(result):
        say(line)
    return result


def _write(target: str, text: str) -> None:
    """Text for stdout or -o: a value from a hostile file (a machine name with a terminal
    escape) is shown escaped, never sent raw; JSON and SVG have no raw controls anyway."""
    from .common.text import printable_lines
    from .report.output import write_output

    write_output(target, ("\n".join(printable_lines(text)) + "\n").encode())


def _write_to(out: Output, text: str) -> None:
    """_write() to an Output already made."""
    from .common.text import printable_lines

    out.write_text("\n".join(printable_lines(text)) + "\n")


# --- handlers ----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .report.text import summary, trace_outline

    try:
        result = _run(args.machine, args.host, args.qemu)
    except ConfigError as e:
        if args.format != "json":
            raise
        # A script reading JSON gets its object either way: ok false, the state null.
        from .report.json import invalid_description

        say(str(e))
        _write("-", json.dumps(invalid_description(e, _qemu_version(args.qemu)[0]), indent=2))
        return EXIT_FAIL
    if args.format == "json":
        _write("-", json.dumps(result.to_json(), indent=2))
    else:
        text = summary(result)
        if args.trace:
            text += "\n\ntrace\n" + trace_outline(result)
        _write("-", text)
    return EXIT_OK if result.ok else EXIT_FAIL


def cmd_validate(args: argparse.Namespace) -> int:
    import os
    from functools import partial

    from . import api
    from .batch import machine_files, parse_shard
    from .report.output import Output
    from .report.progress import Progress
    from .report.validate import FORMAT_CLASSES, Report, any_failed, junit, render_block

    if args.jobs < 1:
        raise Usage("--jobs must be at least 1")
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as e:
        raise Usage(str(e)) from None
    choices = [c for spec in args.hosts or ["auto"] for c in _choices(spec)]
    for c in choices:
        if c.note:
            say(c.note)
    for spec in args.qemu or []:
        note = _qemu_version(spec)[1]
        if note:
            say(note)
    # More processes than cores only adds forks (each check is CPU-bound or a few ioctls).
    jobs = min(args.jobs, os.cpu_count() or 1)
    progress = Progress.on_terminal(sys.stderr, enabled=not args.quiet)

    def chunks(digest: Callable[[list[PairResult]], R]) -> Iterator[R]:
        return api.validate_chunks(
            args.paths,
            choices,
            digest,
            qemu=args.qemu or (),
            jobs=jobs,
            shard=shard,
            exclude=args.exclude or (),
            progress=progress,
            only_machine_files=args.only_machine_files,
        )

    out = Output(args.output)
    try:
        if args.format == "junit":
            # JUnit's first line counts the cases: that report is made whole, at the end.
            results = [r for chunk in chunks(list) for r in chunk]
            checked = bool(results)
            failed = any_failed(results, args.strict)
        else:
            # The report is written as chunks come (rendered where they were checked), so
            # a large fleet's run holds no more than a few chunks.
            fmt = FORMAT_CLASSES[args.format](args.strict, args.quiet)

            def write(text: str) -> None:
                if args.output == "-":
                    progress.finish()  # the progress line is not part of the report
                out.write_text(text)

            report = Report(fmt, write)
            for block, tally in chunks(partial(render_block, fmt)):
                report.add(block, tally)
            checked = report.tally.pairs > 0
            failed = report.tally.failed > 0
    except BaseException:
        progress.finish()
        out.discard()
        raise
    progress.finish()
    try:
        if not checked and not machine_files(args.paths, args.exclude or ())[0]:
            raise Failure("no *.toml machine files under " + ", ".join(args.paths))
        if args.format == "junit":
            _write_to(out, junit(results, args.strict, args.quiet))
        else:
            report.finish()
        out.commit()
    except BaseException:
        out.discard()
        raise
    return EXIT_FAIL if failed else EXIT_OK


def cmd_e820(args: argparse.Namespace) -> int:
    from . import api
    from .engine.result import JSON_FORMAT
    from .report.output import write_output
    from .report.tables import e820_table
    from .report.text import answered_by

    fmt = args.format or "table"
    if args.decode:
        if args.machine:
            raise Usage("give either MACHINE.toml or --decode FILE, not both")
        if fmt not in ("table", "json"):
            raise Usage("--decode prints as table or json")
        kind, entries = api.decode_e820(_read_blob(args.decode))
        if fmt == "json":
            document = {"format": JSON_FORMAT, "kind": kind, "e820": [e.to_json() for e in entries]}
            _write(args.output, json.dumps(document, indent=2))
        else:
            _write(args.output, f"# {kind}, {len(entries)} entries\n" + e820_table(entries))
        return EXIT_OK
    if not args.machine:
        raise Usage("e820 needs MACHINE.toml (or --decode FILE)")
    result = _run(args.machine, args.host, args.qemu)
    if not result.ok:
        return EXIT_FAIL
    if fmt == "legacy":
        write_output(args.output, result.legacy_e820(), binary=fmt)
    elif fmt == "blob":
        write_output(args.output, result.etc_e820(), binary=fmt)
    elif fmt == "json":
        from .report.json import e820_document

        _write(args.output, json.dumps(e820_document(result), indent=2))
    elif fmt == "svg":
        from .report.svg import e820_svg
        from .report.text import answered_by

        _write(args.output, e820_svg(result.e820, answered_by(result).removeprefix("# ")))
    else:
        _write(args.output, f"{answered_by(result)}\n{e820_table(result.e820)}")
    return EXIT_OK


def _read_blob(path: str) -> bytes:
    from .common.files import InputError, read_regular

    try:
        return read_regular(path, 1 << 20, "an e820 blob")
    except InputError as e:
        raise Failure(f"{path}: {e}") from None


def cmd_routes(args: argparse.Namespace) -> int:
    from .report.tables import routes_table
    from .report.text import answered_by

    result = _run(args.machine, args.host, args.qemu)
    if not result.ok:
        return EXIT_FAIL
    if args.format == "json":
        from .report.json import routes_document

        _write("-", json.dumps(routes_document(result), indent=2))
    else:
        _write(
            "-",
            f"{answered_by(result)}\n{routes_table(result.routing)}\n{len(result.routing)} routes",
        )
    return EXIT_OK


def cmd_boot(args: argparse.Namespace) -> int:
    from . import api
    from .report.text import boot_failure, boot_summary, stderr_lines

    if not 0 < args.timeout <= MAX_TIMEOUT:  # also refuses nan
        raise Usage(f"--timeout takes seconds greater than 0, at most {MAX_TIMEOUT}")
    report = api.boot(args.machine, _choice(args.host), qemu=args.qemu, timeout=args.timeout)
    for line in stderr_lines(report.result):
        say(line)
    if not report.result.ok:
        return EXIT_FAIL
    if args.format == "json":
        _write("-", json.dumps(report.to_json(), indent=2))
    else:
        _write("-", boot_summary(report, args.machine))
    failure = boot_failure(report)
    if failure:
        say(failure)
        return EXIT_FAIL
    return EXIT_OK


def cmd_qemu_args(args: argparse.Namespace) -> int:
    import shlex

    from . import api
    from .report.text import qemu_option_lines

    options = api.qemu_args(args.machine, args.qemu)
    _write(
        "-",
        shlex.join(["qemu-system-x86_64", *options]) if args.shell else qemu_option_lines(options),
    )
    return EXIT_OK


def cmd_from_qemu(args: argparse.Namespace) -> int:
    from . import api
    from .report.output import write_output
    from .report.text import from_qemu_lines, option_lines

    # argparse keeps the "--" that separates QEMU's options from ours.
    argv = args.qemu_args[1:] if args.qemu_args[:1] == ["--"] else list(args.qemu_args)
    if not argv:
        raise Usage("from-qemu needs the QEMU options after --")
    converted = api.from_qemu(argv, args.qemu)
    for line in from_qemu_lines(converted, args.verbose):
        say(line)
    machine = converted.machine()  # a ConfigError points at the options
    from .schema import reference

    write_output(
        args.output, converted.toml(reference(args.output, "machine.schema.json")).encode()
    )
    if not args.check:
        return EXIT_OK
    result = api.run(machine, _choice(args.host), qemu=converted.qemu)
    for line in option_lines(result):
        say(line)
    return EXIT_OK if result.ok else EXIT_FAIL


def cmd_probe(args: argparse.Namespace) -> int:
    from . import api
    from .report.output import write_output
    from .schema import reference

    profile = api.probe(name=args.name)
    schema = reference(args.output, "host.schema.json")
    write_output(args.output, api.profile_toml(profile, schema).encode())
    if args.output != "-":
        say(
            f"wrote {args.output} ({len(profile.caps)} capabilities, "
            f"{len(profile.msr_indices)} MSRs)"
        )
    return EXIT_OK


def cmd_hosts(args: argparse.Namespace) -> int:
    from . import api
    from .report.tables import hosts_json, hosts_table

    hosts = api.builtin_hosts()
    _print_table(args, hosts_table(hosts), lambda: hosts_json(hosts))
    return EXIT_OK


def cmd_machines(args: argparse.Namespace) -> int:
    from . import api
    from .engine.qemu import DEFAULT
    from .report.tables import machines_json, machines_table

    classes = api.machine_classes(args.qemu)
    version = str(_qemu_version(args.qemu)[0] or DEFAULT)
    _print_table(args, machines_table(classes), lambda: machines_json(version, classes))
    return EXIT_OK


def cmd_cpus(args: argparse.Namespace) -> int:
    from . import api
    from .engine.qemu import DEFAULT
    from .report.tables import cpus_json, cpus_table

    models = api.cpu_models(args.qemu)
    version = str(_qemu_version(args.qemu)[0] or DEFAULT)
    _print_table(args, cpus_table(models), lambda: cpus_json(version, models))
    return EXIT_OK


def _print_table(args: argparse.Namespace, table: str, document: Callable[[], object]) -> None:
    if args.format == "json":
        _write("-", json.dumps(document(), indent=2))
    else:
        _write("-", table)


def cmd_schema(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .schema import stale, write

    directory = Path(args.directory)
    if args.check:
        old = stale(directory)
        if old:
            raise Failure("stale schema files (run `kvminit schema`): " + ", ".join(old))
        return EXIT_OK
    _write("-", "\n".join(str(path) for path in write(directory)))
    return EXIT_OK


# --- the command table -------------------------------------------------------------------


def _machine_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("machine", metavar="MACHINE.toml", help="the machine description")


def _host_arg(p: argparse.ArgumentParser, default: str = "auto") -> None:
    p.add_argument("--host", default=default, help=HOST_HELP)


def _qemu_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--qemu", metavar="VERSION", help=QEMU_HELP)


def _args_run(p: argparse.ArgumentParser) -> None:
    _machine_arg(p)
    _host_arg(p)
    _qemu_arg(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--trace", action="store_true", help="print every step, numbered as the seed")


def _args_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories of *.toml")
    p.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="H",
        help=HOST_HELP + ", or a directory of profiles; repeatable",
    )
    p.add_argument(
        "--qemu",
        action="append",
        metavar="VERSION",
        help=QEMU_HELP + "; repeatable: every (file, host, version) triple is checked",
    )
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only errors and the summary, no progress",
    )
    p.add_argument(
        "--only-machine-files",
        action="store_true",
        help="skip named *.toml files that are plainly not machine files (pyproject.toml, "
        "host profiles), as files found in directories are; for pre-commit's file lists",
    )
    p.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="skip files and directories whose path (relative to the directory given) "
        "or name matches GLOB; repeatable",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "junit", "github"),
        default="text",
        help="report format",
    )
    p.add_argument(
        "-j", "--jobs", type=int, default=1, metavar="N", help="check in N processes (default 1)"
    )
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="check only the I-th of N stable shards of the (file, host) pairs",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="-",
        help="write the report to FILE (atomically) instead of stdout",
    )


def _args_e820(p: argparse.ArgumentParser) -> None:
    p.add_argument("machine", nargs="?", metavar="MACHINE.toml", help="the machine description")
    _host_arg(p)
    _qemu_arg(p)
    p.add_argument(
        "--format",
        choices=("table", "json", "blob", "legacy", "svg"),
        default=None,
        help="table (default), json, blob (etc/e820 bytes), legacy (FW_CFG_E820_TABLE bytes) "
        "or svg (a picture of the map)",
    )
    p.add_argument("--decode", metavar="FILE", help="read a blob back and print it")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="write to FILE")


def _args_routes(p: argparse.ArgumentParser) -> None:
    _machine_arg(p)
    _host_arg(p)
    _qemu_arg(p)
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")


def _args_boot(p: argparse.ArgumentParser) -> None:
    _machine_arg(p)
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="give up after S seconds (default 10)",
    )
    _host_arg(p, "real")
    _qemu_arg(p)
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _args_qemu_args(p: argparse.ArgumentParser) -> None:
    _machine_arg(p)
    _qemu_arg(p)
    p.add_argument("--shell", action="store_true", help="one shell-quoted line")


def _args_from_qemu(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="write to FILE")
    p.add_argument(
        "--qemu",
        metavar="V",
        help="read the options as QEMU V does: 2.6, 7.2 or 10.0 (default 10.0)",
    )
    p.add_argument(
        "--verbose", action="store_true", help="list every option left out, one per line"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="also initialise the converted machine (on --host) and exit 1 when QEMU would not",
    )
    _host_arg(p)
    p.add_argument(
        "qemu_args", nargs=argparse.REMAINDER, metavar="QEMU-ARGS", help="QEMU's options, after --"
    )


def _args_probe(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE.toml", default="-", help="write to FILE.toml")
    p.add_argument("--name", help="profile name (default: from vendor, host and kernel)")


def _args_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _args_versioned_list(p: argparse.ArgumentParser) -> None:
    _qemu_arg(p)
    _args_list(p)


def _args_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "directory", nargs="?", default="schemas", metavar="DIR", help="where (default schemas/)"
    )
    p.add_argument("--check", action="store_true", help="exit 1 when the files are stale")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]
    usage: str | None = None


COMMANDS: tuple[Command, ...] = (
    Command("run", "initialise a machine and report the result", _args_run, cmd_run),
    Command(
        "validate", "check machine files against one or more hosts", _args_validate, cmd_validate
    ),
    Command("e820", "the e820 table and its fw_cfg blobs", _args_e820, cmd_e820),
    Command("routes", "the GSI routing table committed to the kernel", _args_routes, cmd_routes),
    Command(
        "boot", "run a tiny guest that reads etc/e820 over fw_cfg (real KVM)", _args_boot, cmd_boot
    ),
    Command(
        "qemu-args", "the QEMU command-line options of a machine", _args_qemu_args, cmd_qemu_args
    ),
    Command(
        "from-qemu",
        "a machine file from a QEMU command line",
        _args_from_qemu,
        cmd_from_qemu,
        usage="kvminit from-qemu [-o FILE] [--qemu V] [--verbose] [--check [--host H]] "
        "-- QEMU-ARGS...",
    ),
    Command("probe", "record this machine's /dev/kvm as a host profile", _args_probe, cmd_probe),
    Command("hosts", "list the built-in host profiles", _args_list, cmd_hosts),
    Command(
        "machines",
        "list a QEMU version's machine types and their properties",
        _args_versioned_list,
        cmd_machines,
    ),
    Command("cpus", "list a QEMU version's CPU models", _args_versioned_list, cmd_cpus),
    Command("schema", "write (or --check) the JSON schemas", _args_schema, cmd_schema),
)
_BY_NAME = {c.name: c for c in COMMANDS}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's sub-parser (what parsing a command
    line that names it needs: the others cost a cold run milliseconds for nothing)."""
    from . import __version__

    p = argparse.ArgumentParser(
        prog="kvminit",
        description="Bring up KVM exactly as QEMU's accelerator does, from a machine description.",
        epilog="`kvminit MACHINE.toml` is short for `kvminit run MACHINE.toml`.",
    )
    p.add_argument("--version", action="version", version=f"kvminit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for c in COMMANDS:
        if only is None or c.name == only:
            c.arguments(sub.add_parser(c.name, help=c.help, description=c.help, usage=c.usage))
    return p


def _misused(args_list: list[str]) -> str | None:
    """Usage mistakes argparse would word badly: a mistyped command, QEMU's options
    given to from-qemu without the `--` that separates them from kvminit's."""
    import os

    first = args_list[0] if args_list else ""
    if first and not first.startswith("-") and first not in _BY_NAME:
        looks_like_file = first.endswith(".toml") or os.sep in first or os.path.exists(first)
        if not looks_like_file:
            from .common.hints import close_matches

            close = close_matches(first, _BY_NAME)
            if close:
                return f"unknown command '{first}' (did you mean '{close[0]}'?)"
    if first == "from-qemu" and "--" not in args_list:
        ours = {"-o", "--output", "--qemu", "--verbose", "--check", "--host", "-h", "--help"}
        rest = args_list[1:]
        values = {i + 1 for i, a in enumerate(rest) if a in ("-o", "--output", "--qemu", "--host")}
        if any(a not in ours and i not in values for i, a in enumerate(rest)):
            return (
                "from-qemu reads QEMU's options after `--`: "
                "kvminit from-qemu [-o FILE] -- qemu-system-x86_64 -machine q35 ..."
            )
    return None


def _check_versions(args: argparse.Namespace) -> None:
    specs = getattr(args, "qemu", None)
    for spec in specs if isinstance(specs, list) else [specs]:
        if spec is not None:
            _qemu_version(spec)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    mistake = _misused(args_list)
    if mistake is not None:
        build_parser().print_usage(sys.stderr)
        say(mistake)
        return EXIT_USAGE
    # `kvminit MACHINE.toml` is `kvminit run MACHINE.toml`.
    if args_list and not args_list[0].startswith("-") and args_list[0] not in _BY_NAME:
        args_list.insert(0, "run")
    # A command line that starts with a command is parsed by that command's parser alone;
    # anything else (options, --help) sees every command.
    parser = build_parser(args_list[0] if args_list and args_list[0] in _BY_NAME else None)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        say("a command or a MACHINE.toml is required (kvminit --help)")
        return EXIT_USAGE
    from .common.errors import KvminitError
    from .entry import Terminated

    try:
        _check_versions(args)
        return _BY_NAME[args.command].handler(args)
    except (KvminitError, Failure) as e:
        say(str(e))
    except Usage as e:
        parser.print_usage(sys.stderr)
        say(str(e))
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except Terminated as e:
        import signal

        say(f"terminated by {signal.Signals(e.signum).name}")
        return 128 + e.signum
    except BrokenPipeError:
        # The reader went away (`| head`); nothing more to say.
        sys.stderr.close()
    except Exception as e:  # a bug in kvminit: one line for the user, the rest on demand
        import os

        if os.environ.get("KVMINIT_DEBUG"):
            raise
        say(
            f"internal error (a bug in kvminit, please report it): {type(e).__name__}: {e} "
            "(KVMINIT_DEBUG=1 shows the traceback)"
        )
    return EXIT_FAIL
