"""The bad-file corpus: each tests/data/bad/NAME.toml must fail with NAME.expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvminit.cli import main

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(BAD.glob("*.toml"))


def test_every_bad_file_has_its_expected_message() -> None:
    assert CASES
    assert {p.stem for p in CASES} == {p.stem for p in BAD.glob("*.expected")}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_bad_file(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BAD)  # messages name the file as given
    code = main(["run", path.name, "--host", "amd-epyc-linux-6.18"])
    out, err = capsys.readouterr()
    expected = path.with_suffix(".expected").read_text()
    assert code == 1
    assert "Traceback" not in out + err
    assert err == "".join(f"kvminit: {line}\n" for line in expected.splitlines())
