// toxiproxy-node-client (npm), unchanged, against homeostat's fault proxy:
// create, add/update/remove a latency toxic and measure it, populate,
// reset, version, and its error on a missing proxy.
//   NODE_PATH=<node_modules> node toxiproxy_node.js API_PORT ECHO_ADDR
const net = require("net");
const { Toxiproxy, ToxiproxyError } = require("toxiproxy-node-client");

const [apiPort, echo] = process.argv.slice(2);
let passed = 0, failed = 0;
function check(name, ok, detail = "") {
  if (ok) { passed++; console.log(`ok: ${name}`); } else { failed++; console.log(`FAIL: ${name} ${detail}`); }
}

function rtt(addr) {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => {
      s.setNoDelay(true);
      const times = [];
      let t = 0;
      const once = () => { t = process.hrtime.bigint(); s.write("ping"); };
      let got = 0;
      s.on("data", (d) => {
        got += d.length;
        if (got < 4) return;
        got = 0;
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (times.length === 5) { s.end(); times.sort((a, b) => a - b); resolve(times[2]); } else once();
      });
      once();
    });
    s.on("error", reject);
  });
}

(async () => {
  const tp = new Toxiproxy(`http://127.0.0.1:${apiPort}`);
  const version = await tp.getVersion();
  check("version", version.includes("2.9.0"), version);
  const proxy = await tp.createProxy({ name: "node_echo", listen: "127.0.0.1:0", upstream: echo });
  check("real port", !proxy.listen.endsWith(":0"), proxy.listen);
  const base = await rtt(proxy.listen);
  const toxic = await proxy.addToxic({ type: "latency", name: "lag", stream: "downstream", toxicity: 1, attributes: { latency: 100 } });
  check("toxic added", toxic.name === "lag" && toxic.attributes.latency === 100, JSON.stringify(toxic.toJson()));
  const slow = await rtt(proxy.listen);
  check("latency measured", slow - base >= 95 && slow - base <= 130, `base ${base} ms, slow ${slow} ms`);
  console.log(`node: round trip ${base.toFixed(1)} ms, with latency 100: ${slow.toFixed(1)} ms`);
  // The client sends the whole toxic back on update.
  const updated = await toxic.update({ ...toxic.toJson(), attributes: { latency: 50, jitter: 0 } });
  check("toxic updated", updated.attributes.latency === 50, JSON.stringify(updated.toJson()));
  await updated.remove();
  const again = await tp.get("node_echo");
  check("toxic removed", (await rtt(again.listen)) < 50);
  const off = await again.update({ ...again.toJson(), enabled: false });
  check("disabled", off.enabled === false);
  const pop = await tp.populate([{ name: "node_pop", listen: "127.0.0.1:0", upstream: echo }]);
  check("populate", Object.keys(pop).includes("node_pop"), Object.keys(pop));
  await tp.reset();
  const all = await tp.getAll();
  check("reset re-enabled", all.node_echo.enabled === true);
  try {
    await tp.get("nope");
    check("missing proxy errors", false);
  } catch (e) {
    check("missing proxy errors", e instanceof ToxiproxyError && /404/.test(e.message), String(e));
  }
  await (await tp.get("node_pop")).remove();
  await (await tp.get("node_echo")).remove();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`FAIL: ${e.stack || e}`); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
