"""QEMU's policy: the steps of the seed's kvm_init and the PC board after it, per version.

`run()` replays them against a host for QEMU 2.6, 7.2 or 10.0 (`qemu.py`) and returns an
InitResult. Where each step of the walkthrough lives (a reader holding the seed finds
2.10.3 at once); 7.2 and 10.0 keep the numbers for the steps they share and add letters
for their own (docs/architecture.md lists them):

| step | what | 2.6 | 7.2 / 10.0 |
|---|---|---|---|
| 1 | main(): -m, -smp, machine properties, CPU limit | accel, memory, smp | same |
| 1.1, 1.1.1.1 | configure_accelerator(s), in order, fallback | accel | accel |
| 2, 2.1–2.9 | kvm_init(): open, API, slots, vCPUs, CREATE_VM, caps | kvm_all | kvm_all_modern |
| 2.10, 2.10.1–2.10.5 | kvm_arch_init(): MSRs, identity map, TSS, MMU | kvm_x86 | kvm_x86_modern |
| 2.11 | machine_kernel_irqchip_allowed() | kvm_all | kvm_all_modern |
| 2.12, 2.12.2, 2.12.3 | kvm_irqchip_create(), CREATE_IRQCHIP, routes | kvm_all | kvm_all_modern |
| 2.12.1, 2.12.3.1 | kvm_arch_irqchip_create() (split), arch routing | kvm_x86 | kvm_x86_modern |
| err: | kvm_init's error path (fds closed, -errno) | kvm_all, errors | same |
| 3 | the board: guest CPU, pc_memory_init(), e820 | pc, cpu | pc, x86_cpus, cpu, memory |
| 3.5–3.7 | kvmclock, kvm_pc_setup_irq_routing(), SMM | pc | pc |

Support: `context` (the run's state, kvm_check_extension, kvm_vm_ioctl), `errors`
(how a run stops), `state` (KVMState, the trace), `result` (InitResult), `routing`
(the GSI table), `layout` (addresses and pure layout rules), `cpu`/`cpu_models` (the
guest CPU rule and every model of each version), `smp` (-smp per version), `memory`
(-m, hotplug), `machines` (each version's machine classes), `qemuline` (the command
line QEMU is given), `e820` (the table and its fw_cfg bytes), `messages` (QEMU's
messages, as Text variants per version, next to their conditions), `memo`
(configure_accelerator() remembered on a recorded host, for runs without a trace).
"""

from .accel import run
from .result import InitResult, NoLegacyE820
from .state import InitError, KVMState, TraceStep

__all__ = ["InitError", "InitResult", "KVMState", "NoLegacyE820", "TraceStep", "run"]
