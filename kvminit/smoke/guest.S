/*
 * kvminit's smoke-boot guest: reads fw_cfg file "etc/e820" the way firmware does
 * and copies it to the debug port.
 *
 * 16-bit real mode, no stack, no RAM written: the same 64 KiB image runs
 *  - under `kvminit boot`, loaded at 0xf0000 with CS = f000, IP = fff0, and
 *  - under QEMU as `-bios` (reset at ffff:fff0 of the image, which QEMU also maps at
 *    0xf0000, so the far jump below lands on _start either way).
 *
 * Ports (QEMU's legacy x86 fw_cfg interface and the usual debug devices):
 *   0x510  fw_cfg selector, 16-bit write         0x511  fw_cfg data, 8-bit read
 *   0x0e9  debug console (isa-debugcon)          0x0f4  done (isa-debug-exit)
 * Done codes written to 0xf4: 0 found and copied, 1 no "QEMU" signature, 2 no etc/e820.
 *
 * Build: as --32 -o guest.o guest.S && ld -m elf_i386 -Ttext=0 --oformat=binary \
 *        -o guest.rom guest.o        (tests/test_boot.py checks guest.rom against this)
 */
        .code16
        .set FW_CFG_PORT_SEL,  0x510
        .set FW_CFG_PORT_DATA, 0x511
        .set FW_CFG_SIGNATURE, 0x00
        .set FW_CFG_FILE_DIR,  0x19
        .set DEBUG_PORT,       0xe9
        .set DONE_PORT,        0xf4

        .text
        .globl _start
_start:
        cli
        cld

        /* The signature item reads "QEMU". */
        mov     $FW_CFG_PORT_SEL, %dx
        mov     $FW_CFG_SIGNATURE, %ax
        out     %ax, %dx
        mov     $FW_CFG_PORT_DATA, %dx
        mov     $signature, %si
        mov     $4, %cx
1:      in      %dx, %al
        cmpb    %cs:(%si), %al
        jne     no_signature
        inc     %si
        loop    1b

        /* The file directory: a big-endian u32 count, then 64-byte entries. */
        mov     $FW_CFG_PORT_SEL, %dx
        mov     $FW_CFG_FILE_DIR, %ax
        out     %ax, %dx
        mov     $FW_CFG_PORT_DATA, %dx

        xor     %ebx, %ebx
        mov     $4, %cx
2:      shl     $8, %ebx
        in      %dx, %al
        mov     %al, %bl
        loop    2b
        mov     %ebx, %edi              /* edi = entries left */

next_entry:
        test    %edi, %edi
        jz      no_file
        dec     %edi

        /* u32 size (big-endian); etc/e820 is small, the low 16 bits go to bp. */
        xor     %ebx, %ebx
        mov     $4, %cx
3:      shl     $8, %ebx
        in      %dx, %al
        mov     %al, %bl
        loop    3b
        mov     %bx, %bp

        /* u16 select (big-endian), kept in gs; then u16 reserved. */
        in      %dx, %al
        mov     %al, %bh
        in      %dx, %al
        mov     %al, %bl
        mov     %bx, %gs
        in      %dx, %al
        in      %dx, %al

        /* char name[56]: compare with "etc/e820\0", read all 56 bytes regardless. */
        mov     $wanted, %si
        xor     %ah, %ah                /* ah != 0 once a byte differs */
        mov     $56, %cx
4:      in      %dx, %al
        cmp     $wanted_end, %si
        jae     5f
        cmpb    %cs:(%si), %al
        je      5f
        mov     $1, %ah
5:      inc     %si
        loop    4b
        test    %ah, %ah
        jnz     next_entry

        /* Found: select it and copy its bytes to the debug port. */
        mov     %gs, %ax
        mov     $FW_CFG_PORT_SEL, %dx
        out     %ax, %dx
        mov     $FW_CFG_PORT_DATA, %dx
        mov     %bp, %cx
        jcxz    6f
7:      in      %dx, %al
        out     %al, $DEBUG_PORT
        loop    7b
6:      mov     $0, %al
        jmp     done

no_signature:
        mov     $1, %al
        jmp     done
no_file:
        mov     $2, %al
done:
        /* With an in-kernel irqchip HLT never exits to user space: say it on a port. */
        out     %al, $DONE_PORT
halt:
        hlt
        jmp     halt

signature:
        .ascii  "QEMU"
wanted:
        .asciz  "etc/e820"
wanted_end:

        /* The reset vector, 16 bytes below the end of the 64 KiB image. */
        .org    0xfff0
reset:
        ljmp    $0xf000, $_start
        .org    0x10000
