"""The message catalogue, verbatim against the seed's walkthrough."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvminit.engine import messages
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu

SEED = (Path(__file__).parent / "data" / "seed_kvm_init.txt").read_text()


def seed_strings() -> str:
    """Every C string in the seed, adjacent literals joined, escapes as written."""
    joined = re.sub(r'"\s*\n\s*"', "", SEED)
    return "\n".join(re.findall(r'"((?:[^"\\]|\\.)*)"', joined))


STRINGS = seed_strings()


def words(name: str, qemu: Qemu = QEMU_2_6) -> str:
    """The message's template for `qemu` (a Text's variant, or the one text of every version)."""
    message = getattr(messages, name)
    return message.variant(qemu) if isinstance(message, messages.Text) else str(message)


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
    assert as_printf(words(name)).search(STRINGS), name


def test_missing_cap_is_the_seeds_format() -> None:
    assert "kvm does not support %s\\n%s" in STRINGS
    assert words("MISSING_CAP") == "kvm does not support {name}\n" + messages.UPGRADE_NOTE


def test_split_not_supported_is_perror_of_the_seed() -> None:
    assert "Split IRQ chip mode not supported." in STRINGS
    assert messages.SPLIT_NOT_SUPPORTED.startswith("Split IRQ chip mode not supported.: ")


def test_qemu_2_6_messages_outside_the_seed() -> None:
    # vl.c configure_accelerator() and x86 kvm.c of QEMU 2.6, verbatim.
    assert words("ACCEL_INIT_FAILED") == "failed to initialize {accel}: {strerror}"
    assert words("BACK_TO_ACCEL") == "Back to {accel} accelerator."
    assert words("NO_ACCELERATOR") == "No accelerator found!"
    assert words("SPLIT_IRQCHIP_FAILED") == "Could not enable split irqchip mode: {strerror}"
    assert words("SPLIT_IRQ_MODE_FAILED") == "Could not enable split IRQ mode."
    assert words("MAXCPUS_LT_SMP") == "maxcpus must be equal to or greater than smp"


# The texts the binaries printed (accel-7.2/messages.md §3, accel-10.0/caps-and-messages.md
# §3-§5), with -accel kvm's location where error_report/warn_report print one.
MODERN = [
    ("KVM_OPEN_FAILED", QEMU_7_2, {"strerror": "Permission denied"},
     "Could not access KVM kernel module: Permission denied"),
    ("KVM_OPEN_FAILED", QEMU_10_0, {"strerror": "No such file or directory"},
     "-accel kvm: Could not access KVM kernel module: No such file or directory"),
    ("KVM_VERSION_TOO_OLD", QEMU_7_2, {}, "kvm version too old"),
    ("KVM_VERSION_TOO_OLD", QEMU_10_0, {}, "-accel kvm: kvm version too old"),
    ("KVM_VERSION_NOT_SUPPORTED", QEMU_10_0, {}, "-accel kvm: kvm version not supported"),
    ("CREATE_VM_FAILED", QEMU_7_2, {"errno": 22, "strerror": "Invalid argument"},
     "ioctl(KVM_CREATE_VM) failed: 22 Invalid argument"),
    ("CREATE_VM_FAILED", QEMU_10_0, {"errno": 12, "strerror": "Cannot allocate memory"},
     "-accel kvm: ioctl(KVM_CREATE_VM) failed: Cannot allocate memory"),
    ("SOFT_VCPUS_LIMIT", QEMU_7_2, {"name": "SMP", "num": 4, "limit": 2},
     "-accel kvm: warning: Number of SMP cpus requested (4) exceeds the recommended cpus "
     "supported by KVM (2)"),
    ("SOFT_VCPUS_LIMIT", QEMU_10_0, {"name": "hotpluggable", "num": 4, "limit": 2},
     "-accel kvm: warning: Number of hotpluggable cpus requested (4) exceeds the recommended "
     "cpus supported by KVM (2)"),
    ("HARD_VCPUS_LIMIT", QEMU_7_2, {"name": "SMP", "num": 4, "limit": 3},
     "Number of SMP cpus requested (4) exceeds the maximum cpus supported by KVM (3)"),
    ("HARD_VCPUS_LIMIT", QEMU_10_0, {"name": "SMP", "num": 2000, "limit": 1024},
     "-accel kvm: Number of SMP cpus requested (2000) exceeds the maximum cpus supported by "
     "KVM (1024)"),
    ("MISSING_CAP", QEMU_7_2, {"name": "KVM_CAP_MP_STATE"},
     "kvm does not support KVM_CAP_MP_STATE\n" + messages.UPGRADE_NOTE),
    ("MISSING_CAP", QEMU_10_0, {"name": "KVM_CAP_USER_MEMORY"},
     "-accel kvm: kvm does not support KVM_CAP_USER_MEMORY\n" + messages.UPGRADE_NOTE),
    ("ACCEL_INIT_FAILED", QEMU_7_2, {"accel": "KVM", "strerror": "Invalid argument"},
     "-accel kvm: failed to initialize kvm: Invalid argument"),
    ("ACCEL_INIT_FAILED", QEMU_10_0, {"accel": "KVM", "strerror": "Invalid argument"},
     "-accel kvm: failed to initialize kvm: Invalid argument"),
    ("BACK_TO_ACCEL", QEMU_7_2, {"accel": "tcg"}, "falling back to tcg"),
    ("BACK_TO_ACCEL", QEMU_10_0, {"accel": "tcg"}, "falling back to tcg"),
    ("SPLIT_IRQCHIP_FAILED", QEMU_10_0, {"strerror": "Invalid argument"},
     "-accel kvm: Could not enable split irqchip mode: Invalid argument"),
    ("SPLIT_IRQ_MODE_FAILED", QEMU_10_0, {}, "-accel kvm: Could not enable split IRQ mode."),
]  # fmt: skip


@pytest.mark.parametrize(("name", "qemu", "fields", "text"), MODERN)
def test_modern_words_are_the_binaries(
    name: str, qemu: Qemu, fields: dict[str, object], text: str
) -> None:
    message = getattr(messages, name)
    assert isinstance(message, messages.Text), name
    loc = "-accel kvm: "
    assert message(qemu, loc=loc, **fields) == text
