#!/usr/bin/env python3
"""interrupt_test.py TRANSIT86 WORKDIR [boot]: Ctrl-C over the socket (GDB manual, "Interrupts").

A guest that loops forever (`jmp $`), a client that speaks the remote protocol by hand: `c`,
then the 0x03 byte, must give a T02 stop reply; then malformed bytes (a bad checksum, an
overlong packet, noise) must get '-' or an error reply and leave the server answering; then
`k` ends the run and the server exits 0. Bounded: every read has a timeout.

With `boot`: `transit86 boot --gdb` on a 64 KiB firmware that masks every 8259 input, starts
the 8254 and halts with interrupts enabled: the CPU never wakes, virtual time skips from one
timer event to the next forever, and Ctrl-C must still stop it."""
import os
import re
import socket
import subprocess
import sys


def frame(payload: bytes) -> bytes:
    return b"$" + payload + b"#" + b"%02x" % (sum(payload) & 0xFF)


def main() -> int:
    transit86, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    if len(sys.argv) > 3 and sys.argv[3] == "boot":
        bios = bytearray(b"\xf4" * 65536)
        code = bytes([0xB0, 0x11, 0xE6, 0x20, 0xB0, 0x08, 0xE6, 0x21,  # 8259 ICW1, ICW2
                      0xB0, 0x04, 0xE6, 0x21, 0xB0, 0x01, 0xE6, 0x21,  # ICW3, ICW4
                      0xB0, 0xFF, 0xE6, 0x21,                          # OCW1: all masked
                      0xB0, 0x34, 0xE6, 0x43, 0xB0, 0x00, 0xE6, 0x40, 0xE6, 0x40,  # 8254 ch0
                      0xFB, 0xF4, 0xEB, 0xFD])                         # sti; hlt; jmp hlt
        bios[0:len(code)] = code
        bios[0xFFF0:0xFFF5] = bytes([0xEA, 0x00, 0x00, 0x00, 0xF0])  # jmp far f000:0000
        image = os.path.join(work, "halt-bios.bin")
        with open(image, "wb") as f:
            f.write(bios)
        command = [transit86, "boot", "--bios", image, "--memory", "2", "--gdb", "127.0.0.1:0"]
    else:
        image = os.path.join(work, "loop.bin")
        with open(image, "wb") as f:
            f.write(b"\xeb\xfe")  # jmp $
        command = [transit86, "step", image, "--gdb", "127.0.0.1:0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        port = None
        for _ in range(5):
            line = server.stdout.readline()
            m = re.match(r"transit86: waiting for GDB on 127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                port = int(m.group(1))
                break
        if port is None:
            print("FAIL: no port announced")
            return 1
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        buf = b""

        def reply() -> bytes:
            nonlocal buf
            while True:
                m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", buf)
                if m:
                    buf = buf[m.end():]
                    return m.group(1)
                data = s.recv(4096)
                if not data:
                    raise EOFError("server closed the connection")
                buf += data

        s.sendall(frame(b"QStartNoAckMode"))
        assert reply() == b"OK"
        s.sendall(frame(b"c"))
        s.sendall(b"\x03")
        stop = reply()
        if not stop.startswith(b"T02"):
            print("FAIL: Ctrl-C gave", stop)
            return 1
        # A bad checksum is dropped (no acks in no-ack mode), an overlong packet gets E01,
        # noise is ignored, and the server still answers.
        s.sendall(b"$g#00" + b"garbage" + frame(b"m" + b"0" * 40000))
        assert reply() == b"E01"
        s.sendall(frame(b"qC"))
        assert reply() == b"QC1"
        s.sendall(frame(b"k"))
        s.close()
        if server.wait(timeout=20) != 0:
            print("FAIL: server exit status", server.returncode)
            return 1
        rest = server.stdout.read()
        if "== GDB killed the run after" not in rest:
            print("FAIL: server said", rest)
            return 1
        print("interrupt_test: Ctrl-C stopped the loop; malformed input answered; kill ended the run")
        return 0
    finally:
        if server.poll() is None:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
