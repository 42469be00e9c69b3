"""The kernel interface and nothing else, as rust-vmm's kvm-ioctls (DESIGN.md, Data flow).

`device` states the handles (`Kvm` → `VmFd` → `VcpuFd`) every host provides; `real`
implements them over /dev/kvm, `emulated` over a recorded `profile`; `interpose` wraps
any host to inject faults or record calls. Nothing here applies QEMU's policy, and
nothing here imports the rest of kvminit (only `kvminit.common`).
"""
