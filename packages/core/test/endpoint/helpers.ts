import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, type MessageChannel, type NodeId } from "@p2panda-web/core";
import type { Endpoint, EndpointEvent } from "@p2panda-web/core/endpoint";
import { createMemoryEndpoint, type MemoryEndpointOptions } from "@p2panda-web/core/memory";
import { filter, firstValueFrom, type Observable, timeout } from "rxjs";

/** An endpoint with its own identity and in-memory address book. */
export interface TestNode {
  readonly identity: Identity;
  readonly addressBook: AddressBook;
  readonly endpoint: Endpoint;
}

const running: TestNode[] = [];

/** A memory-transport endpoint; stopped by {@link stopAll}. */
export async function memoryNode(
  options: Partial<Omit<MemoryEndpointOptions, "addressBook">> = {},
): Promise<TestNode> {
  const identity = options.identity ?? (await Identity.generate());
  const addressBook = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createMemoryEndpoint({ ...options, identity, addressBook });
  const node = { identity, addressBook, endpoint };
  running.push(node);
  return node;
}

/** Stops every node made by the helpers (call in `afterEach`). */
export async function stopAll(): Promise<void> {
  const nodes = running.splice(0);
  await Promise.all(nodes.map((n) => n.endpoint.stop()));
  await Promise.all(nodes.map((n) => n.addressBook.close()));
}

/** Tells `who` where `whom` is, as discovery would: `whom`'s signed transport info. */
export async function introduce(who: TestNode, whom: TestNode): Promise<void> {
  const info = whom.endpoint.transportInfo();
  if (info === undefined) throw new Error("no transport info yet");
  await who.addressBook.insertTransportInfo(whom.endpoint.nodeId, info);
}

/** Echoes every message until the remote closes, then closes. */
export async function echo(channel: MessageChannel): Promise<void> {
  for (;;) {
    const message = await channel.receive();
    if (message === undefined) break;
    await channel.send(message);
  }
  await channel.close();
}

/** The first event of `type` matching `predicate` (fails after `ms`). */
export function nextEvent<T extends EndpointEvent["type"]>(
  events$: Observable<EndpointEvent>,
  type: T,
  predicate: (event: Extract<EndpointEvent, { type: T }>) => boolean = () => true,
  ms = 5_000,
): Promise<Extract<EndpointEvent, { type: T }>> {
  return firstValueFrom(
    events$.pipe(
      filter((e): e is Extract<EndpointEvent, { type: T }> => e.type === type),
      filter(predicate),
      timeout(ms),
    ),
  );
}

/** A promise and its settlers. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export type { NodeId };
