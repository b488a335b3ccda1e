#!/usr/bin/env python3
"""interrupt_test.py TRANSIT86 WORKDIR: Ctrl-C over the socket (GDB manual, "Interrupts").

A guest that loops forever (`jmp $`), a client that speaks the remote protocol by hand: `c`,
then the 0x03 byte, must give a T02 stop reply; then malformed bytes (a bad checksum, an
overlong packet, noise) must get '-' or an error reply and leave the server answering; then
`k` ends the run and the server exits 0. Bounded: every read has a timeout."""
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
    image = os.path.join(work, "loop.bin")
    with open(image, "wb") as f:
        f.write(b"\xeb\xfe")  # jmp $
    server = subprocess.Popen([transit86, "step", image, "--gdb", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, text=True)
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
