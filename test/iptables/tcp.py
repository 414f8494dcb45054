#!/usr/bin/env python3
"""Tiny TCP endpoints for the iptables integration test.

  serve NAME PORT...        answer every connection with one line naming NAME, the local address
                            and the peer address, then close
  proxy NAME PORT [--transparent] [--forward]
                            accept on PORT (IPv4 and IPv6), read where the connection was headed
                            (SO_ORIGINAL_DST after REDIRECT, the local address after TPROXY) and
                            answer one line with it; with --forward, first connect there itself and
                            append the upstream's answer
  connect HOST PORT [FROM]  print the one-line answer of HOST:PORT (connecting from address FROM)

Every line is JSON so the test can assert on fields. `serve` and `proxy` print "ready" once listening.
"""
import json
import os
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80  # same number for IPv4 (SOL_IP) and IPv6 (SOL_IPV6, IP6T_SO_ORIGINAL_DST)
IP_TRANSPARENT = 19
IPV6_TRANSPARENT = 75


def listeners(port, transparent=False):
    socks = []
    for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if transparent:
            if family == socket.AF_INET:
                s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
        try:
            s.bind((addr, port))
        except OSError:
            if family == socket.AF_INET6:
                continue  # no IPv6 in this namespace
            raise
        s.listen(64)
        socks.append(s)
    return socks


def hostport(addr):
    return {"ip": addr[0], "port": addr[1]}


def original_dst(conn, transparent):
    if transparent:
        return hostport(conn.getsockname())
    if conn.family == socket.AF_INET:
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, packed = struct.unpack_from("!2xH4s", raw)
        return {"ip": socket.inet_ntop(socket.AF_INET, packed), "port": port}
    raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
    port, packed = struct.unpack_from("!2xH4x16s", raw)
    return {"ip": socket.inet_ntop(socket.AF_INET6, packed), "port": port}


def ask(host, port, timeout=5, source=None):
    bind = (source, 0) if source else None
    with socket.create_connection((host, port), timeout=timeout, source_address=bind) as c:
        data = b""
        while not data.endswith(b"\n"):
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data.decode())


def run(socks, handle):
    def loop(s):
        while True:
            conn, peer = s.accept()
            threading.Thread(target=handle, args=(conn, peer), daemon=True).start()

    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


def reply(conn, obj):
    with conn:
        conn.sendall((json.dumps(obj) + "\n").encode())


def serve(name, ports):
    socks = [s for p in ports for s in listeners(p)]

    def handle(conn, peer):
        reply(conn, {"who": name, "uid": os.getuid(), "local": hostport(conn.getsockname()), "from": hostport(peer)})

    run(socks, handle)


def proxy(name, port, transparent, forward):
    def handle(conn, peer):
        obj = {"who": name, "uid": os.getuid(), "from": hostport(peer)}
        try:
            obj["original"] = original_dst(conn, transparent)
            if forward:
                obj["upstream"] = ask(obj["original"]["ip"], obj["original"]["port"])
        except Exception as e:  # the answer carries the failure so the test can show it
            obj["error"] = repr(e)
        reply(conn, obj)

    run(listeners(port, transparent), handle)


def main(argv):
    cmd = argv[1]
    if cmd == "serve":
        serve(argv[2], [int(p) for p in argv[3:]])
    elif cmd == "proxy":
        proxy(argv[2], int(argv[3]), "--transparent" in argv, "--forward" in argv)
    elif cmd == "connect":
        try:
            print(json.dumps(ask(argv[2], int(argv[3]), source=argv[4] if len(argv) > 4 else None)))
        except Exception as e:
            print(json.dumps({"error": repr(e)}))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
