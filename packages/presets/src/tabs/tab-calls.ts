// The follower's side of the tab protocol as a pure state machine: which calls wait for an
// answer, to which leader each was sent, and when each gives up. No channel, clock or timer
// inside: the caller feeds it what happens (a call, a leader announced or leaving, a result, the
// time) and carries out what it returns (send this, settle that, wake me then).
//
// A call keeps its id for life. When a new leader announces itself, every call still waiting is
// sent to it again under the same id: the old leader may have died before answering, and the
// call (a log write above all) must not be lost. A leader that already ran a call id answers it
// again from its memory instead of running it twice.
import { TAB_LEADER_STEPPED_DOWN, TabCallFailedError, TabCallTimeoutError } from "./tab-errors.ts";
import {
  type CallMessage,
  TAB_PROTOCOL_VERSION,
  type TabCallMethod,
  type TabCallValue,
  type WireError,
} from "./tab-message.ts";

/** What {@link TabCalls} asks its caller to do. */
export type TabCallsOutput =
  | { readonly type: "send"; readonly message: CallMessage }
  | { readonly type: "resolve"; readonly id: string; readonly value: TabCallValue }
  | { readonly type: "reject"; readonly id: string; readonly error: Error };

interface Pending {
  readonly id: string;
  readonly method: TabCallMethod;
  readonly content: Uint8Array | undefined;
  readonly deadline: number;
  readonly timeoutMs: number;
  /** The leader it was last sent to; `undefined` also after that leader stepped down. */
  sentTo: string | undefined;
  /** Whether a leader may have run it already: the next leader must look before running it. */
  sent: boolean;
}

/** The calls of one follower tab that wait for the leader's answer. */
export class TabCalls {
  readonly #self: string;
  readonly #pending = new Map<string, Pending>();
  #leader: string | undefined;

  /** `self` is this tab's id (the `from` of every call). */
  constructor(self: string) {
    this.#self = self;
  }

  /** The leader calls are sent to, if one is known. */
  get leader(): string | undefined {
    return this.#leader;
  }

  /** How many calls wait. */
  get size(): number {
    return this.#pending.size;
  }

  /** The earliest deadline of a waiting call: when to call {@link TabCalls.tick} next. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const call of this.#pending.values()) {
      if (next === undefined || call.deadline < next) next = call.deadline;
    }
    return next;
  }

  /**
   * A new call with a fresh `id`, giving up `timeoutMs` after `now`. It is sent at once if a
   * leader is known, else when one announces itself. `retry`: a leader may have run it already
   * (this tab led and stepped down while running it), so it is sent as a retry.
   */
  call(
    id: string,
    method: TabCallMethod,
    content: Uint8Array | undefined,
    now: number,
    timeoutMs: number,
    retry = false,
  ): TabCallsOutput[] {
    const call: Pending = {
      id,
      method,
      content,
      deadline: now + timeoutMs,
      timeoutMs,
      sentTo: undefined,
      sent: retry,
    };
    this.#pending.set(id, call);
    return this.#leader === undefined ? [] : [this.#send(call, this.#leader)];
  }

  /** A leader announced itself: calls not yet sent to it go to it (again). */
  leaderAnnounced(leader: string): TabCallsOutput[] {
    this.#leader = leader;
    const out: TabCallsOutput[] = [];
    for (const call of this.#pending.values()) {
      if (call.sentTo !== leader) out.push(this.#send(call, leader));
    }
    return out;
  }

  /** The leader said it is going: new calls wait for the next one (sent ones are re-sent then). */
  leaderLeaving(leader: string): void {
    if (this.#leader === leader) this.#leader = undefined;
  }

  /** A leader answered a call; answers to calls that no longer wait (or to another tab) are ignored. */
  result(
    from: string,
    to: string,
    id: string,
    outcome: { ok: true; value: TabCallValue } | { ok: false; error: WireError },
  ): TabCallsOutput[] {
    if (to !== this.#self) return [];
    const call = this.#pending.get(id);
    // Only the leader it was sent to answers: a stale answer from an old leader that was
    // still draining would otherwise race the new one (both are the same call, so either is
    // fine, but one answer settles it).
    if (call === undefined || call.sentTo !== from) return [];
    if (!outcome.ok && outcome.error.code === TAB_LEADER_STEPPED_DOWN) {
      // Not the call's failure: the leader went (frozen) while running it. The next leader runs
      // it, or finds what the old one stored.
      call.sentTo = undefined;
      if (this.#leader === from) this.#leader = undefined;
      return this.#leader === undefined ? [] : [this.#send(call, this.#leader)];
    }
    this.#pending.delete(id);
    return [
      outcome.ok
        ? { type: "resolve", id, value: outcome.value }
        : {
            type: "reject",
            id,
            error: new TabCallFailedError(outcome.error.code, outcome.error.message),
          },
    ];
  }

  /** Gives up on every call whose deadline is at or before `now`. */
  tick(now: number): TabCallsOutput[] {
    const out: TabCallsOutput[] = [];
    for (const call of [...this.#pending.values()]) {
      if (call.deadline > now) continue;
      this.#pending.delete(call.id);
      out.push({
        type: "reject",
        id: call.id,
        error: new TabCallTimeoutError(call.method, call.timeoutMs),
      });
    }
    return out;
  }

  /** Fails every waiting call with `error` (the room is left). */
  failAll(error: Error): TabCallsOutput[] {
    const out: TabCallsOutput[] = [...this.#pending.keys()].map((id) => ({
      type: "reject" as const,
      id,
      error,
    }));
    this.#pending.clear();
    return out;
  }

  #send(call: Pending, leader: string): TabCallsOutput {
    const retry = call.sent;
    call.sent = true;
    call.sentTo = leader;
    return {
      type: "send",
      message: {
        v: TAB_PROTOCOL_VERSION,
        kind: "call",
        from: this.#self,
        to: leader,
        id: call.id,
        method: call.method,
        ...(call.content !== undefined ? { content: call.content } : {}),
        deadline: call.deadline,
        ...(retry ? { retry: true } : {}),
      },
    };
  }
}
