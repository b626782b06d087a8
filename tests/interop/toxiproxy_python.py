"""toxiproxy-python (PyPI), unchanged, against homeostat's fault proxy:
create a proxy, add a latency toxic and measure it, remove it, populate,
reset, and the client's error classes for 404/409/400.

  toxiproxy_python.py API_PORT ECHO_ADDR
"""
import sys

from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from toxiproxy_echo import rtt  # noqa: E402

api_port, echo = int(sys.argv[1]), sys.argv[2]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {name}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


t = Toxiproxy()
t.update_api_consumer("127.0.0.1", api_port)
check("running", t.running())
version = t.version()
check("version", b"2.9.0" in version, version)

p = t.create(upstream=echo, name="py_echo")
check("create reports the real port", not p.listen.endswith(":0"), p.listen)
base = rtt(p.listen)
p.add_toxic(type="latency", attributes={"latency": 100})
toxics = p.toxics()
check("toxic listed", "latency_downstream" in toxics, toxics)
slow = rtt(p.listen)
check("latency measured", 95 <= slow - base <= 130, f"base {base:.1f} ms, with toxic {slow:.1f} ms")
print(f"python: round trip {base:.1f} ms, with latency 100: {slow:.1f} ms")
p.destroy_toxic("latency_downstream")
check("toxic removed", p.toxics() == {})
check("fast again", rtt(p.listen) < 50)

try:
    t.create(upstream=echo, name="py_echo")
    check("duplicate proxy refused", False)
except ProxyExists:
    check("duplicate proxy refused", True)
try:
    APIConsumer.get("/proxies/nope")
    check("missing proxy is 404", False)
except NotFound as e:
    check("missing proxy is 404", b"proxy not found" in e.args[0], e.args)
try:
    p.add_toxic(type="gremlin")
    check("bad toxic type is 400", False)
except InvalidToxic as e:
    check("bad toxic type is 400", b"invalid toxic type" in e.args[0], e.args)

populated = t.populate([{"name": "py_pop", "upstream": echo, "listen": "127.0.0.1:0"}])
check("populate", [x.name for x in populated] == ["py_pop"], populated)
with p.down():
    check("disabled", t.get_proxy("py_echo").enabled is False)
check("enabled again", t.get_proxy("py_echo").enabled is True)
p.add_toxic(type="timeout", attributes={"timeout": 0})
p.disable()
check("reset", t.reset())
after = t.get_proxy("py_echo")
check("reset re-enabled and cleared", after.enabled and after.toxics() == {})
t.destroy(t.get_proxy("py_pop"))
check("destroyed", t.get_proxy("py_pop") is None)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
