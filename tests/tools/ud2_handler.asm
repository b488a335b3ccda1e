; The step trace names a delivered exception: UD2 raises #UD, delivered through the IVT to a
; handler that halts (tests/tools/CMakeLists.txt, step_delivered_exception).
bits 16
org 0x7c00
    xor ax, ax
    mov ds, ax
    mov word [6 * 4], handler   ; IVT entry 6 (#UD): 0000:handler
    mov word [6 * 4 + 2], 0
    ud2
handler:
    hlt
