// The Startable contract (src/runtime/lifecycle.ts) as one suite that every service and the node
// run against themselves, as js-libp2p ships interface-compliance tests with each interface.
import type { Observable } from "rxjs";
import { describe, expect, it } from "vitest";
import { ServiceStoppedError, type Startable } from "../src/runtime/lifecycle.ts";

/** What the suite needs of one subject under test. */
export interface LifecycleSubject {
  readonly service: Startable & { readonly events$?: Observable<unknown> };
  /** Something the service does only while it runs (publish, open a stream, …); it must throw
   * {@link ServiceStoppedError} (or a subclass) once the service is stopped. */
  use?(): unknown | Promise<unknown>;
  /** Frees what the subject set up around the service (endpoints, stores). */
  dispose?(): Promise<void>;
}

/** Runs the Startable contract against `create()`; each test gets a fresh subject. */
export function describeLifecycle(name: string, create: () => Promise<LifecycleSubject>): void {
  describe(`${name} follows the Startable lifecycle`, () => {
    async function withSubject(test: (subject: LifecycleSubject) => Promise<void>): Promise<void> {
      const subject = await create();
      try {
        await test(subject);
      } finally {
        await subject.service.stop().catch(() => {});
        await subject.dispose?.();
      }
    }

    it("is idle until started, runs after start, and starting twice starts once", () =>
      withSubject(async ({ service }) => {
        expect(service.state).toBe("idle");
        await Promise.all([service.start(), service.start()]);
        expect(service.state).toBe("running");
        await service.start();
        expect(service.state).toBe("running");
      }));

    it("stops idempotently, and stop is final: start after stop throws ServiceStoppedError", () =>
      withSubject(async ({ service }) => {
        await service.start();
        await Promise.all([service.stop(), service.stop()]);
        expect(service.state).toBe("stopped");
        await service.stop();
        await expect(service.start()).rejects.toBeInstanceOf(ServiceStoppedError);
        expect(service.state).toBe("stopped");
      }));

    it("may be stopped before it ever started", () =>
      withSubject(async ({ service }) => {
        await service.stop();
        expect(service.state).toBe("stopped");
        await expect(service.start()).rejects.toBeInstanceOf(ServiceStoppedError);
      }));

    it("completes its events$ on stop", () =>
      withSubject(async ({ service }) => {
        if (service.events$ === undefined) return;
        await service.start();
        const completed = new Promise<void>((resolve, reject) => {
          service.events$?.subscribe({ complete: resolve, error: reject });
        });
        await service.stop();
        await completed;
      }));

    it("refuses to be used after stop, with ServiceStoppedError", () =>
      withSubject(async (subject) => {
        if (subject.use === undefined) return;
        await subject.service.start();
        await subject.service.stop();
        await expect(Promise.resolve().then(() => subject.use?.())).rejects.toBeInstanceOf(
          ServiceStoppedError,
        );
      }));
  });
}
