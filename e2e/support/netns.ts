// Private network namespace for WebRTC tests: a fresh namespace with loopback and a veth pair on
// 10.77.0.1/24 holding the default route, so Chromium gathers a host ICE candidate on 10.77.0.1
// while no packet can leave the machine.
import { spawnSync } from "node:child_process";

/** Set (to "1") in the environment of a process re-executed inside the namespace. */
export const NETNS_ENV = "P2PANDA_NETNS";
/** Set to "0" to run without a namespace even as root. */
export const NETNS_OPT_OUT_ENV = "P2PANDA_E2E_NETNS";
/** The address WebRTC uses inside the namespace. */
export const NETNS_ADDRESS = "10.77.0.1";

const SETUP = [
  "set -e",
  "ip link set lo up",
  "ip link add veth0 type veth peer name veth1",
  `ip addr add ${NETNS_ADDRESS}/24 dev veth0`,
  "ip link set veth0 up",
  "ip link set veth1 up",
  "ip route add default dev veth0",
].join("; ");

/** Whether this process already runs inside the namespace made by {@link inNetworkNamespace}. */
export function insideNetworkNamespace(): boolean {
  return process.env[NETNS_ENV] === "1";
}

/**
 * Why a namespace cannot be made here, or `undefined` if it can: needs root, `unshare` and `ip`
 * (iproute2), and a kernel that lets us create network namespaces.
 */
export function networkNamespaceUnavailable(): string | undefined {
  if (process.env[NETNS_OPT_OUT_ENV] === "0") return `${NETNS_OPT_OUT_ENV}=0`;
  if (process.getuid?.() !== 0) return "not running as root";
  for (const tool of ["unshare", "ip"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0) {
      return `\`${tool}\` is not installed`;
    }
  }
  const probe = spawnSync("unshare", ["-n", "true"], { stdio: "ignore" });
  if (probe.status !== 0) return "`unshare -n` is not permitted here";
  return undefined;
}

/**
 * The argv that runs `command` inside a new private network namespace, with the environment
 * marker set so the child knows (pass it as `env` too: `{ ...process.env, [NETNS_ENV]: "1" }`).
 */
export function inNetworkNamespace(command: readonly string[]): string[] {
  return ["unshare", "-n", "--", "bash", "-c", `${SETUP}; exec "$@"`, "p2panda-netns", ...command];
}

/**
 * Re-runs this script (`scriptPath` with `args`) inside a new private network namespace when it
 * can, and exits with the child's status; returns (to run directly) when it is already inside one
 * or none can be made. `name` prefixes the line that says which it is.
 */
export function rerunInNetworkNamespace(
  name: string,
  scriptPath: string,
  args: readonly string[],
): void {
  if (insideNetworkNamespace()) return;
  const unavailable = networkNamespaceUnavailable();
  if (unavailable !== undefined) {
    console.log(`${name}: running directly, without a network namespace (${unavailable})`);
    return;
  }
  console.log(
    `${name}: running inside a private network namespace (veth ${NETNS_ADDRESS}/24, no way out)`,
  );
  const argv = inNetworkNamespace([process.execPath, ...process.execArgv, scriptPath, ...args]);
  const result = spawnSync(argv[0] as string, argv.slice(1), {
    stdio: "inherit",
    env: { ...process.env, [NETNS_ENV]: "1" },
  });
  process.exit(result.status ?? 1);
}
