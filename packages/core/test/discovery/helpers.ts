import {
  type DiscoveryMessage,
  type DiscoveryResult,
  decodeDiscoveryMessage,
  PsiAlice,
  PsiBob,
  type PsiHandshake,
  type PsiHandshakeOptions,
  type PsiOutput,
} from "../../src/discovery/index.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { type Rng, seededRng } from "../../src/random.ts";

/** A deterministic node id from a small number. */
export function nodeId(n: number): NodeId {
  return NodeId.fromBytes(new Uint8Array(32).fill(n));
}

/** A topic of 32 equal bytes, like upstream's `[n; 32]`. */
export function topic(n: number): Topic {
  return Topic.fromBytes(new Uint8Array(32).fill(n));
}

/** Options for one side, with sensible test defaults. */
export function side(
  me: NodeId,
  remote: NodeId,
  topics: Topic[],
  extra: Partial<PsiHandshakeOptions> & { rng?: Rng } = {},
): PsiHandshakeOptions {
  return {
    myNodeId: me,
    remoteNodeId: remote,
    myTopics: topics,
    rng: extra.rng ?? seededRng(me.charCodeAt(0) + topics.length),
    infosToShare: () => new Map(),
    ...extra,
  };
}

export interface Frame {
  from: "alice" | "bob";
  message: DiscoveryMessage | "close";
}

/**
 * Runs Alice and Bob against each other in memory, in protocol order, checking every message
 * like the wire would. Returns both results and every frame in order.
 */
export function runPair(alice: PsiHandshake, bob: PsiHandshake) {
  const frames: Frame[] = [];
  const queue: Frame[] = [];
  let aliceResult: DiscoveryResult | undefined;
  let bobResult: DiscoveryResult | undefined;
  const emit = (from: "alice" | "bob", out: PsiOutput) => {
    for (const m of out.send) queue.push({ from, message: m });
    if (out.closeOurSide) queue.push({ from, message: "close" });
    if (out.result && from === "alice") aliceResult = out.result;
    if (out.result && from === "bob") bobResult = out.result;
  };
  emit("bob", bob.start());
  emit("alice", alice.start());
  while (queue.length > 0) {
    const frame = queue.shift() as Frame;
    frames.push(frame);
    const to = frame.from === "alice" ? bob : alice;
    if (to.finished) continue;
    const out =
      frame.message === "close"
        ? to.remoteClosed()
        : to.receive(decodeDiscoveryMessage(frame.message));
    emit(frame.from === "alice" ? "bob" : "alice", out);
  }
  return { aliceResult, bobResult, frames };
}

export function alice(options: PsiHandshakeOptions): PsiAlice {
  return new PsiAlice(options);
}

export function bob(options: PsiHandshakeOptions): PsiBob {
  return new PsiBob(options);
}
