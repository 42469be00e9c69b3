"""The message catalogue, verbatim against the seed's walkthrough."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvminit.engine import messages

SEED = (Path(__file__).parent / "data" / "seed_kvm_init.txt").read_text()


def seed_strings() -> str:
    """Every C string in the seed, adjacent literals joined, escapes as written."""
    joined = re.sub(r'"\s*\n\s*"', "", SEED)
    return "\n".join(re.findall(r'"((?:[^"\\]|\\.)*)"', joined))


STRINGS = seed_strings()


def as_printf(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile("%[dsm]".join(re.escape(p.replace("\n", "\\n")) for p in parts))


@pytest.mark.parametrize(
    "name",
    [
        "KVM_OPEN_FAILED",
        "KVM_VERSION_TOO_OLD",
        "KVM_VERSION_NOT_SUPPORTED",
        "SOFT_VCPUS_LIMIT",
        "HARD_VCPUS_LIMIT",
        "INVALID_KVM_TYPE",
        "CREATE_VM_FAILED",
        "UPGRADE_NOTE",
        "E820_TABLE_FULL",
        "ENABLE_IRQCHIP_FAILED",
        "CREATE_IRQCHIP_FAILED",
    ],
)
def test_message_is_the_seeds(name: str) -> None:
    assert as_printf(getattr(messages, name)).search(STRINGS), name


def test_missing_cap_is_the_seeds_format() -> None:
    assert "kvm does not support %s\\n%s" in STRINGS
    assert messages.MISSING_CAP == "kvm does not support {name}\n" + messages.UPGRADE_NOTE


def test_split_not_supported_is_perror_of_the_seed() -> None:
    assert "Split IRQ chip mode not supported." in STRINGS
    assert messages.SPLIT_NOT_SUPPORTED.startswith("Split IRQ chip mode not supported.: ")


def test_qemu_2_6_messages_outside_the_seed() -> None:
    # vl.c configure_accelerator() and x86 kvm.c of QEMU 2.6, verbatim.
    assert messages.ACCEL_INIT_FAILED == "failed to initialize {accel}: {strerror}"
    assert messages.BACK_TO_ACCEL == "Back to {accel} accelerator."
    assert messages.NO_ACCELERATOR == "No accelerator found!"
    assert messages.SPLIT_IRQCHIP_FAILED == "Could not enable split irqchip mode: {strerror}"
    assert messages.SPLIT_IRQ_MODE_FAILED == "Could not enable split IRQ mode."
    assert messages.MAXCPUS_LT_SMP == "maxcpus must be equal to or greater than smp"
