"""Stands in for Ray's dashboard agent and runtime-env agent in pileline's embedded Ray (see `lean_head`).

The raylet starts both agents and exits if either does; this process holds their place and does nothing.
The raylet gives each agent a pipe on standard input and holds its other end: reading reaches end of file
when the raylet is gone, and the stand-in ends with it. Run as a script with `-I -S` (no site packages):
it imports only `sys`.
"""

import sys

if __name__ == "__main__":
    sys.stdin.buffer.read()
