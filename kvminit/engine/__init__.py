"""QEMU's policy: the steps of the seed's kvm_init and the PC board after it.

`run()` replays them against a host and returns an InitResult. Where each step of
the walkthrough lives (a reader holding the seed finds 2.10.3 at once):

| step | what | module |
|---|---|---|
| 1 | main(): the machine class's CPU limit | accel.py (`_run`) |
| 1.1, 1.1.1.1 | configure_accelerator(), each accelerator in order, fallback | accel.py |
| 2, 2.1–2.9 | kvm_init(): open, API version, slots, vCPU limits, KVM_CREATE_VM, caps | kvm_all.py |
| 2.10, 2.10.1–2.10.5 | kvm_arch_init(): MSRs, identity map, TSS, e820, shadow MMU | kvm_x86.py |
| 2.11 | machine_kernel_irqchip_allowed() | kvm_all.py |
| 2.12, 2.12.2, 2.12.3 | kvm_irqchip_create(), CREATE_IRQCHIP, kvm_init_irq_routing() | kvm_all.py |
| 2.12.1, 2.12.3.1 | kvm_arch_irqchip_create() (split), kvm_arch_init_irq_routing() | kvm_x86.py |
| err: | kvm_init's error path (fds closed, -errno) | kvm_all.py, errors.py |
| 3 | the board: guest CPU, pc_memory_init(), e820, kvm_pc_setup_irq_routing() | pc.py |

Support: `context` (the run's state, kvm_check_extension, kvm_vm_ioctl), `errors`
(how a run stops), `state` (KVMState, the trace), `result` (InitResult), `routing`
(the GSI table), `layout` (addresses and pure layout rules), `cpu` (the guest CPU
rule), `machines` (machine classes), `e820` (the table and its fw_cfg bytes),
`messages` (every QEMU message, next to its condition).
"""

from .accel import run
from .result import InitResult, NoLegacyE820
from .state import InitError, KVMState, TraceStep

__all__ = ["InitError", "InitResult", "KVMState", "NoLegacyE820", "TraceStep", "run"]
