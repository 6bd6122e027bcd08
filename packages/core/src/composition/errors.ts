import { P2pandaError } from "../errors.ts";

/**
 * A service of the node failed to start. The services started before it were stopped again
 * (in reverse order) and the node is stopped; `cause` is what the service threw.
 */
export class NodeServiceStartError extends P2pandaError {
  static override readonly name: string = "NodeServiceStartError";
  /** Name of the service that failed (`"discovery"`, `"gossip"`, `"sync"` or an app's own). */
  readonly service: string;

  constructor(service: string, cause: unknown) {
    super("NODE_SERVICE_START_FAILED", `service ${service} failed to start: ${reasonOf(cause)}`, {
      cause,
    });
    this.service = service;
  }
}

/** A failure as one line, for events and error messages. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
