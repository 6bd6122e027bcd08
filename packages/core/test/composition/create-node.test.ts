import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { EventStream, type P2pEvent } from "@p2panda-web/events";
import { filter, firstValueFrom, type Observable, Subject, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { createNode } from "../../src/composition/create-node.ts";
import { NodeServiceStartError } from "../../src/composition/errors.ts";
import type { NodeSupervisionEvent } from "../../src/composition/events.ts";
import type { NodeComponents } from "../../src/composition/node-options.ts";
import { NodeServiceDisabledError } from "../../src/composition/p2panda-node.ts";
import { type MemoryEndpoint, MemoryNetwork } from "../../src/endpoint/memory-network.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { Identity } from "../../src/identity/identity.ts";
import { ProtocolName } from "../../src/ids/network-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { createNodeInfo } from "../../src/records/node-info.ts";
import { VirtualRuntime } from "../../src/runtime/runtime.ts";
import { MemoryLogStore, MemoryTopicStore } from "../../src/sync/store/memory.ts";
import { describeLifecycle } from "../lifecycle-suite.ts";

const ECHO = "test/echo/v1";

/** An app's own protocol: answers every message with the same message. */
class EchoService {
  readonly #endpoint: NodeComponents<MemoryEndpoint>["endpoint"];

  constructor(components: NodeComponents<MemoryEndpoint>) {
    this.#endpoint = components.endpoint;
  }

  start(): void {
    this.#endpoint.accept(ECHO, async (channel) => {
      const message = await channel.receive();
      await channel.send(message);
      await channel.close();
    });
  }

  stop(): void {
    this.#endpoint.unaccept(ECHO);
  }
}

/** A service that records its start and stop into `log` and can fail on purpose. */
class RecordingService {
  readonly #events: EventStream<P2pEvent<"recording:said">>;
  readonly name: string;
  readonly #log: string[];
  readonly #failStart: boolean;

  constructor(name: string, log: string[], options: { failStart?: boolean; now?: () => number }) {
    this.name = name;
    this.#log = log;
    this.#failStart = options.failStart ?? false;
    this.#events = new EventStream(options.now);
  }

  get events$(): Observable<P2pEvent<"recording:said">> {
    return this.#events.events$;
  }

  start(): void {
    this.#log.push(`start ${this.name}`);
    if (this.#failStart) throw new Error(`${this.name} cannot start`);
  }

  stop(): void {
    this.#log.push(`stop ${this.name}`);
    this.#events.complete();
  }

  say(): void {
    this.#events.emit({ type: "recording:said" });
  }
}

/** A service whose background work can be made to die (its events$ errors). */
class CrashingService {
  readonly #events = new Subject<P2pEvent<"crashing:alive">>();
  stopped = false;

  get events$(): Observable<P2pEvent<"crashing:alive">> {
    return this.#events.asObservable();
  }

  crash(message: string): void {
    this.#events.error(new Error(message));
  }

  stop(): void {
    this.stopped = true;
    if (!this.#events.closed) this.#events.complete();
  }
}

async function memoryNode(network = new MemoryNetwork(), options: { start?: boolean } = {}) {
  return createNode({
    addressBook: () => AddressBook.open(memoryAddressBookStore()),
    endpoint: ({ identity }) => network.endpoint(identity.nodeId),
    start: options.start ?? false,
  });
}

describeLifecycle("a node made by createNode", async () => {
  const node = await memoryNode();
  // Joining a topic needs the node's gossip, which stops with the node.
  return { service: node, use: () => node.gossip.stream(Topic.fromName("lifecycle")) };
});

describe("createNode", () => {
  it("wires identity, address book and endpoint into discovery, gossip and sync, and starts them", async () => {
    const network = new MemoryNetwork();
    const node = await memoryNode(network, { start: true });
    expect(node.state).toBe("running");
    expect(node.endpoint.nodeId).toBe(node.identity.nodeId);
    for (const protocol of Object.values(ProtocolName)) {
      expect(node.endpoint.handlerOf(protocol)).toBeDefined();
    }
    const topic = Topic.fromName("create-node wiring");
    const chat = await node.sync.stream(topic);
    // Sync runs over the node's gossip (a derived topic), which announced the topic itself in
    // the node's address book.
    expect(node.gossip.topics.length).toBe(1);
    expect([...node.addressBook.nodeTopics(node.identity.nodeId)]).toEqual([topic]);
    const op = await chat.publish(new TextEncoder().encode("hello"));
    expect(await chat.operations()).toEqual([op]);
    await node.stop();
    for (const protocol of Object.values(ProtocolName)) {
      expect(node.endpoint.handlerOf(protocol)).toBeUndefined();
    }
  });

  it("starts the services in order and stops them in reverse, built-in ones first in and last out", async () => {
    const log: string[] = [];
    const network = new MemoryNetwork();
    const node = await createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => network.endpoint(identity.nodeId),
      services: {
        first: ({ endpoint }) => {
          const service = new RecordingService("first", log, {});
          return {
            events$: service.events$,
            start: () => {
              // Gossip and sync already run when the app's services start.
              log.push(`gossip served: ${endpoint.handlerOf(ProtocolName.gossip) !== undefined}`);
              service.start();
            },
            stop: () => {
              service.stop();
              log.push(`sync served: ${endpoint.handlerOf(ProtocolName.logSync) !== undefined}`);
            },
          };
        },
        second: () => new RecordingService("second", log, {}),
      },
    });
    expect(log).toEqual(["gossip served: true", "start first", "start second"]);
    await node.stop();
    expect(log.slice(3)).toEqual(["stop second", "stop first", "sync served: true"]);
  });

  it("when a service fails to start, stops the ones started, closes what it made, and names the service", async () => {
    const log: string[] = [];
    const network = new MemoryNetwork();
    let book: AddressBook | undefined;
    const node = await createNode({
      addressBook: async () => {
        book = await AddressBook.open(memoryAddressBookStore());
        return book;
      },
      endpoint: ({ identity }) => network.endpoint(identity.nodeId),
      services: {
        a: () => new RecordingService("a", log, {}),
        b: () => new RecordingService("b", log, { failStart: true }),
        c: () => new RecordingService("c", log, {}),
      },
      start: false,
    });
    const failure = await node.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NodeServiceStartError);
    expect(failure).toMatchObject({ code: "NODE_SERVICE_START_FAILED", service: "b" });
    expect((failure as Error).cause).toEqual(new Error("b cannot start"));
    // c never started; every service was stopped, last first.
    expect(log).toEqual(["start a", "start b", "stop c", "stop b", "stop a"]);
    expect(node.state).toBe("stopped");
    expect(node.endpoint.stopped).toBe(true);
    expect(node.endpoint.handlerOf(ProtocolName.discovery)).toBeUndefined();
    await expect(book?.addTopic(node.identity.nodeId, Topic.fromName("x"))).rejects.toThrow();
  });

  it("createNode rejects with the start error and leaves nothing open", async () => {
    const log: string[] = [];
    const network = new MemoryNetwork();
    let endpoint: MemoryEndpoint | undefined;
    const made = createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => {
        endpoint = network.endpoint(identity.nodeId);
        return endpoint;
      },
      services: { broken: () => new RecordingService("broken", log, { failStart: true }) },
    });
    await expect(made).rejects.toMatchObject({ service: "broken" });
    expect(endpoint?.stopped).toBe(true);
  });

  it("leaves an address book and endpoint it was handed open on stop", async () => {
    const network = new MemoryNetwork();
    const book = await AddressBook.open(memoryAddressBookStore());
    const nodes = await Promise.all(
      [1, 2].map(async () => {
        const node = await createNode({
          addressBook: book,
          endpoint: ({ identity }) => network.endpoint(identity.nodeId),
          discovery: false,
        });
        await node.stop();
        return node;
      }),
    );
    expect(nodes.every((n) => n.endpoint.stopped)).toBe(true);
    await book.addTopic(nodes[0]!.identity.nodeId, Topic.fromName("still open"));
    await book.close();
  });

  it("serves an app's own protocol from the services map, built from the node's components", async () => {
    const network = new MemoryNetwork();
    const seen: NodeComponents<MemoryEndpoint>[] = [];
    const runtime = new VirtualRuntime();
    const server = await createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => network.endpoint(identity.nodeId),
      runtime,
      discovery: false,
      gossip: false,
      sync: false,
      services: {
        echo: (components) => {
          seen.push(components);
          return new EchoService(components);
        },
      },
    });
    expect(server.services.echo).toBeInstanceOf(EchoService);
    expect(seen).toEqual([
      {
        identity: server.identity,
        addressBook: server.addressBook,
        endpoint: server.endpoint,
        runtime,
      },
    ]);
    const client = await memoryNode(network);
    const channel = await client.endpoint.connect(server.identity.nodeId, ECHO);
    await channel.send({ hello: 1 });
    expect(await channel.receive()).toEqual({ hello: 1 });
    await server.stop();
    await expect(client.endpoint.connect(server.identity.nodeId, ECHO)).rejects.toThrow();
    await client.stop();
  });

  it("merges the events of its services and its own into events$, completed on stop", async () => {
    const network = new MemoryNetwork();
    const log: string[] = [];
    const node = await createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => network.endpoint(identity.nodeId),
      discovery: false,
      sync: false,
      services: { recorder: () => new RecordingService("recorder", log, {}) },
    });
    const all = firstValueFrom(node.events$.pipe(toArray()));
    const other = await memoryNode(network, { start: true });
    const topic = Topic.fromName("merged events");
    await node.addressBook.insertNodeInfo(createNodeInfo(other.identity.nodeId));
    await node.addressBook.addTopic(other.identity.nodeId, topic);
    await other.gossip.stream(topic);
    const joined = firstValueFrom(
      node.events$.pipe(filter((e) => e.type === "gossip:neighbour-up")),
    );
    await node.gossip.stream(topic);
    await joined;
    node.services.recorder.say();
    await node.stop();
    const types = (await all).map((e) => e.type);
    expect(types).toContain("gossip:joined");
    expect(types).toContain("gossip:neighbour-up");
    expect(types).toContain("recording:said");
    await other.stop();
  });

  it("refuses sync without gossip and a service named like a built-in one", async () => {
    const network = new MemoryNetwork();
    const base = {
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }: { identity: Identity }) => network.endpoint(identity.nodeId),
    };
    await expect(createNode({ ...base, gossip: false })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(createNode({ ...base, services: { gossip: () => ({}) } })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it("refuses an endpoint of another node than its identity, and closes what it opened", async () => {
    const network = new MemoryNetwork();
    const [identity, other] = await Promise.all([Identity.generate(), Identity.generate()]);
    const book = await AddressBook.open(memoryAddressBookStore());
    const made = createNode({
      identity,
      addressBook: async () => book,
      endpoint: network.endpoint(other.nodeId),
    });
    await expect(made).rejects.toBeInstanceOf(InvalidInputError);
    await expect(book.addTopic(identity.nodeId, Topic.fromName("closed"))).rejects.toThrow();
  });

  it("opens sync's stores while the endpoint starts, after the address book, and closes them on stop", async () => {
    const network = new MemoryNetwork();
    const log: string[] = [];
    const node = await createNode({
      addressBook: async () => {
        log.push("address book asked");
        return AddressBook.open(memoryAddressBookStore());
      },
      endpoint: ({ identity }) => {
        log.push("endpoint asked");
        return network.endpoint(identity.nodeId);
      },
      sync: {
        stores: async () => {
          log.push("stores asked");
          return {
            logStore: new MemoryLogStore(),
            topicStore: new MemoryTopicStore(),
            close: async () => {
              log.push("stores closed");
            },
          };
        },
      },
    });
    expect(log).toEqual(["address book asked", "stores asked", "endpoint asked"]);
    await node.stop();
    expect(log.at(-1)).toBe("stores closed");
  });

  it("closes sync's stores, opened meanwhile, when the endpoint fails", async () => {
    let closed = false;
    const made = createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: () => Promise.reject(new Error("no endpoint")),
      sync: {
        stores: async () => ({
          logStore: new MemoryLogStore(),
          topicStore: new MemoryTopicStore(),
          close: async () => {
            closed = true;
          },
        }),
      },
    });
    await expect(made).rejects.toThrow("no endpoint");
    expect(closed).toBe(true);
  });

  it("says which built-in service it runs without", async () => {
    const node = await createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => new MemoryNetwork().endpoint(identity.nodeId),
      discovery: false,
      start: false,
    });
    expect(node.has("discovery")).toBe(false);
    expect(node.has("sync")).toBe(true);
    expect(() => node.discovery).toThrow(NodeServiceDisabledError);
    await node.stop();
  });
});

describe("supervision", () => {
  async function supervisedNode(factory: () => CrashingService | RecordingService) {
    const runtime = new VirtualRuntime();
    const node = await createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => new MemoryNetwork().endpoint(identity.nodeId),
      runtime,
      discovery: false,
      gossip: false,
      sync: false,
      services: { worker: factory },
    });
    const events: NodeSupervisionEvent[] = [];
    node.events$.subscribe((e) => {
      if (e.type.startsWith("node:")) events.push(e as NodeSupervisionEvent);
    });
    return { node, runtime, events };
  }

  it("restarts a service whose events$ errors after 1 s, with events carrying the reason", async () => {
    const made: CrashingService[] = [];
    const { node, runtime, events } = await supervisedNode(() => {
      const service = new CrashingService();
      made.push(service);
      return service;
    });
    await runtime.advance(5_000);
    (node.services.worker as CrashingService).crash("worker lost its socket");
    expect(events).toEqual([
      {
        type: "node:service-failed",
        service: "worker",
        reason: "worker lost its socket",
        restartInMs: 1_000,
        attempt: 1,
        at: 5_000,
      },
    ]);
    await runtime.advance(999);
    expect(made.length).toBe(1);
    await runtime.advance(1);
    expect(made.length).toBe(2);
    expect(made[0]?.stopped).toBe(true);
    expect(node.services.worker).toBe(made[1]);
    expect(events.at(-1)).toEqual({
      type: "node:service-restarted",
      service: "worker",
      reason: "worker lost its socket",
      attempt: 1,
      at: 6_000,
    });
    // The new instance is watched too.
    made[1]?.crash("again");
    expect(events.at(-1)).toMatchObject({ type: "node:service-failed", restartInMs: 2_000 });
    await node.stop();
  });

  it("backs off 1 s doubling to 30 s while the restarted service fails to start", async () => {
    const log: string[] = [];
    let instances = 0;
    const crashing = new CrashingService();
    const { node, runtime, events } = await supervisedNode(() => {
      instances += 1;
      return instances === 1 ? crashing : new RecordingService("worker", log, { failStart: true });
    });
    crashing.crash("died");
    await runtime.advance(200_000);
    const waits = events
      .filter((e) => e.type === "node:service-failed")
      .map((e) => (e.type === "node:service-failed" ? e.restartInMs : 0));
    expect(waits.slice(0, 8)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(events.filter((e) => e.type === "node:service-failed")[1]).toMatchObject({
      reason: "worker cannot start",
    });
    expect(events.some((e) => e.type === "node:service-restarted")).toBe(false);
    await node.stop();
    const after = instances;
    await runtime.advance(100_000);
    expect(instances).toBe(after);
  });

  it("restarts the services built on a failed one with it: stopped before, started after", async () => {
    const runtime = new VirtualRuntime();
    const log: string[] = [];
    const bases: CrashingService[] = [];
    let users = 0;
    const node = await createNode({
      addressBook: () => AddressBook.open(memoryAddressBookStore()),
      endpoint: ({ identity }) => new MemoryNetwork().endpoint(identity.nodeId),
      runtime,
      discovery: false,
      gossip: false,
      sync: false,
      services: {
        base: () => {
          const base = new CrashingService();
          bases.push(base);
          log.push(`make base ${bases.length}`);
          return {
            events$: base.events$,
            stop: () => {
              log.push(`stop base ${bases.indexOf(base) + 1}`);
              base.stop();
            },
          };
        },
        user: () => {
          const n = ++users;
          log.push(`make user ${n}`);
          return {
            dependsOn: ["base"],
            start: () => {
              log.push(`start user ${n}`);
            },
            stop: () => {
              log.push(`stop user ${n}`);
            },
          };
        },
        bystander: () => ({
          start: () => {
            log.push("start bystander");
          },
        }),
      },
    });
    log.length = 0;
    bases[0]?.crash("base broke");
    await runtime.advance(1_000);
    expect(log).toEqual([
      "stop user 1",
      "stop base 1",
      "make base 2",
      "make user 2",
      "start user 2",
    ]);
    await node.stop();
  });

  it("restarts nothing once the node stops, and ignores a stopped service's completed events$", async () => {
    const made: CrashingService[] = [];
    const { node, runtime, events } = await supervisedNode(() => {
      const service = new CrashingService();
      made.push(service);
      return service;
    });
    made[0]?.crash("late");
    await node.stop();
    await runtime.advance(60_000);
    expect(made.length).toBe(1);
    expect(events.map((e) => e.type)).toEqual(["node:service-failed"]);
  });
});
