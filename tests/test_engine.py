"""kvm_init step by step on profiles: every branch, its words, its outcome, no fd left open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kvminit import engine
from kvminit.config import MachineConfig, parse_machine
from kvminit.engine import InitResult
from kvminit.engine.e820 import E820_RAM, E820_RESERVED, E820Entry, E820Table
from kvminit.engine.qemu import QEMU_2_6, QEMU_7_2, QEMU_10_0, Qemu
from kvminit.kvm.device import KvmHost
from kvminit.kvm.profiles import profile_host

from .conftest import machine, messages

Make = Callable[..., KvmHost]


def run(m: MachineConfig, host: KvmHost, qemu: Qemu = QEMU_2_6) -> InitResult:
    """The seed's kvm_init: these tests run under QEMU 2.6 unless they name a version."""
    return engine.run(m, host, qemu=qemu)


@pytest.fixture(autouse=True)
def _every_test_checks_fds(no_fd_leak: None) -> None:
    """Every engine test, success or failure, leaves the fd table as it found it."""


def calls(r: InitResult, step: str | None = None) -> list[str]:
    return [t.call for t in r.trace if step is None or t.step == step]


def test_pc_on_the_recorded_host(amd: KvmHost) -> None:
    r = run(machine(type="pc", memory="1G", smp=2), amd)
    assert r.ok and r.accel == "kvm" and messages(r) == []
    s = r.kvm_state
    assert s is not None
    assert (s.nr_slots, s.soft_vcpus_limit, s.hard_vcpus_limit) == (32764, 2, 1024)
    assert (
        s.coalesced_mmio,
        s.broken_set_mem_region,
        s.vcpu_events,
        s.robust_singlestep,
        s.debugregs,
    ) == (2, 0, 1, 1, 1)
    assert s.direct_msi and s.readonly_mem and s.eventfds and s.irqfds and s.resamplefds
    assert not s.vm_attributes and s.ioeventfd_any_length and s.intx_set_mask == 0
    assert s.irq_set_ioctl == "KVM_IRQ_LINE_STATUS"
    assert (s.xsave, s.xcrs, s.pit_state2, s.smm, s.lm_capable_kernel) == (1, 1, 1, False, True)
    assert (s.identity_base, s.tss_addr) == (0xFEFFC000, 0xFEFFD000)
    assert s.has_msr["star"] and s.has_msr["hsave_pa"] and not s.has_msr["tsc_aux"]
    assert len(s.msr_indices) == 40 and s.unpoison_registered and s.nr_mmu_pages is None
    assert s.kernel_irqchip and s.async_interrupts_allowed and s.halt_in_kernel_allowed
    assert s.gsi_count == 4095 and len(r.routing) == 38
    assert s.fd >= 0 and s.vmfd > s.fd and s.kvm is None and s.vm is None  # closed after the run
    assert r.e820[0] == E820Entry(0xFEFFC000, 0x4000, E820_RESERVED)


def test_trace_follows_the_seed_order(amd: KvmHost) -> None:
    r = run(machine(type="pc"), amd)
    steps = [t.step for t in r.trace]
    order = [
        "1",
        "1.1.1.1",
        "2.1",
        "2.2",
        "2.3",
        "2.4",
        "2.5",
        "2.6",
        "2.7",
        "2.8",
        "2.9",
        "2.10",
        "2.10.1",
        "2.10.2",
        "2.10.3",
        "2.10.4",
        "2.10.5",
        "2.11",
        "2.12",
        "2.12.1",
        "2.12.2",
        "2.12.3",
        "2.12.3.1",
        "3",
    ]
    firsts = [steps.index(s) for s in order]
    assert firsts == sorted(firsts)
    assert calls(r, "2.6") == ["kvm_ioctl(KVM_CREATE_VM)"]
    assert calls(r, "2.7") == [
        f"kvm_check_extension(KVM_CAP_{c})"
        for c in (
            "USER_MEMORY",
            "DESTROY_MEMORY_REGION_WORKS",
            "SET_TSS_ADDR",
            "EXT_CPUID",
            "MP_STATE",
        )
    ]


# --- 1. main() --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "smp", "maxcpus", "key"),
    [("isapc", 2, None, "smp"), ("isapc", 1, 2, "maxcpus")],
)
def test_machine_cpu_limit(
    amd: KvmHost, type_: str, smp: int, maxcpus: int | None, key: str
) -> None:
    # 2.6 compares max_cpus (smp when not given) with the class's limit right after smp_parse.
    given: dict[str, Any] = {"maxcpus": maxcpus} if maxcpus is not None else {}
    r = run(machine(type=type_, smp=smp, accel=["kvm", "tcg"], **given), amd)
    assert r.error is not None and r.accel is None
    assert r.error.message == (
        "Number of SMP CPUs requested (2) exceeds max CPUs supported by machine 'isapc' (1)"
    )
    assert r.error.step == "1" and r.error.key == key


@pytest.mark.parametrize(
    ("type_", "smp", "maxcpus", "key"), [("pc", 256, None, "smp"), ("q35", 2, 300, "maxcpus")]
)
def test_machine_cpu_limit_below_max_cpumask_bits(
    amd: KvmHost, type_: str, smp: int, maxcpus: int | None, key: str
) -> None:
    # On every 2.6 PC type (255) smp_parse's MAX_CPUMASK_BITS (255) check comes first.
    given: dict[str, Any] = {"maxcpus": maxcpus} if maxcpus is not None else {}
    r = run(machine(type=type_, smp=smp, **given), amd)
    assert r.error is not None and r.error.message == "unsupported number of maxcpus"
    assert (r.error.step, r.error.key) == ("1", key)
    assert run(machine(type="q35", smp=255), amd).error is None


@pytest.mark.parametrize(
    ("qemu", "type_", "smp", "limit", "name"),
    [
        (QEMU_7_2, "pc", 256, 255, "pc-i440fx-7.2"),
        (QEMU_10_0, "pc", 256, 255, "pc-i440fx-10.0"),
        (QEMU_7_2, "pc-i440fx-2.6", 256, 255, "pc-i440fx-2.6"),
        (QEMU_7_2, "pc-q35-2.7", 256, 255, "pc-q35-2.7"),
        (QEMU_7_2, "q35", 289, 288, "pc-q35-7.2"),
        (QEMU_10_0, "pc-q35-2.8", 289, 288, "pc-q35-2.8"),
        (QEMU_10_0, "pc-q35-8.1", 1025, 1024, "pc-q35-8.1"),
        (QEMU_10_0, "q35", 4097, 4096, "pc-q35-10.0"),
        (QEMU_7_2, "isapc", 2, 1, "isapc"),
        (QEMU_10_0, "isapc", 2, 1, "isapc"),
    ],
)
def test_machine_cpu_limit_modern(
    amd: KvmHost, qemu: Qemu, type_: str, smp: int, limit: int, name: str
) -> None:
    r = run(machine(type=type_, smp=smp, accel=["kvm", "tcg"]), amd, qemu)
    assert r.error is not None and r.accel is None
    assert r.error.message == (
        f"Invalid SMP CPUs {smp}. The max CPUs supported by machine '{name}' is {limit}"
    )
    assert r.error.step == "1" and r.error.key == "smp"


@pytest.mark.parametrize("qemu", [QEMU_7_2, QEMU_10_0])
def test_machine_cpu_limit_counts_maxcpus(amd: KvmHost, qemu: Qemu) -> None:
    r = run(machine(type="q35", smp=2, maxcpus=4097), amd, qemu)
    assert r.error is not None and r.error.key == "maxcpus"
    assert r.error.message.startswith("Invalid SMP CPUs 4097.")
    r = run(machine(type="pc-q35-7.2", smp=2, maxcpus=289), amd, qemu)
    assert r.error is not None and r.error.key == "maxcpus"
    assert r.error.message == (
        "Invalid SMP CPUs 289. The max CPUs supported by machine 'pc-q35-7.2' is 288"
    )
    assert run(machine(type="pc-q35-7.2", smp=288), amd, qemu).error is None


# --- 2.1 open ---------------------------------------------------------------------


def test_open_fails(make_profile: Make) -> None:
    r = run(machine(), make_profile(faults=[{"ioctl": "open", "errno": "EACCES"}]))
    assert r.error is not None
    assert r.error.message == (
        "Could not access KVM kernel module: Permission denied\n"
        "failed to initialize KVM: Permission denied"
    )
    assert (r.error.step, r.error.errno) == ("2.1", 13)
    assert r.kvm_state is None and r.to_json()["kvm_state"] is None


def test_open_fails_then_tcg(make_profile: Make) -> None:
    r = run(
        machine(accel=["kvm", "tcg"]), make_profile(faults=[{"ioctl": "open", "errno": "ENOENT"}])
    )
    assert r.ok and r.accel == "tcg" and r.kvm_state is None
    assert messages(r) == [
        "Could not access KVM kernel module: No such file or directory",
        "failed to initialize KVM: No such file or directory",
        "Back to tcg accelerator.",
    ]
    # No identity map (kvm_init failed before kvm_arch_init), and 2.6 has no HT hole.
    assert [e.type for e in r.e820] == [E820_RAM]


def test_open_fails_then_tcg_modern(make_profile: Make) -> None:
    r = run(
        machine(accel=["kvm", "tcg"]),
        make_profile(faults=[{"ioctl": "open", "errno": "ENOENT"}]),
        QEMU_7_2,
    )
    assert r.ok and r.accel == "tcg" and r.kvm_state is None
    assert messages(r) == [
        "Could not access KVM kernel module: No such file or directory",
        "-accel kvm: failed to initialize kvm: No such file or directory",
        "falling back to tcg",
    ]
    # Under TCG qemu64 is AMD: the HT hole (pc-i440fx-7.2), then RAM; no identity map.
    assert [e.type for e in r.e820] == [E820_RESERVED, E820_RAM]


def test_tcg_only(amd: KvmHost) -> None:
    r = run(machine(accel=["tcg"], cpu="kvm64"), amd)
    assert r.ok and r.accel == "tcg" and messages(r) == []
    assert calls(r) == [
        "-smp: cpus 1, maxcpus 1",
        "acc->init_machine(), tcg_init()",
        "ram split (below_4g=0x8000000, above_4g=0x0)",
        "pc_memory_init(below_4g=0x8000000, above_4g=0x0)",
        "e820_add_entry(0x0, 0x8000000, 1)",
    ]


# --- 2.2 API version ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "text"),
    [
        (11, "kvm version too old"),
        (0, "kvm version too old"),
        (13, "kvm version not supported"),
    ],
)
def test_api_version(make_profile: Make, version: int, text: str) -> None:
    r = run(machine(), make_profile(api_version=version))
    assert r.error is not None
    assert r.error.message == f"{text}\nfailed to initialize KVM: Invalid argument"
    assert (r.error.step, r.error.errno) == ("2.2", 22)


def test_api_version_ioctl_error_keeps_its_errno(make_profile: Make) -> None:
    r = run(machine(), make_profile(faults=[{"ioctl": "KVM_GET_API_VERSION", "errno": "ENOMEM"}]))
    assert r.error is not None
    assert (
        r.error.message == "kvm version too old\nfailed to initialize KVM: Cannot allocate memory"
    )


# --- 2.3 - 2.5 slots and vcpu limits -------------------------------------------------


def test_unspecified_limits_use_qemus_defaults(make_profile: Make) -> None:
    host = make_profile(drop=("KVM_CAP_NR_MEMSLOTS", "KVM_CAP_NR_VCPUS", "KVM_CAP_MAX_VCPUS"))
    s = run(machine(), host).kvm_state
    assert s is not None
    assert (s.nr_slots, s.soft_vcpus_limit, s.hard_vcpus_limit) == (32, 4, 4)


def test_max_vcpus_zero_falls_back_to_soft(make_profile: Make) -> None:
    s = run(machine(), make_profile(drop=("KVM_CAP_MAX_VCPUS",))).kvm_state
    assert s is not None and s.hard_vcpus_limit == 2


def test_soft_limit_warns(amd: KvmHost) -> None:
    r = run(machine(smp=3, maxcpus=4), amd)
    assert r.ok
    assert messages(r) == [
        "Warning: Number of SMP cpus requested (3) exceeds the recommended cpus "
        "supported by KVM (2)",
        "Warning: Number of hotpluggable cpus requested (4) exceeds the recommended cpus "
        "supported by KVM (2)",
    ]


@pytest.mark.parametrize(
    ("smp", "maxcpus", "name", "num", "key"),
    [
        (8, 8, "SMP", 8, "smp"),
        (2, 8, "hotpluggable", 8, "maxcpus"),
    ],
)
def test_hard_limit_exits_without_fallback(
    make_profile: Make, smp: int, maxcpus: int, name: str, num: int, key: str
) -> None:
    host = make_profile(caps={"KVM_CAP_MAX_VCPUS": 4})
    r = run(machine(smp=smp, maxcpus=maxcpus, accel=["kvm", "tcg"]), host)
    assert r.accel is None and r.error is not None
    assert r.error.message == (
        f"Number of {name} cpus requested ({num}) exceeds the maximum cpus supported by KVM (4)"
    )
    assert (r.error.step, r.error.errno, r.error.key) == ("2.5", None, key)
    assert messages(r)[-1].startswith(f"Warning: Number of {name} cpus requested ({num})")


# --- kvm-type and 2.6 KVM_CREATE_VM ------------------------------------------------------


def test_kvm_type_is_refused_by_pc(amd: KvmHost) -> None:
    r = run(machine(kvm_type="hv"), amd)
    assert r.error is not None
    assert (
        r.error.message
        == "Invalid argument kvm-type=hv\nfailed to initialize KVM: Invalid argument"
    )
    assert r.error.key == "kvm-type" and "kvm_ioctl(KVM_CREATE_VM)" not in calls(r)


def test_kvm_type_then_tcg(amd: KvmHost) -> None:
    r = run(machine(kvm_type="hv", accel=["kvm", "tcg"]), amd)
    assert r.ok and r.accel == "tcg"
    assert messages(r)[-2:] == [
        "failed to initialize KVM: Invalid argument",
        "Back to tcg accelerator.",
    ]


def test_create_vm_retries_eintr(make_profile: Make) -> None:
    host = make_profile(faults=[{"ioctl": "KVM_CREATE_VM", "errno": "EINTR", "times": 2}])
    r = run(machine(), host)
    assert r.ok
    assert [t.result for t in r.trace if t.step == "2.6"][:2] == [-4, -4]
    assert len(calls(r, "2.6")) == 3


def test_create_vm_eintr_forever_is_reported(make_profile: Make) -> None:
    r = run(machine(), make_profile(faults=[{"ioctl": "KVM_CREATE_VM", "errno": "EINTR"}]))
    assert r.error is not None and r.error.errno == 4
    assert r.error.message.startswith("ioctl(KVM_CREATE_VM) failed: 4 Interrupted system call\n")


@pytest.mark.parametrize(
    ("name", "code", "text"),
    [
        ("ENOMEM", 12, "Cannot allocate memory"),
        ("EINVAL", 22, "Invalid argument"),
        ("EPERM", 1, "Operation not permitted"),
    ],
)
def test_create_vm_fails(make_profile: Make, name: str, code: int, text: str) -> None:
    r = run(machine(), make_profile(faults=[{"ioctl": "KVM_CREATE_VM", "errno": name}]))
    assert r.error is not None
    assert r.error.message == (
        f"ioctl(KVM_CREATE_VM) failed: {code} {text}\nfailed to initialize KVM: {text}"
    )
    assert (r.error.step, r.error.errno) == ("2.6", code)


# --- 2.7 required capabilities ----------------------------------------------------------


@pytest.mark.parametrize(
    "cap",
    [
        "KVM_CAP_USER_MEMORY",
        "KVM_CAP_DESTROY_MEMORY_REGION_WORKS",
        "KVM_CAP_SET_TSS_ADDR",
        "KVM_CAP_EXT_CPUID",
        "KVM_CAP_MP_STATE",
    ],
)
def test_missing_required_capability(make_profile: Make, cap: str) -> None:
    r = run(machine(), make_profile(drop=(cap,)))
    assert r.error is not None
    assert r.error.message == (
        f"kvm does not support {cap}\n"
        "Please upgrade to at least kernel 2.6.29 or recent kvm-kmod\n"
        "(see http://sourceforge.net/projects/kvm).\n"
        "failed to initialize KVM: Invalid argument"
    )
    assert r.error.step == "2.7"


def test_first_missing_capability_wins(make_profile: Make) -> None:
    r = run(machine(), make_profile(drop=("KVM_CAP_MP_STATE", "KVM_CAP_USER_MEMORY")))
    assert r.error is not None and "KVM_CAP_USER_MEMORY" in r.error.message


# --- 2.8 / 2.9 flags -----------------------------------------------------------------------


def test_flags_follow_the_caps(make_profile: Make) -> None:
    host = make_profile(
        drop=(
            "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS",
            "KVM_CAP_SIGNAL_MSI",
            "KVM_CAP_IRQ_INJECT_STATUS",
            "KVM_CAP_READONLY_MEM",
            "KVM_CAP_IOEVENTFD",
            "KVM_CAP_VCPU_EVENTS",
        ),
        caps={"KVM_CAP_PCI_2_3": 1, "KVM_CAP_VM_ATTRIBUTES": 1},
    )
    s = run(machine(), host).kvm_state
    assert s is not None
    assert s.broken_set_mem_region == 1 and not s.direct_msi and not s.readonly_mem
    assert not s.eventfds and s.vcpu_events == 0
    assert s.irq_set_ioctl == "KVM_IRQ_LINE" and s.intx_set_mask == 1 and s.vm_attributes


# --- 2.10 kvm_arch_init -------------------------------------------------------------------


def test_old_kernel_keeps_the_default_identity_map() -> None:
    from kvminit.kvm.profiles import builtin_profile

    r = run(machine(), profile_host(builtin_profile("old-kernel")))
    assert r.ok
    s = r.kvm_state
    assert s is not None
    assert (s.identity_base, s.tss_addr) == (0xFFFBC000, 0xFFFBD000)
    assert r.e820[0] == E820Entry(0xFFFBC000, 0x4000, E820_RESERVED)
    assert not any("SET_IDENTITY_MAP_ADDR" in c for c in calls(r) if "ioctl" in c)
    assert s.hard_vcpus_limit == s.soft_vcpus_limit == 16 and s.nr_slots == 32
    assert s.xsave == 0 and not s.direct_msi and s.gsi_count == 1023


@pytest.mark.parametrize(
    ("ioctl", "step"),
    [
        ("KVM_SET_IDENTITY_MAP_ADDR", "2.10"),
        ("KVM_SET_TSS_ADDR", "2.10.2"),
        ("KVM_GET_MSR_INDEX_LIST", "2.10.1"),
    ],
)
def test_arch_init_ioctl_failures_go_through_err(make_profile: Make, ioctl: str, step: str) -> None:
    r = run(
        machine(accel=["kvm", "tcg"]), make_profile(faults=[{"ioctl": ioctl, "errno": "EFAULT"}])
    )
    assert r.ok and r.accel == "tcg"
    assert messages(r) == ["failed to initialize KVM: Bad address", "Back to tcg accelerator."]
    r = run(machine(), make_profile(faults=[{"ioctl": ioctl, "errno": "EFAULT"}]))
    assert r.error is not None and r.error.step == step
    assert r.error.message == "failed to initialize KVM: Bad address"


def test_shadow_mem_sets_mmu_pages(amd: KvmHost) -> None:
    s = run(machine(kvm_shadow_mem="1M"), amd).kvm_state
    assert s is not None and s.nr_mmu_pages == 256


def test_shadow_mem_too_small(amd: KvmHost) -> None:
    r = run(machine(kvm_shadow_mem="64K"), amd)
    assert r.error is not None
    assert r.error.message == "failed to initialize KVM: Invalid argument"
    assert (r.error.step, r.error.key) == ("2.10.5", "kvm-shadow-mem")
    assert "kvm_vm_ioctl(KVM_SET_NR_MMU_PAGES, 16)" in calls(r)


def test_a_32_bit_host_is_not_lm_capable(make_profile: Make) -> None:
    s = run(machine(), make_profile(uname_machine="i686")).kvm_state
    assert s is not None and not s.lm_capable_kernel


def test_smm_when_the_kernel_has_it(make_profile: Make) -> None:
    s = run(machine(), make_profile(caps={"KVM_CAP_X86_SMM": 1})).kvm_state
    assert s is not None and s.smm


def test_e820_add_entry_table_full() -> None:
    table = E820Table(legacy=True)
    for i in range(16):
        assert table.e820_add_entry(i << 20, 0x1000, E820_RESERVED) == i + 1
    assert table.e820_add_entry(0x4000000, 0x1000, E820_RESERVED) == -16  # -EBUSY
    assert table.e820_add_entry(0, 0x1000, E820_RAM) == 17  # RAM is not in the legacy table
    unlimited = E820Table(legacy=False)
    for i in range(20):
        assert unlimited.e820_add_entry(i << 20, 0x1000, E820_RESERVED) == i + 1


# --- 2.11 / 2.12 irqchip ------------------------------------------------------------------


def test_kernel_irqchip_off(amd: KvmHost) -> None:
    r = run(machine(kernel_irqchip="off"), amd)
    s = r.kvm_state
    assert r.ok and s is not None and not s.kernel_irqchip and not r.routing
    assert ("2.11", "machine_kernel_irqchip_allowed()", 0) in [
        (t.step, t.call, t.result) for t in r.trace
    ]


def test_no_irqchip_capability_is_silent(make_profile: Make) -> None:
    r = run(machine(), make_profile(drop=("KVM_CAP_IRQCHIP",)))
    assert r.ok and r.kvm_state is not None and not r.kvm_state.kernel_irqchip


def test_create_irqchip_fails_exit_without_fallback(make_profile: Make) -> None:
    host = make_profile(faults=[{"ioctl": "KVM_CREATE_IRQCHIP", "errno": "ENOMEM"}])
    r = run(machine(accel=["kvm", "tcg"]), host)
    assert r.accel is None and r.error is not None
    assert r.error.message == "Create kernel irqchip failed: Cannot allocate memory"
    assert (r.error.step, r.error.errno) == ("2.12.2", 12)


def test_split_irqchip(amd: KvmHost) -> None:
    r = run(machine(kernel_irqchip="split"), amd)
    s = r.kvm_state
    assert r.ok and s is not None and s.kernel_irqchip and s.split_irqchip
    assert [(e.gsi, e.type) for e in r.routing] == [(i, 2) for i in range(24)]
    assert "kvm_vm_enable_cap(KVM_CAP_SPLIT_IRQCHIP, 0, 24)" in calls(r)
    assert "kvm_vm_ioctl(KVM_CREATE_IRQCHIP)" not in calls(r)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"faults": [{"ioctl": "KVM_ENABLE_CAP", "errno": "EBUSY"}]}, "Device or resource busy"),
        ({"drop": ("KVM_CAP_SPLIT_IRQCHIP",)}, "Invalid argument"),
    ],
)
def test_split_irqchip_fails(make_profile: Make, kwargs: dict[str, object], text: str) -> None:
    r = run(machine(kernel_irqchip="split", accel=["kvm", "tcg"]), make_profile(**kwargs))
    assert r.accel is None and r.error is not None
    assert r.error.message == f"Could not enable split irqchip mode: {text}"
    assert r.error.step == "2.12.1"


def test_split_irq_mode_runs_out_of_gsis(make_profile: Make) -> None:
    r = run(machine(kernel_irqchip="split"), make_profile(caps={"KVM_CAP_IRQ_ROUTING": 11}))
    assert r.error is not None and r.error.message == "Could not enable split IRQ mode."


# --- 2.12.3 routing --------------------------------------------------------------------


def test_gsi_bitmap_marks_over_allocated_bits(make_profile: Make) -> None:
    s = run(
        machine(kernel_irqchip="split"), make_profile(caps={"KVM_CAP_IRQ_ROUTING": 100})
    ).kvm_state
    assert s is not None and s.gsi_count == 99
    assert len(s.used_gsi_bitmap) == 4
    assert s.used_gsi == list(range(24)) + list(range(99, 128))


def test_default_bitmap(amd: KvmHost) -> None:
    s = run(machine(), amd).kvm_state
    assert s is not None and len(s.used_gsi_bitmap) == 128
    assert s.used_gsi == [g for g in range(24) if g != 2] + [4095]


def test_no_irq_routing_sets_no_hpet() -> None:
    from kvminit.kvm.profiles import builtin_profile

    r = run(machine(), profile_host(builtin_profile("no-irq-routing")))
    s = r.kvm_state
    assert r.ok and s is not None
    assert s.no_hpet and s.gsi_count == 0 and s.used_gsi_bitmap == [] and not r.routing


def test_routing_refused_by_the_kernel(make_profile: Make) -> None:
    r = run(machine(), make_profile(faults=[{"ioctl": "KVM_SET_GSI_ROUTING", "errno": "EINVAL"}]))
    assert r.error is not None
    assert r.error.message == (
        "kvm_irqchip_commit_routes: Assertion `ret == 0' failed. "
        "(KVM_SET_GSI_ROUTING: Invalid argument)"
    )
    assert len(r.routing) == 38  # what was submitted


@pytest.mark.parametrize(
    ("type_", "irqchip", "count"),
    [
        ("pc", "on", 38),
        ("q35", "on", 38),
        ("isapc", "on", 15),
        ("pc", "split", 24),
        ("q35", "split", 24),
        ("isapc", "split", 24),
        ("pc", "off", 0),
        ("q35", "off", 0),
        ("isapc", "off", 0),
    ],
)
def test_route_counts(amd: KvmHost, type_: str, irqchip: str, count: int) -> None:
    assert len(run(machine(type=type_, kernel_irqchip=irqchip), amd).routing) == count


def test_pc_routes_are_qemus(amd: KvmHost) -> None:
    routes = [(e.gsi, e.irqchip, e.pin) for e in run(machine(), amd).routing]
    assert routes[:7] == [(i, 0, i) for i in (0, 1, 3, 4, 5, 6, 7)]
    assert routes[7:15] == [(i, 1, i - 8) for i in range(8, 16)]
    assert routes[15] == (0, 2, 2)
    assert routes[16:] == [(i, 2, i) for i in range(1, 24) if i != 2]


# --- what the description leaves to the engine -------------------------------------------
# Rules that moved out of the machine description: QEMU's per-version answers, each at
# its key's line (the file starts with a comment, so a key on the file's line N is on N + 1).


def described(text: str) -> MachineConfig:
    return parse_machine("# a machine\n" + text, "m.toml")


@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0])
@pytest.mark.parametrize(("type_", "cpu"), [("pc", "qemu64"), ("q35", "qemu64"), ("isapc", "486")])
def test_defaults_the_engine_settles(amd: KvmHost, qemu: Qemu, type_: str, cpu: str) -> None:
    # No smp, maxcpus, cpu or kernel-irqchip in the file: one CPU of the machine's default
    # model, the irqchip in the kernel (not split).
    r = run(described(f'type = "{type_}"'), amd, qemu)
    assert r.ok and r.topology is not None and r.cpu is not None and r.kvm_state is not None
    assert (r.topology.cpus, r.topology.max_cpus) == (1, 1)
    assert r.cpu.model == cpu
    assert r.kvm_state.kernel_irqchip and not r.kvm_state.split_irqchip


@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0])
def test_maxcpus_defaults_to_smp(make_profile: Make, qemu: Qemu) -> None:
    r = run(described("smp = 4"), make_profile(caps={"KVM_CAP_NR_VCPUS": 8}), qemu)
    assert r.ok and r.topology is not None
    assert (r.topology.cpus, r.topology.max_cpus) == (4, 4)


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        (QEMU_2_6, "maxcpus must be equal to or greater than smp"),
        (
            QEMU_7_2,
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
            "sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)",
        ),
        (
            QEMU_10_0,
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
            "sockets (1) * dies (1) * modules (1) * cores (2) * threads (1) "
            "== maxcpus (2) < smp_cpus (4)",
        ),
    ],
)
def test_maxcpus_below_smp(amd: KvmHost, qemu: Qemu, message: str) -> None:
    r = run(described("smp = 4\nmaxcpus = 2"), amd, qemu)
    assert r.error is not None and r.accel is None
    assert (r.error.step, r.error.message, r.error.key, r.error.line) == (
        "1",
        message,
        "maxcpus",
        3,
    )


ZERO_2_6 = "{key} = 0: QEMU 2.6 would quietly use its default; a file that says 0 is a mistake"
ZERO_7_2 = (
    "warning: Deprecated CPU topology (considered invalid): "
    "CPU topology parameters must be greater than zero"
)
ZERO_10_0 = "Invalid CPU topology: CPU topology parameters must be greater than zero"


@pytest.mark.parametrize("key", ["smp", "cores", "threads", "sockets"])
def test_a_zero_count_per_version(amd: KvmHost, key: str) -> None:
    # 2.6 would quietly take its default: kvminit refuses the file instead.
    r = run(described(f"{key} = 0"), amd, QEMU_2_6)
    assert r.error is not None
    assert (r.error.message, r.error.key, r.error.line) == (ZERO_2_6.format(key=key), key, 2)
    # 7.2 warns and goes on as if the key were not given.
    r = run(described(f"{key} = 0"), amd, QEMU_7_2)
    assert r.ok and r.topology is not None and r.topology.cpus == 1
    assert [(w.message, w.key, w.line) for w in r.warnings] == [(ZERO_7_2, key, 2)]
    # 10.0 refuses it.
    r = run(described(f"{key} = 0"), amd, QEMU_10_0)
    assert r.error is not None and r.accel is None
    assert (r.error.step, r.error.message, r.error.key, r.error.line) == ("1", ZERO_10_0, key, 2)


def test_maxcpus_zero_per_version(amd: KvmHost) -> None:
    r = run(described("maxcpus = 0"), amd, QEMU_2_6)
    assert r.error is not None and (r.error.key, r.error.line) == ("maxcpus", 2)
    assert r.error.message == "cpu topology: sockets (1) * cores (1) * threads (1) > maxcpus (0)"
    r = run(described("maxcpus = 0"), amd, QEMU_7_2)
    assert r.ok and [(w.message, w.key) for w in r.warnings] == [(ZERO_7_2, "maxcpus")]
    r = run(described("maxcpus = 0"), amd, QEMU_10_0)
    assert r.error is not None
    assert (r.error.message, r.error.key, r.error.line) == (ZERO_10_0, "maxcpus", 2)


@pytest.mark.parametrize(
    ("qemu", "name", "message", "hint"),
    [
        (
            QEMU_2_6,
            "pc-i440fx-9.9",
            "-machine pc-i440fx-9.9,accel=kvm: unsupported machine type\n"
            "Use -machine help to list supported machines",
            "did you mean 'pc-i440fx-2.6'?",
        ),
        (
            QEMU_7_2,
            "pc-i440fx-9.9",
            "unsupported machine type\nUse -machine help to list supported machines",
            "did you mean 'pc-i440fx-7.2'?",
        ),
        (
            QEMU_10_0,
            "pc-i440fx-9.9",
            'unsupported machine type: "pc-i440fx-9.9"\n'
            "Use -machine help to list supported machines",
            "did you mean 'pc-i440fx-9.2'?",
        ),
        (
            QEMU_10_0,
            "pc-q35-2.3",
            'unsupported machine type: "pc-q35-2.3"\nUse -machine help to list supported machines',
            "did you mean 'pc-q35-2.4'?",
        ),
        (
            QEMU_7_2,
            "virt",
            "unsupported machine type\nUse -machine help to list supported machines",
            None,
        ),
    ],
)
def test_unknown_machine_type(
    amd: KvmHost, qemu: Qemu, name: str, message: str, hint: str | None
) -> None:
    # vl.c select_machine(): before anything else runs, so no KVM and no trace.
    r = run(described(f'type = "{name}"'), amd, qemu)
    assert r.error is not None and r.machine_class is None and r.accel is None
    assert (r.error.step, r.error.message, r.error.key, r.error.line) == ("1", message, "type", 2)
    assert r.error.hint == hint
    assert r.qemu == str(qemu) and r.to_json()["machine_type"] is None


def test_a_type_only_some_versions_have(amd: KvmHost) -> None:
    assert run(described('type = "pc-i440fx-8.0"'), amd, QEMU_10_0).ok
    assert run(described('type = "pc-i440fx-8.0"'), amd, QEMU_7_2).error is not None
    assert run(described('type = "pc-1.0"'), amd, QEMU_2_6).ok
    assert run(described('type = "pc-1.0"'), amd, QEMU_10_0).error is not None


@pytest.mark.parametrize(
    ("qemu", "message"),
    [
        (QEMU_2_6, "Unable to find CPU definition: pentium9"),
        (QEMU_7_2, "unable to find CPU model 'pentium9'"),
        (QEMU_10_0, "unable to find CPU model 'pentium9'"),
    ],
)
def test_unknown_cpu_model(amd: KvmHost, qemu: Qemu, message: str) -> None:
    r = run(described('cpu = "pentium9"'), amd, qemu)
    assert r.error is not None
    assert (r.error.message, r.error.key, r.error.line) == (message, "cpu", 2)


@pytest.mark.parametrize("qemu", [QEMU_2_6, QEMU_7_2, QEMU_10_0])
def test_unknown_cpu_model_hint(amd: KvmHost, qemu: Qemu) -> None:
    r = run(described('cpu = "Pentium"'), amd, qemu)
    assert r.error is not None and r.error.key == "cpu"
    assert r.error.hint == "did you mean 'pentium'?"


HOST_BITS_60 = "warning: Host physical bits (48) does not match phys-bits property (60)"
RANGE_60 = "phys-bits should be between 32 and 52  (but is 60)"


@pytest.mark.parametrize(
    ("qemu", "warnings", "message"),
    [
        (QEMU_2_6, [], "Property '.phys-bits' not found"),
        # Under KVM on an LM model the host check warns first, then the range refuses.
        (QEMU_7_2, [HOST_BITS_60], RANGE_60),
        (QEMU_10_0, [HOST_BITS_60], RANGE_60),
    ],
)
def test_phys_bits_out_of_range(
    amd: KvmHost, qemu: Qemu, warnings: list[str], message: str
) -> None:
    r = run(described("phys-bits = 60"), amd, qemu)
    assert r.error is not None
    assert (r.error.message, r.error.key, r.error.line) == (message, "phys-bits", 2)
    assert [(w.message, w.key) for w in r.warnings] == [(w, "phys-bits") for w in warnings]


@pytest.mark.parametrize(
    ("qemu", "warning", "ram"),
    [
        # 2.6: 0 is a value: no RAM below 4G at all (a zero-length entry, then 4G up).
        (
            QEMU_2_6,
            "Warning: small max_ram_below_4g(0) less than 1M.  BIOS may not work..",
            [(0, 0), (4 << 30, 1 << 30)],
        ),
        # 7.2 and 10.0: the setter warns, then 0 means the default split.
        (
            QEMU_10_0,
            "warning: Only 0 bytes of RAM below the 4GiB boundary,"
            "BIOS may not work with less than 1MiB",
            [(0, 1 << 30)],
        ),
    ],
)
def test_max_ram_below_4g_zero(
    amd: KvmHost, qemu: Qemu, warning: str, ram: list[tuple[int, int]]
) -> None:
    r = run(described('memory = "1G"\nmax-ram-below-4g = 0'), amd, qemu)
    assert r.ok
    assert [(w.message, w.key, w.line) for w in r.warnings] == [(warning, "max-ram-below-4g", 3)]
    assert [(e.address, e.length) for e in r.e820 if e.type == E820_RAM] == ram
