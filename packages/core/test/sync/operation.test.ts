import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";
import { DecodeError, encodeCbor } from "../../src/codec/cbor.ts";
import { hash } from "../../src/hash.ts";
import { nobleEd25519 } from "../../src/identity/ed25519.ts";
import {
  decodeHeader,
  encodeHeader,
  encodeUnsignedHeader,
  type Header,
  unsignedBytesOf,
} from "../../src/sync/header.ts";
import {
  createOperation,
  decodeOperation,
  logIdOf,
  type Operation,
  operationHash,
} from "../../src/sync/operation.ts";
import {
  AuthorMismatchError,
  BacklinkMismatchError,
  BacklinkMissingError,
  checkOperation,
  defaultVerifier,
  PayloadMismatchError,
  SeqNumMismatchError,
  SignatureMismatchError,
  UnexpectedBacklinkError,
  UnsupportedVersionError,
  validateOperation,
} from "../../src/sync/validation.ts";
import { seededIdentity } from "./helpers.ts";

const T0 = 1_700_000_000_000_000;
const hello = new TextEncoder().encode("Hello, Sloth!");

/** Re-signs a modified header so only the intended field is wrong. */
async function resign(seed: number, header: Header, body?: Uint8Array): Promise<Operation> {
  const id = await seededIdentity(seed);
  const unsigned = { ...header, signature: undefined };
  const signature = await id.sign(encodeUnsignedHeader(unsigned));
  const headerBytes = encodeHeader({ ...header, signature });
  return decodeOperation(headerBytes, body);
}

describe("header encoding (spec §6.1, upstream p2panda-core 0.6)", () => {
  it("pins the encoding of a header built from a fixed seed", async () => {
    const id = await seededIdentity(7);
    expect(toHex(id.publicKey)).toBe(
      "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
    );
    const op0 = await createOperation(id, { payload: hello, seqNum: 0, timestamp: T0 });
    expect(toHex(op0.headerBytes)).toBe(
      "88015820ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c5840" +
        "3a90422d0a1b3fb50edfa573870be69445287b0fc02685141be5e053d447f47c3fd81a9ba644b10075a4ec1d" +
        "7dc2f712408504dd731d9e1639d893893918740c0d5820bf7f440de32bfc9b3194b002a2d9afab312cb5d747" +
        "71d3c31d80c0a9058aa08e1b00060a24181e400000f6",
    );
    expect(toHex(op0.hash)).toBe(
      "eb3d3b0580da80d4dfb852f6de2ed6e3067e0e9a6bed6d5dd9ea8a80d5e9a769",
    );
    const op1 = await createOperation(id, {
      seqNum: 1,
      backlink: op0.hash,
      timestamp: T0 + 1,
      logId: "chat",
    });
    expect(toHex(op1.headerBytes)).toBe(
      "88015820ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c5840" +
        "c818db762b723eee81ef7cc51a774198ae7377bf59ac75f40cac934139be81f314cf555e921b53bae1272d24" +
        "8a04381899f5fac8bf020d65414c61b26fb63e02001b00060a24181e4001015820eb3d3b0580da80d4dfb852" +
        "f6de2ed6e3067e0e9a6bed6d5dd9ea8a80d5e9a769a1666c6f675f69646463686174",
    );
    expect(toHex(op1.hash)).toBe(
      "f14ee41866b3fc5ca93bfbfa8bf18b3764518124886426217d605ac126756f1b",
    );
  });

  it("is a CBOR array of the present fields in order, absent optional fields left out", async () => {
    const id = await seededIdentity(7);
    const op = await createOperation(id, { payload: hello, seqNum: 0, timestamp: T0 });
    const b = op.headerBytes;
    expect(b[0]).toBe(0x88); // 8 fields: no backlink
    expect(b[1]).toBe(0x01); // version
    expect(toHex(b.subarray(2, 4))).toBe("5820"); // 32-byte key
    expect(toHex(b.subarray(36, 38))).toBe("5840"); // 64-byte signature
    expect(b[102]).toBe(13); // payload size
    expect(toHex(b.subarray(103, 137))).toBe(`5820${toHex(hash(hello))}`);
    expect(b[137]).toBe(0x1b); // timestamp as u64
    expect(b[146]).toBe(0x00); // seqNum 0
    expect(b.at(-1)).toBe(0xf6); // extensions: null
    const empty = await createOperation(id, { seqNum: 0, timestamp: 5 });
    expect(empty.headerBytes[0]).toBe(0x87); // no payload hash, no backlink
    expect(empty.header.payloadSize).toBe(0);
    expect(empty.body).toBeUndefined();
  });

  it("signs the encoding without the signature field", async () => {
    const id = await seededIdentity(3);
    const op = await createOperation(id, { payload: hello, seqNum: 0, timestamp: T0 });
    const unsigned = encodeUnsignedHeader(op.header);
    expect(unsignedBytesOf(op.headerBytes)).toEqual(unsigned);
    expect(
      await nobleEd25519.verify(id.publicKey, unsigned, op.header.signature as Uint8Array),
    ).toBe(true);
  });

  it("uses BLAKE3 of the full encoded header as the operation id", async () => {
    const op = await createOperation(await seededIdentity(3), { seqNum: 0, timestamp: 1 });
    expect(op.hash).toEqual(hash(op.headerBytes));
    expect(operationHash(op.headerBytes)).toEqual(op.hash);
  });

  it("carries the log id signed in the extensions", async () => {
    const id = await seededIdentity(3);
    const op = await createOperation(id, { seqNum: 0, timestamp: 1, logId: [1, "x"] });
    expect(logIdOf(op.header)).toEqual([1, "x"]);
    const plain = await createOperation(id, { seqNum: 0, timestamp: 1 });
    expect(logIdOf(plain.header)).toBe(0);
    const withExt = await createOperation(id, {
      seqNum: 0,
      timestamp: 1,
      logId: 2,
      extensions: { prune: true },
    });
    expect(withExt.header.extensions).toEqual({ prune: true, log_id: 2 });
    await expect(
      createOperation(id, { seqNum: 0, timestamp: 1, logId: 2, extensions: [1] }),
    ).rejects.toThrow(/plain object/);
  });

  it("refuses to create a backlink on seqNum 0 or none on seqNum > 0", async () => {
    const id = await seededIdentity(3);
    await expect(createOperation(id, { seqNum: 1, timestamp: 1 })).rejects.toThrow(/backlink/);
    await expect(
      createOperation(id, { seqNum: 0, timestamp: 1, backlink: new Uint8Array(32) }),
    ).rejects.toThrow(/backlink/);
  });
});

describe("decodeHeader is strict", () => {
  it("round-trips", async () => {
    const id = await seededIdentity(9);
    const op0 = await createOperation(id, { payload: hello, seqNum: 0, timestamp: T0 });
    const op1 = await createOperation(id, {
      seqNum: 1,
      backlink: op0.hash,
      timestamp: T0,
      extensions: { a: [1, 2] },
    });
    for (const op of [op0, op1]) {
      const h = decodeHeader(op.headerBytes);
      expect(h).toEqual(op.header);
      expect(encodeHeader(h)).toEqual(op.headerBytes);
    }
  });

  const valid = async () =>
    (await createOperation(await seededIdentity(9), { payload: hello, seqNum: 0, timestamp: T0 }))
      .headerBytes;

  const cases: [string, (fields: unknown[]) => unknown][] = [
    ["not an array", () => ({ a: 1 })],
    ["a field missing", (f) => f.slice(0, -1)],
    ["an excess field", (f) => [...f, null]],
    ["a short key", (f) => [f[0], new Uint8Array(31), ...f.slice(2)]],
    ["a short signature", (f) => [f[0], f[1], new Uint8Array(63), ...f.slice(3)]],
    ["a string as payload size", (f) => [f[0], f[1], f[2], "13", ...f.slice(4)]],
    ["a negative seqNum", (f) => [...f.slice(0, 6), -1, f[7]]],
    ["an integer above 2^53", (f) => [...f.slice(0, 5), 2n ** 60n, ...f.slice(6)]],
    ["no signature (unsigned header)", (f) => [f[0], f[1], ...f.slice(3)]],
  ];
  for (const [name, mutate] of cases) {
    it(`refuses ${name} with DecodeError`, async () => {
      const fields = (await import("../../src/codec/cbor.ts")).decodeCbor(
        await valid(),
      ) as unknown[];
      expect(() => decodeHeader(encodeCbor(mutate(fields)))).toThrow(DecodeError);
    });
  }

  it("refuses non-canonical encodings and trailing bytes", async () => {
    const bytes = await valid();
    // payloadSize 13 as a two-byte integer (0x18 0x0d) instead of one byte.
    const i = 102;
    const longForm = new Uint8Array([
      ...bytes.subarray(0, i),
      0x18,
      0x0d,
      ...bytes.subarray(i + 1),
    ]);
    expect(() => decodeHeader(longForm)).toThrow(DecodeError);
    expect(() => decodeHeader(new Uint8Array([...bytes, 0]))).toThrow(DecodeError);
    expect(() => decodeHeader(fromHex("ff"))).toThrow(DecodeError);
  });
});

describe("validateOperation (spec §6.1)", () => {
  const setup = async () => {
    const id = await seededIdentity(11);
    const op0 = await createOperation(id, { payload: hello, seqNum: 0, timestamp: T0 });
    const op1 = await createOperation(id, {
      payload: hello,
      seqNum: 1,
      backlink: op0.hash,
      timestamp: T0 + 1,
    });
    return { id, op0, op1 };
  };

  it("accepts a valid operation, alone and after its predecessor, with either verifier", async () => {
    const { op0, op1 } = await setup();
    await validateOperation(op0);
    await validateOperation(op1, op0);
    await validateOperation(op1, op0, nobleEd25519);
  });

  it("rejects a forged signature", async () => {
    const { op0 } = await setup();
    const sig = (op0.header.signature as Uint8Array).slice();
    sig[5] = (sig[5] as number) ^ 1;
    const forged = decodeOperation(encodeHeader({ ...op0.header, signature: sig }), op0.body);
    await expect(validateOperation(forged)).rejects.toBeInstanceOf(SignatureMismatchError);
    const other = await seededIdentity(12);
    const stolen = decodeOperation(
      encodeHeader({ ...op0.header, verifyingKey: other.publicKey }),
      op0.body,
    );
    await expect(validateOperation(stolen)).rejects.toBeInstanceOf(SignatureMismatchError);
  });

  it("rejects an unsupported version", async () => {
    const { op0 } = await setup();
    const v2 = await resign(11, { ...op0.header, version: 2 }, op0.body);
    await expect(validateOperation(v2)).rejects.toBeInstanceOf(UnsupportedVersionError);
  });

  it("rejects a body that does not match payload size or hash", async () => {
    const { op0 } = await setup();
    const wrongBody = new TextEncoder().encode("Hello, Slotx!");
    expect(() => checkOperation({ ...op0, body: wrongBody })).toThrow(PayloadMismatchError);
    expect(() => checkOperation({ ...op0, body: hello.subarray(1) })).toThrow(PayloadMismatchError);
    // A header without its body (pruned payload) is fine.
    const { body: _b, ...headerOnly } = op0;
    expect(() => checkOperation(headerOnly)).not.toThrow();
  });

  it("rejects a backlink on seqNum 0 and a missing backlink on seqNum > 0", async () => {
    const { op0, op1 } = await setup();
    const withBacklink = { ...op0, header: { ...op0.header, backlink: op0.hash } };
    expect(() => checkOperation(withBacklink)).toThrow(UnexpectedBacklinkError);
    const { backlink: _b, ...noBacklink } = op1.header;
    expect(() => checkOperation({ ...op1, header: noBacklink })).toThrow(BacklinkMissingError);
  });

  it("rejects against the previous header: wrong author, seqNum or backlink", async () => {
    const { op0, op1 } = await setup();
    const other = await createOperation(await seededIdentity(12), { seqNum: 0, timestamp: 1 });
    await expect(validateOperation(op1, other)).rejects.toBeInstanceOf(AuthorMismatchError);
    const skip = await resign(11, { ...op1.header, seqNum: 2 }, op1.body);
    await expect(validateOperation(skip, op0)).rejects.toBeInstanceOf(SeqNumMismatchError);
    const badLink = await resign(11, { ...op1.header, backlink: new Uint8Array(32) }, op1.body);
    await expect(validateOperation(badLink, op0)).rejects.toBeInstanceOf(BacklinkMismatchError);
    const otherLog = await resign(11, { ...op1.header, extensions: { log_id: 5 } }, op1.body);
    await expect(validateOperation(otherLog, op0)).rejects.toBeInstanceOf(AuthorMismatchError);
  });
});

describe("an operation received in a Node Buffer validates, and the buffer is left as it was", () => {
  // The fuzzer found it: `slice()` on a Buffer is a view, so the header's fields shared memory
  // with the received bytes, and the strict Ed25519 pre-check cleared the sign bit of R (or of
  // the key) in place: a valid operation was refused and the received bytes changed under it.
  async function withHighBitR(): Promise<Operation> {
    const author = await seededIdentity(12);
    for (let timestamp = T0; ; timestamp++) {
      const op = await createOperation(author, { seqNum: 0, timestamp, payload: hello });
      if (((op.header.signature as Uint8Array)[31] as number) & 0x80) return op;
    }
  }

  it("a decoded header owns its bytes: nothing in it is a view of the received buffer", async () => {
    const op = await withHighBitR();
    const received = Buffer.from(op.headerBytes);
    const header = decodeHeader(received);
    for (const field of [header.verifyingKey, header.signature, header.payloadHash]) {
      expect((field as Uint8Array).buffer).not.toBe(received.buffer);
    }
  });

  it.each([
    ["the default verifier", undefined],
    ["noble", nobleEd25519],
  ])(
    "%s accepts a signature and key held in Buffers and leaves them as they were",
    async (_, verifier) => {
      const op = await withHighBitR();
      const { verifyingKey, signature } = op.header;
      const key = Buffer.from(verifyingKey);
      const sig = Buffer.from(signature as Uint8Array);
      const message = unsignedBytesOf(op.headerBytes);
      const ok = await (verifier ?? defaultVerifier).verify(key, message, sig);
      expect(ok).toBe(true);
      expect([toHex(key), toHex(sig)]).toEqual([
        toHex(verifyingKey),
        toHex(signature as Uint8Array),
      ]);
    },
  );
});
