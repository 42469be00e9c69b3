"""The bad-file corpus: each tests/data/bad/NAME.toml must fail with NAME.expected.

Every file goes through `validate` (file, host, QEMU version): the expected text is
each error as validate locates it, `FILE[:LINE]: [KEY: ]MESSAGE[ (HINT)]`, whether
the description itself is bad or the engine refuses it the way QEMU would. `run`
then says the same on stderr: a bad description located, QEMU's words as QEMU prints
them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvminit.cli import main
from kvminit.config import ConfigError, Finding, load_machine

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(BAD.glob("*.toml"))
HOST = "amd-epyc-linux-6.18"
# The QEMU version that answers: 10.0, unless the file is about another version's
# machine catalogue (`q35` is pc-q35-10.0 there, with 4096 CPUs; 10.0 has pc-i440fx-8.0).
QEMU_FOR = {"too-many-cpus": "7.2", "unknown-type": "7.2", "modules-7.2": "7.2"}


def test_every_bad_file_has_its_expected_message() -> None:
    assert CASES
    assert {p.stem for p in CASES} == {p.stem for p in BAD.glob("*.expected")}
    assert set(QEMU_FOR) <= {p.stem for p in CASES}


def _is_bad_description(path: Path) -> bool:
    try:
        load_machine(path.name)
    except ConfigError:
        return True
    return False


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_bad_file(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BAD)  # messages name the file as given
    qemu = QEMU_FOR.get(path.stem, "10.0")
    expected = path.with_suffix(".expected").read_text().splitlines()

    code = main(["validate", path.name, "--host", HOST, "--qemu", qemu, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    [result] = json.loads(out)["results"]
    assert (result["path"], result["host"], result["qemu"], result["ok"]) == (
        path.name,
        HOST,
        qemu,
        False,
    )
    errors = [Finding(**e) for e in result["errors"]]
    assert "\n".join(f.located(path.name) for f in errors).splitlines() == expected

    code = main(["run", path.name, "--host", HOST, "--qemu", qemu])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    if _is_bad_description(path):
        lines = expected
    else:
        # The engine's refusal: QEMU's warnings and words, then kvminit's hint.
        [error] = errors
        warnings = [w["message"] for w in result["warnings"]]
        lines = [*warnings, error.message, *([error.hint] if error.hint else [])]
        lines = "\n".join(lines).splitlines()
    assert err == "".join(f"kvminit: {line}\n" for line in lines)
