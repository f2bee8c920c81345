"""A listener in a child process and a client in the parent, with authentication."""

import multiprocessing
import sys
from multiprocessing.connection import Client, Listener


def serve(reply, authkey):
    with Listener(("127.0.0.1", 0), authkey=authkey) as listener:
        reply.send(listener.address)
        for _ in range(2):
            try:
                with listener.accept() as conn:
                    for message in iter(conn.recv, "bye"):
                        conn.send(("echo", message))
                    conn.send_bytes(b"raw bytes")
            except multiprocessing.AuthenticationError:
                pass


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    reply, reply_end = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(reply_end, b"key"))
    server.start()
    address = reply.recv()
    try:
        Client(address, authkey=b"wrong")
    except multiprocessing.AuthenticationError as exc:
        print("wrong key:", type(exc).__name__)
    with Client(address, authkey=b"key") as conn:
        for message in [1, "two", {"three": 3}, [4.0]]:
            conn.send(message)
            print(conn.recv())
        conn.send("bye")
        print(conn.recv_bytes(), conn.poll(0.01))
    server.join(60)
    print(server.exitcode)
    a, b = multiprocessing.Pipe(duplex=False)
    b.send(list(range(3)))
    print(a.recv(), a.readable, a.writable, b.readable, b.writable)
