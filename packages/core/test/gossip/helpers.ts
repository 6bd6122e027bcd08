import type { GossipConfigInput } from "../../src/gossip/config.ts";
import {
  type GossipOutput,
  GossipState,
  type GossipStateEvent,
} from "../../src/gossip/gossip-state.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { seededRng } from "../../src/random.ts";
import { VirtualScheduler } from "../../src/sim/scheduler.ts";

export const TOPIC = Topic.fromName("test-topic");

export function nodeId(n: number): NodeId {
  const bytes = new Uint8Array(32);
  bytes[0] = n + 1;
  return NodeId.fromBytes(bytes);
}

/** A few GossipState nodes on a virtual network with 10 ms links; offline nodes refuse links. */
export class TestNet {
  readonly scheduler = new VirtualScheduler();
  readonly nodes: GossipState[] = [];
  readonly events: { node: number; event: GossipStateEvent }[] = [];
  readonly online: boolean[] = [];
  readonly sent: { from: number; to: NodeId; type: string }[] = [];

  constructor(count: number, config: GossipConfigInput = {}) {
    for (let i = 0; i < count; i++) {
      this.nodes.push(new GossipState(nodeId(i), seededRng(i + 1), config));
      this.online.push(true);
    }
  }

  index(id: NodeId): number {
    return this.nodes.findIndex((n) => n.me === id);
  }

  apply(i: number, outputs: GossipOutput[]): void {
    for (const o of outputs) {
      if (o.type === "send") {
        this.sent.push({ from: i, to: o.to, type: o.message.body.type });
        const j = this.index(o.to);
        this.scheduler.schedule(10, () => {
          if (!this.online[i]) return;
          if (j < 0 || !this.online[j]) {
            this.apply(i, this.nodes[i]!.peerDisconnected(o.to, this.scheduler.now()));
            return;
          }
          this.apply(
            j,
            this.nodes[j]!.handleMessage(this.nodes[i]!.me, o.message, this.scheduler.now()),
          );
        });
      } else if (o.type === "set-timer") {
        this.scheduler.schedule(o.delayMs, () => {
          if (this.online[i])
            this.apply(i, this.nodes[i]!.timerFired(o.timer, this.scheduler.now()));
        });
      } else if (o.type === "event") {
        this.events.push({ node: i, event: o.event });
      }
    }
  }

  join(i: number, via: number[], topic = TOPIC): void {
    this.apply(
      i,
      this.nodes[i]!.join(
        topic,
        via.map((v) => this.nodes[v]!.me),
        this.scheduler.now(),
      ),
    );
  }

  broadcast(i: number, text: string, topic = TOPIC): void {
    const { outputs } = this.nodes[i]!.broadcast(
      topic,
      new TextEncoder().encode(text),
      this.scheduler.now(),
    );
    this.apply(i, outputs);
  }

  quit(i: number, topic = TOPIC): void {
    this.apply(i, this.nodes[i]!.quit(topic, this.scheduler.now()));
  }

  run(ms: number): void {
    this.scheduler.run(this.scheduler.now() + ms);
  }

  received(i: number): string[] {
    return this.events
      .filter((e) => e.node === i && e.event.type === "gossip:received")
      .map((e) => new TextDecoder().decode((e.event as { content: Uint8Array }).content));
  }

  eventsOf(i: number, type: string): GossipStateEvent[] {
    return this.events.filter((e) => e.node === i && e.event.type === type).map((e) => e.event);
  }

  neighbours(i: number, topic = TOPIC): NodeId[] {
    return this.nodes[i]!.topic(topic)?.neighbours ?? [];
  }
}
