"""kvm_init step by step on profiles: every branch, its words, its outcome, no fd left open."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kvminit.engine import InitResult, run
from kvminit.engine.e820 import E820_RAM, E820_RESERVED, E820Entry, E820Table
from kvminit.kvm.device import KvmHost
from kvminit.kvm.profiles import profile_host

from .conftest import machine, messages

Make = Callable[..., KvmHost]


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
    ("type_", "smp", "limit", "name"),
    [
        ("pc", 256, 255, "pc-i440fx-7.2"),
        ("pc-i440fx-2.6", 256, 255, "pc-i440fx-2.6"),
        ("pc-q35-2.7", 256, 255, "pc-q35-2.7"),
        ("q35", 289, 288, "pc-q35-7.2"),
        ("pc-q35-2.8", 289, 288, "pc-q35-2.8"),
        ("isapc", 2, 1, "isapc"),
    ],
)
def test_machine_cpu_limit(amd: KvmHost, type_: str, smp: int, limit: int, name: str) -> None:
    r = run(machine(type=type_, smp=smp, accel=["kvm", "tcg"]), amd)
    assert r.error is not None and r.accel is None
    assert r.error.message == (
        f"Number of SMP CPUs requested ({smp}) exceeds max CPUs "
        f"supported by machine '{name}' ({limit})"
    )
    assert r.error.step == "1" and r.error.key == "smp"


def test_machine_cpu_limit_counts_maxcpus(amd: KvmHost) -> None:
    r = run(machine(type="q35", smp=2, maxcpus=300), amd)
    assert r.error is not None and r.error.key == "maxcpus"
    assert "requested (300)" in r.error.message
    assert run(machine(type="q35", smp=288), amd).error is None


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
    # Under TCG qemu64 is AMD: the HT hole, then RAM; no identity map.
    assert [e.type for e in r.e820] == [E820_RESERVED, E820_RAM]


def test_tcg_only(amd: KvmHost) -> None:
    r = run(machine(accel=["tcg"], cpu="kvm64"), amd)
    assert r.ok and r.accel == "tcg" and messages(r) == []
    assert calls(r) == [
        "machine 'pc-i440fx-7.2' max_cpus",
        "acc->init_machine(), tcg_init()",
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
