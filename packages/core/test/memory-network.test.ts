import { describe, expect, it } from "vitest";
import { DialFailedError, ProtocolNotSupportedError } from "../src/endpoint/errors.ts";
import { MemoryNetwork } from "../src/endpoint/memory-network.ts";
import { NodeId } from "../src/ids/node-id.ts";

const a = NodeId.fromBytes(new Uint8Array(32).fill(1));
const b = NodeId.fromBytes(new Uint8Array(32).fill(2));

describe("MemoryNetwork", () => {
  it("opens a session to the node's handler, with the authenticated remote on both ends", async () => {
    const network = new MemoryNetwork();
    const seen: unknown[] = [];
    network.endpoint(b).accept("echo", async (channel) => {
      seen.push(channel.remote);
      const message = await channel.receive();
      await channel.send({ echo: message });
      await channel.close();
    });
    const channel = await network.endpoint(a).connect(b, "echo");
    expect(channel.remote).toBe(b);
    await channel.send({ n: 1 });
    expect(await channel.receive()).toEqual({ echo: { n: 1 } });
    expect(await channel.receive()).toBeUndefined();
    expect(seen).toEqual([a]);
    expect(network.sessionsOpened.get("echo")).toBe(1);
  });

  it("refuses an unknown protocol with ProtocolNotSupportedError", async () => {
    const network = new MemoryNetwork();
    network.endpoint(b);
    await expect(network.endpoint(a).connect(b, "nope")).rejects.toBeInstanceOf(
      ProtocolNotSupportedError,
    );
  });

  it("fails dials to offline, stopped and unknown nodes with DialFailedError", async () => {
    const network = new MemoryNetwork();
    network.endpoint(b).accept("p", () => {});
    network.setOffline(b, true);
    await expect(network.endpoint(a).connect(b, "p")).rejects.toBeInstanceOf(DialFailedError);
    network.setOffline(b, false);
    await expect(network.endpoint(a).connect(b, "p")).resolves.toBeDefined();
    network.endpoint(b).stop();
    await expect(network.endpoint(a).connect(b, "p")).rejects.toBeInstanceOf(DialFailedError);
    const c = NodeId.fromBytes(new Uint8Array(32).fill(3));
    await expect(network.endpoint(a).connect(c, "p")).rejects.toBeInstanceOf(DialFailedError);
  });

  it("aborts the session when the handler throws", async () => {
    const network = new MemoryNetwork();
    network.endpoint(b).accept("boom", () => {
      throw new Error("handler failed");
    });
    const channel = await network.endpoint(a).connect(b, "boom");
    await expect(channel.receive()).rejects.toThrow();
  });
});
