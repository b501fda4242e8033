"""The python3 session of the debian test stage: os, subprocess, json, threading, select."""
import json
import os
import select
import subprocess
import sys
import threading
import time

# os
os.mkdir("pydir")
with open("pydir/a.txt", "w") as f:
    f.write("alpha\nbeta\n")
os.symlink("a.txt", "pydir/link")
st = os.stat("pydir/a.txt")
print("os:", sorted(os.listdir("pydir")), st.st_size, oct(st.st_mode & 0o777), os.path.islink("pydir/link"))
print("os.walk:", sorted((d, sorted(f)) for d, _, f in os.walk("data")))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"from the child")
    os._exit(3)
os.close(w)
data = os.read(r, 100)
_, status = os.waitpid(pid, 0)
print("fork:", data, os.WEXITSTATUS(status))
print("env:", os.environ.get("LC_ALL"), os.getuid(), os.getcwd().endswith("python3"))
os.rename("pydir/a.txt", "pydir/b.txt")
os.unlink("pydir/link")
print("after rename:", os.listdir("pydir"), os.access("pydir/b.txt", os.R_OK))
fd = os.open("pydir/b.txt", os.O_RDWR)
os.lseek(fd, 2, os.SEEK_SET)
os.write(fd, b"PH")
os.close(fd)
print(open("pydir/b.txt").read().split())

# subprocess
out = subprocess.run(["sort", "-r"], input="b\na\nc\n", capture_output=True, text=True)
print("subprocess:", out.returncode, out.stdout.split())
print(subprocess.check_output("echo $((6*7)) | tr 4 X", shell=True, text=True).strip())
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
o, _ = p.communicate(b"through cat" * 1000)
print("popen:", len(o), p.returncode)
try:
    subprocess.run(["false"], check=True)
except subprocess.CalledProcessError as e:
    print("false exits", e.returncode)
try:
    subprocess.run(["sleep", "5"], timeout=0.3)
except subprocess.TimeoutExpired:
    print("timeout expired")
print("no such program:", subprocess.run("nonexistent-cmd 2>/dev/null", shell=True).returncode)

# json
doc = {"name": "Exo-OS", "list": [1, 2.5, None, True, "\u00e9"], "nested": {"k": [{}]}}
text = json.dumps(doc, sort_keys=True, indent=1)
print(text)
print("roundtrip:", json.loads(text) == doc, json.dumps(json.loads('{"x": 1e3}')))
with open("pydir/out.json", "w") as f:
    json.dump([i * i for i in range(10)], f)
print(json.load(open("pydir/out.json")))

# threading
lock = threading.Lock()
total = [0]
def work(n):
    for i in range(n):
        with lock:
            total[0] += i
threads = [threading.Thread(target=work, args=(20000,)) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads:", total[0], threading.active_count())
ev = threading.Event()
cond = threading.Condition()
got = []
def waiter():
    with cond:
        cond.wait_for(lambda: got)
    ev.set()
t = threading.Thread(target=waiter)
t.start()
with cond:
    got.append(1)
    cond.notify_all()
print("event:", ev.wait(5))
t.join()
timer = threading.Timer(0.1, lambda: got.append("timer"))
timer.start()
timer.join()
print("timer:", got)
local = threading.local()
local.x = "main"
def other():
    local.x = "other"
t = threading.Thread(target=other)
t.start()
t.join()
print("local:", local.x)

# select
r, w = os.pipe()
print("select empty:", select.select([r], [], [], 0.1))
os.write(w, b"x")
rl, wl, _ = select.select([r], [w], [], 1)
print("select ready:", rl == [r], wl == [w])
poll = select.poll()
poll.register(r, select.POLLIN)
print("poll:", [(fd == r, ev & select.POLLIN) for fd, ev in poll.poll(1000)])
ep = select.epoll()
ep.register(r, select.EPOLLIN)
print("epoll:", [(fd == r, bool(ev & select.EPOLLIN)) for fd, ev in ep.poll(1)])
ep.close()
def late_writer():
    time.sleep(0.2)
    os.write(w, b"late")
os.read(r, 1)
t = threading.Thread(target=late_writer)
t.start()
start = time.monotonic()
rl, _, _ = select.select([r], [], [], 5)
print("select woke:", rl == [r], 0.1 < time.monotonic() - start < 4, os.read(r, 10))
t.join()
p = subprocess.Popen(["sh", "-c", "sleep 0.2; echo child-line"], stdout=subprocess.PIPE)
rl, _, _ = select.select([p.stdout], [], [], 5)
print("select on a child:", bool(rl), p.stdout.readline(), p.wait())
sys.stdout.flush()
