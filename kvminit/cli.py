"""Command line: argument parsing and exit codes only (DESIGN.md, Command line)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import HostChoice
    from .engine import InitResult

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
COMMANDS = (
    "run",
    "validate",
    "e820",
    "routes",
    "boot",
    "qemu-args",
    "from-qemu",
    "probe",
    "hosts",
    "machines",
    "schema",
)


class Failure(Exception):
    """A message for stderr and exit 1."""


class Usage(Exception):
    """Bad command-line usage: a message for stderr and exit 2."""


def say(message: str) -> None:
    for line in message.splitlines() or [""]:
        print(f"kvminit: {line}", file=sys.stderr)


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kvminit",
        description="Bring up KVM exactly as QEMU's accelerator does, from a machine description.",
        epilog="`kvminit MACHINE.toml` is short for `kvminit run MACHINE.toml`.",
    )
    p.add_argument("--version", action="version", version=f"kvminit {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    host_help = "auto (default), real, a built-in profile name, or a profile file"
    r = sub.add_parser("run", help="initialise a machine and report the result")
    r.add_argument("machine", metavar="MACHINE.toml")
    r.add_argument("--host", default="auto", help=host_help)
    r.add_argument("--format", choices=("text", "json"), default="text")
    r.add_argument("--trace", action="store_true", help="print every step, numbered as the seed")

    v = sub.add_parser("validate", help="check machine files against one or more hosts")
    v.add_argument("paths", nargs="+", metavar="PATH", help="files, or directories of *.toml")
    v.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="H",
        help=host_help + ", or a directory of profiles; repeatable",
    )
    v.add_argument("--strict", action="store_true", help="warnings fail too")
    v.add_argument("--format", choices=("text", "json", "junit", "github"), default="text")
    v.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="check pairs in N processes (default 1)",
    )
    v.add_argument(
        "--shard",
        metavar="I/N",
        help="check only the I-th of N stable shards of the (file, host) pairs",
    )
    v.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="-",
        help="write the report to FILE (atomically) instead of stdout",
    )

    e = sub.add_parser("e820", help="the e820 table and its fw_cfg blobs")
    e.add_argument("machine", nargs="?", metavar="MACHINE.toml")
    e.add_argument("--host", default="auto", help=host_help)
    e.add_argument("--format", choices=("table", "json", "blob", "legacy"), default=None)
    e.add_argument("--decode", metavar="FILE", help="read a blob back and print it")
    e.add_argument("-o", "--output", metavar="FILE", default="-")

    rt = sub.add_parser("routes", help="the GSI routing table committed to the kernel")
    rt.add_argument("machine", metavar="MACHINE.toml")
    rt.add_argument("--host", default="auto", help=host_help)
    rt.add_argument("--format", choices=("table", "json"), default="table")

    b = sub.add_parser("boot", help="run a tiny guest that reads etc/e820 over fw_cfg (real KVM)")
    b.add_argument("machine", metavar="MACHINE.toml")
    b.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="give up after S seconds (default 10)",
    )
    b.add_argument("--host", default="real", help="real (default) or a device path")
    b.add_argument("--format", choices=("text", "json"), default="text")

    qa = sub.add_parser("qemu-args", help="the QEMU command-line options of a machine")
    qa.add_argument("machine", metavar="MACHINE.toml")
    qa.add_argument("--shell", action="store_true", help="one shell-quoted line")

    fq = sub.add_parser(
        "from-qemu",
        help="a machine file from a QEMU command line",
        usage="kvminit from-qemu [-o FILE] -- QEMU-ARGS...",
    )
    fq.add_argument("-o", "--output", metavar="FILE", default="-")
    fq.add_argument("qemu_args", nargs=argparse.REMAINDER, metavar="QEMU-ARGS")

    pr = sub.add_parser("probe", help="record this machine's /dev/kvm as a host profile")
    pr.add_argument("-o", "--output", metavar="FILE.toml", default="-")
    pr.add_argument("--name", help="profile name (default: from vendor, host and kernel)")

    sub.add_parser("hosts", help="list the built-in host profiles")
    sub.add_parser("machines", help="list the machine types and their properties")

    s = sub.add_parser("schema", help="write (or --check) the JSON schemas")
    s.add_argument("directory", nargs="?", default="schemas", metavar="DIR")
    s.add_argument("--check", action="store_true", help="exit 1 when the files are stale")
    return p


def _host(spec: str) -> HostChoice:
    from .api import resolve_host

    choice = resolve_host(spec)
    if choice.note:
        say(choice.note)
    return choice


def _run_machine(path: str, host_spec: str) -> InitResult:
    from .config import load_machine
    from .engine import run

    machine = load_machine(path)
    return run(machine, _host(host_spec).host)


def _report_messages(result: InitResult) -> None:
    for w in result.warnings:
        say(w)
    if result.error is not None:
        say(result.error.message)


def cmd_run(args: argparse.Namespace) -> int:
    result = _run_machine(args.machine, args.host)
    _report_messages(result)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    else:
        from .report.text import summary, trace_outline

        print(summary(result))
        if args.trace:
            print("\ntrace\n" + trace_outline(result))
    return EXIT_OK if result.ok else EXIT_FAIL


def cmd_validate(args: argparse.Namespace) -> int:
    from .api import resolve_hosts
    from .report.output import write_output
    from .report.validate import FORMATS
    from .validate import check_files, machine_files, parse_shard

    if args.jobs < 1:
        raise Usage("--jobs must be at least 1")
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as e:
        raise Usage(str(e)) from None
    choices: list[HostChoice] = []
    for spec in args.hosts or ["auto"]:
        for choice in resolve_hosts(spec):
            if choice.note:
                say(choice.note)
            choices.append(choice)
    hosts = [(getattr(c.host, "origin", c.host.name), c.host) for c in choices]
    files = machine_files(args.paths)
    if not files:
        raise Failure("no *.toml machine files under " + ", ".join(args.paths))
    results = check_files(files, hosts, jobs=args.jobs, shard=shard)
    write_output(args.output, (FORMATS[args.format](results, args.strict) + "\n").encode())
    failed = any(r.status(args.strict) == "FAIL" for r in results)
    return EXIT_FAIL if failed else EXIT_OK


def cmd_e820(args: argparse.Namespace) -> int:
    from .report import blobs
    from .report.output import write_output
    from .report.tables import e820_table

    if args.decode:
        if args.machine:
            raise Failure("give either MACHINE.toml or --decode FILE, not both")
        fmt = args.format or "table"
        if fmt not in ("table", "json"):
            raise Failure("--decode prints as table or json")
        try:
            with open(args.decode, "rb") as f:
                data = f.read(1 << 20)
        except OSError as e:
            raise Failure(f"{args.decode}: {e.strerror or e}") from None
        try:
            kind, entries = blobs.decode(data)
        except blobs.BlobError as e:
            raise Failure(f"{args.decode}: {e}") from None
        if fmt == "json":
            out = json.dumps([e.to_json() for e in entries], indent=2)
        else:
            out = f"# {kind}, {len(entries)} entries\n" + e820_table(entries)
        write_output(args.output, (out + "\n").encode())
        return EXIT_OK
    if not args.machine:
        raise Failure("e820 needs MACHINE.toml (or --decode FILE)")
    fmt = args.format or "table"
    result = _run_machine(args.machine, args.host)
    _report_messages(result)
    if not result.ok:
        return EXIT_FAIL
    if fmt in ("blob", "legacy") and args.output == "-" and sys.stdout.isatty():
        raise Failure(f"refusing to write binary {fmt} data to a terminal; use -o FILE or a pipe")
    if fmt == "legacy":
        if result.e820_legacy is None:
            from .engine import messages

            raise Failure(messages.LEGACY_E820_REMOVED.format(machine=result.machine_class.name))
        data = blobs.encode_legacy(result.e820_legacy)
    elif fmt == "blob":
        data = blobs.encode_etc_e820(result.e820)
    elif fmt == "json":
        data = (json.dumps([e.to_json() for e in result.e820], indent=2) + "\n").encode()
    else:
        data = (f"{_answered_by(result)}\n{e820_table(result.e820)}\n").encode()
    write_output(args.output, data)
    return EXIT_OK


def _answered_by(result: InitResult) -> str:
    """The comment line that names the machine class, accelerator and host of a table."""
    return (
        f"# {result.machine_class.name}, {result.accel or 'no accelerator'}, "
        f"{result.host_kind} host {result.host_name}"
    )


def cmd_routes(args: argparse.Namespace) -> int:
    from .engine.result import routing_json
    from .report.tables import routes_table

    result = _run_machine(args.machine, args.host)
    _report_messages(result)
    if not result.ok:
        return EXIT_FAIL
    if args.format == "json":
        print(json.dumps([routing_json(r) for r in result.routing], indent=2))
    else:
        print(_answered_by(result))
        print(routes_table(result.routing))
        print(f"{len(result.routing)} routes")
    return EXIT_OK


def cmd_boot(args: argparse.Namespace) -> int:
    from .boot.runner import BootError, boot
    from .config import load_machine
    from .kvm.real import RealHost

    if args.timeout <= 0:
        raise Usage("--timeout must be greater than 0")
    if args.host not in ("real", "auto") and not args.host.startswith("/dev/"):
        raise Failure(
            f"boot runs a guest, so it needs the real /dev/kvm; --host {args.host} "
            "is a profile, which can only answer questions"
        )
    machine = load_machine(args.machine)
    host = RealHost() if args.host in ("real", "auto") else RealHost(args.host)
    try:
        report = boot(machine, host, timeout=args.timeout)
    except BootError as e:
        raise Failure(f"boot: {e}") from None
    _report_messages(report.result)
    if not report.result.ok:
        return EXIT_FAIL
    from .engine import e820 as e820_types

    verdict = (
        "identical to `kvminit e820 --format blob`"
        if report.identical
        else "DIFFERENT from `kvminit e820 --format blob`"
    )
    if args.format == "json":
        print(
            json.dumps(
                {
                    "machine": report.result.machine.normalised(),
                    "host": {"kind": "real", "name": host.name},
                    "vcpus": report.vcpus,
                    "slots": [{"address": a, "size": n} for a, n in report.slots],
                    "exits": report.exits,
                    "bytes_read": report.bytes_read,
                    "done_code": report.done_code,
                    "guest_output": report.guest_output.hex(),
                    "expected": report.expected.hex(),
                    "identical": report.identical,
                },
                indent=2,
            )
        )
    else:
        from .boot import guest

        mc = report.result.machine_class
        ram = [e for e in report.result.e820 if e.type == e820_types.E820_RAM]
        slots = ", ".join(f"{a:#x}+{n:#x}" for a, n in report.slots)
        print(f"boot      {args.machine}: {mc.name} on {host.name}")
        print(f"vcpus     {report.vcpus} created; vCPU 0 ran the guest")
        print(f"memory    {len(report.slots)} slot(s) for {len(ram)} RAM region(s): {slots}")
        print(f"exits     {report.exits} handled in {report.seconds * 1e3:.1f} ms")
        print(
            f"guest     {guest.DONE_CODES.get(report.done_code or 0, report.done_code)}; "
            f"{report.bytes_read} fw_cfg bytes read, {len(report.guest_output)} written"
        )
        print(f"result    {verdict} ({len(report.expected)} bytes)")
    if not report.identical:
        say(
            "the guest did not read the etc/e820 bytes kvminit generated"
            if report.done_code == 0
            else f"the guest stopped with code {report.done_code}: {guest_reason(report.done_code)}"
        )
        return EXIT_FAIL
    return EXIT_OK


def guest_reason(code: int | None) -> str:
    from .boot import guest

    return guest.DONE_CODES.get(code or 0, "unknown")


def cmd_qemu_args(args: argparse.Namespace) -> int:
    import shlex

    from .config import load_machine
    from .qemuargs import as_lines, qemu_args

    options = qemu_args(load_machine(args.machine))
    print(shlex.join(["qemu-system-x86_64", *options]) if args.shell else as_lines(options))
    return EXIT_OK


def cmd_from_qemu(args: argparse.Namespace) -> int:
    from .config import parse_machine
    from .qemuargs import QemuArgsError, from_qemu
    from .report.output import write_output

    # argparse keeps the "--" that separates QEMU's options from ours.
    argv = args.qemu_args[1:] if args.qemu_args[:1] == ["--"] else list(args.qemu_args)
    if not argv:
        raise Usage("from-qemu needs the QEMU options after --")
    try:
        converted = from_qemu(argv)
    except QemuArgsError as e:
        raise Failure(f"from-qemu: {e}") from None
    text = converted.toml()
    parse_machine(text, "<from-qemu>")  # what it writes must be a valid machine
    for option in converted.unmodelled:
        say(f"from-qemu: not modelled, left out: {option}")
    write_output(args.output, text.encode())
    return EXIT_OK


def cmd_probe(args: argparse.Namespace) -> int:
    from .kvm.device import KvmError
    from .kvm.probe import probe
    from .report.output import write_output

    try:
        profile = probe(name=args.name)
    except KvmError as e:
        raise Failure(f"Could not access KVM kernel module: {e.strerror}") from None
    write_output(args.output, profile.to_toml().encode())
    if args.output != "-":
        say(
            f"wrote {args.output} ({len(profile.caps)} capabilities, "
            f"{len(profile.msr_indices)} MSRs)"
        )
    return EXIT_OK


def cmd_hosts(args: argparse.Namespace) -> int:
    from .kvm.profile import DEFAULT_PROFILE, builtin_names, builtin_profile

    for name in builtin_names():
        p = builtin_profile(name)
        default = " (default)" if name == DEFAULT_PROFILE else ""
        print(
            f"{name:<24} {p.source:<9} Linux {p.kernel_release:<8} {p.cpu_vendor:<12} "
            f"{p.phys_bits}-bit{default}"
        )
    return EXIT_OK


def cmd_machines(args: argparse.Namespace) -> int:
    from .engine.machines import all_classes

    print(f"{'type':<16} {'class':<16} {'max_cpus':>8}  gigabyte_align  amd_1tb_hole  legacy_e820")
    for mc in all_classes():
        shown = mc.alias or mc.name
        print(
            f"{shown:<16} {mc.name:<16} {mc.max_cpus:>8}  {mc.gigabyte_align!s:<14}  "
            f"{mc.enforce_amd_1tb_hole!s:<12}  {mc.legacy_e820!s}"
        )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .schema import stale, write

    directory = Path(args.directory)
    if args.check:
        old = stale(directory)
        if old:
            raise Failure("stale schema files (run `kvminit schema`): " + ", ".join(old))
        return EXIT_OK
    for path in write(directory):
        print(path)
    return EXIT_OK


HANDLERS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "e820": cmd_e820,
    "routes": cmd_routes,
    "boot": cmd_boot,
    "qemu-args": cmd_qemu_args,
    "from-qemu": cmd_from_qemu,
    "probe": cmd_probe,
    "hosts": cmd_hosts,
    "machines": cmd_machines,
    "schema": cmd_schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `kvminit MACHINE.toml` is `kvminit run MACHINE.toml`.
    if args_list and not args_list[0].startswith("-") and args_list[0] not in COMMANDS:
        args_list.insert(0, "run")
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        say("a command or a MACHINE.toml is required (kvminit --help)")
        return EXIT_USAGE
    from .config import ConfigError
    from .kvm.errors import ProfileError
    from .report.output import OutputError

    try:
        return HANDLERS[args.command](args)
    except ConfigError as e:
        say(str(e))
    except (ProfileError, OutputError, Failure) as e:
        say(str(e))
    except Usage as e:
        parser.print_usage(sys.stderr)
        say(str(e))
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
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
