/**
 * Shape checks shared by the protocols' message decoders. Each takes the protocol's own error
 * factory, so a malformed message surfaces as that protocol's typed error.
 */

/** Builds the error a decoder throws for a malformed message. */
export type MalformedError = (reason: string) => Error;

/**
 * Checks that a decoded CBOR value is a map `{ type, … }` whose `type` is a key of `fields` and
 * whose keys are exactly the listed ones (`fields[type]`, sorted, including `"type"`). Returns
 * the type and the map; throws `malformed(…)` otherwise.
 */
export function taggedRecord<T extends string>(
  value: unknown,
  fields: Readonly<Record<T, readonly string[]>>,
  malformed: MalformedError,
): { type: T; record: Record<string, unknown> } {
  const record = expectMap(value, malformed);
  const type = record.type;
  if (typeof type !== "string" || !Object.hasOwn(fields, type)) throw malformed("unknown type");
  const expected = fields[type as T];
  const keys = Object.keys(record).sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) {
    throw malformed(`fields of ${type} must be exactly ${expected.join(", ")}`);
  }
  return { type: type as T, record };
}

/** Throws `malformed("not a map")` unless `value` is a CBOR map (a plain object). */
export function expectMap(value: unknown, malformed: MalformedError): Record<string, unknown> {
  if (
    typeof value !== "object" ||
    value === null ||
    Array.isArray(value) ||
    ArrayBuffer.isView(value)
  ) {
    throw malformed("not a map");
  }
  return value as Record<string, unknown>;
}

/** Throws `malformed(…)` unless `value` is a byte string of exactly `length` bytes. */
export function expectBytes(
  value: unknown,
  length: number,
  what: string,
  malformed: MalformedError,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw malformed(`${what} must be ${length} bytes`);
  }
}
