// The reverse-proxy recipes of docs/bootstrap-node.md (deploy/Caddyfile, deploy/nginx.conf), run
// as written but for the host name, ports and a self-signed certificate: a bootstrap node
// behind the proxy is reached over wss:// by a `p2panda-web node`. Each proxy's test is skipped
// where its binary (or openssl, which makes the certificate) is not installed
// (`apt-get install -y caddy nginx`).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConnectionLine, ListeningLine } from "@p2panda-web/cli";
import { transportKind } from "@p2panda-web/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "./cli-process.ts";

const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url));

function which(binary: string): string | undefined {
  for (const dir of ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]) {
    if (existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

const openssl = which("openssl");
const caddy = openssl === undefined ? undefined : which("caddy");
const nginx = openssl === undefined ? undefined : which("nginx");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (the proxy is up). */
async function listening(port: number, proxy: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proxy.exitCode !== null) throw new Error(`proxy exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`proxy not listening on ${port}: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let dir: string;
const processes: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2panda-proxy-"));
});
afterEach(async () => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

interface Setup {
  /** The bootstrap's plain WebSockets port (the proxy's upstream). */
  readonly wsPort: number;
  /** The proxy's TLS port. */
  readonly tlsPort: number;
  readonly cert: string;
  readonly key: string;
}

/**
 * Starts a bootstrap, lets `startProxy` put the proxy in front of it, and checks that a node
 * given only the proxy's wss:// address connects to the bootstrap through it.
 */
async function throughProxy(startProxy: (setup: Setup) => Promise<void>): Promise<void> {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(openssl as string, [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
    ...["-addext", "subjectAltName=DNS:localhost"],
  ]);
  const wsPort = await freePort();
  const tlsPort = await freePort();
  const bootstrap = startCli([
    "bootstrap",
    ...["--ws-port", String(wsPort), "--tcp-port", "0", "--webrtc-port", "0"],
    "--allow-private-addresses",
  ]);
  processes.push(bootstrap.child);
  const ready = await bootstrap.line<ListeningLine>((l) => l.event === "listening");
  expect(ready.addrs.filter((a) => transportKind(a) === "websockets")).not.toEqual([]);
  await startProxy({ wsPort, tlsPort, cert, key });

  const peerId = /\/p2p\/([^/]+)$/.exec(ready.addrs[0] as string)?.[1];
  // What a browser on an HTTPS page is given: the proxy's wss address, nothing else.
  const wss = `/dns4/localhost/tcp/${tlsPort}/wss/p2p/${peerId}`;
  const node: CliProcess = startCli(
    ["node", "--bootstrap", wss, "--allow-private-addresses", "--webrtc-port", "0"],
    { env: { NODE_EXTRA_CA_CERTS: cert } },
  );
  processes.push(node.child);
  const opened = await node.line<ConnectionLine>(
    (l) => l.event === "connection-opened" && l.remote === ready.nodeId,
  );
  // Its first connection can only be through the proxy: it knew no other address.
  expect(opened).toMatchObject({ transport: "websockets", direction: "outbound" });
  // The bootstrap sees it arrive over its plain WebSockets port, from the proxy.
  await bootstrap.line<ConnectionLine>(
    (l) => l.event === "connection-opened" && l.transport === "websockets",
  );
}

describe("a bootstrap node behind a TLS reverse proxy (deploy/)", () => {
  it.skipIf(caddy === undefined)("Caddy: deploy/Caddyfile serves wss:// to it", async () => {
    await throughProxy(async ({ wsPort, tlsPort, cert, key }) => {
      const site = (await readFile(join(DEPLOY, "Caddyfile"), "utf8"))
        .replace("bootstrap.example.org {", `https://localhost:${tlsPort} {\n\ttls ${cert} ${key}`)
        .replace("127.0.0.1:4100", `127.0.0.1:${wsPort}`);
      // No admin endpoint, no port-80 redirect, state in the temporary directory.
      const config = join(dir, "Caddyfile");
      await writeFile(config, `{\n\tadmin off\n\tauto_https disable_redirects\n}\n${site}`);
      let log = "";
      const proxy = spawn(caddy as string, ["run", "--config", config, "--adapter", "caddyfile"], {
        env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOME: dir },
        stdio: ["ignore", "pipe", "pipe"],
      });
      proxy.stderr.on("data", (chunk) => {
        log += chunk;
      });
      processes.push(proxy);
      await listening(tlsPort, proxy, () => log);
    });
  });

  it.skipIf(nginx === undefined)("nginx: deploy/nginx.conf serves wss:// to it", async () => {
    await throughProxy(async ({ wsPort, tlsPort, cert, key }) => {
      const server = (await readFile(join(DEPLOY, "nginx.conf"), "utf8"))
        .replace("listen 443 ssl;", `listen 127.0.0.1:${tlsPort} ssl;`)
        .replace("listen [::]:443 ssl;", "")
        .replace("server_name bootstrap.example.org;", "server_name localhost;")
        .replace(/ssl_certificate \S+;/, `ssl_certificate ${cert};`)
        .replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${key};`)
        .replace("http://127.0.0.1:4100", `http://127.0.0.1:${wsPort}`);
      // A whole nginx.conf around the server block, with every path in the temporary directory.
      const config = join(dir, "nginx.conf");
      await writeFile(
        config,
        [
          ...(process.getuid?.() === 0 ? ["user root;"] : []),
          "daemon off;",
          "worker_processes 1;",
          `pid ${join(dir, "nginx.pid")};`,
          "error_log stderr;",
          "events {}",
          "http {",
          "  access_log off;",
          ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
            (kind) => `  ${kind}_temp_path ${join(dir, kind)};`,
          ),
          server,
          "}",
        ].join("\n"),
      );
      let log = "";
      const proxy = spawn(nginx as string, ["-e", "stderr", "-p", dir, "-c", config], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      proxy.stderr.on("data", (chunk) => {
        log += chunk;
      });
      processes.push(proxy);
      await listening(tlsPort, proxy, () => log);
    });
  });
});
