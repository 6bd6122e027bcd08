/**
 * Shape checks shared by the protocols' message decoders. Each takes the protocol's own error
 * factory, so a malformed message surfaces as that protocol's typed error.
 */

/** Builds the error a decoder throws for a malformed message. */
export type MalformedError = (reason: string) => Error;

/**
 * Checks that a decoded CBOR value is a map `{ type, … }` whose `type` is a key of `fields` and
 * whose keys are exactly the listed ones (`fields[type]`, sorted, including `"type"`), plus any
 * of `optional[type]`. Returns the type and the map; throws `malformed(…)` otherwise.
 */
export function taggedRecord<T extends string>(
  value: unknown,
  fields: Readonly<Record<T, readonly string[]>>,
  malformed: MalformedError,
  optional?: Readonly<Partial<Record<T, readonly string[]>>>,
): { type: T; record: Record<string, unknown> } {
  const record = expectMap(value, malformed);
  const type = record.type;
  if (typeof type !== "string" || !Object.hasOwn(fields, type)) throw malformed("unknown type");
  const expected = fields[type as T];
  const mayHave =
    optional !== undefined && Object.hasOwn(optional, type) ? (optional[type as T] ?? []) : [];
  const keys = Object.keys(record)
    .filter((k) => !mayHave.includes(k))
    .sort();
  if (keys.length !== expected.length || keys.some((k, i) => k !== expected[i])) {
    const also = mayHave.length > 0 ? ` (and optionally ${mayHave.join(", ")})` : "";
    throw malformed(`fields of ${type} must be exactly ${expected.join(", ")}${also}`);
  }
  return { type: type as T, record };
}

/**
 * Throws `malformed("not a map")` unless `value` is a CBOR map: a plain object whose prototype is
 * `Object.prototype`. An object with another prototype (what a `__proto__` key makes of a map
 * built by plain assignment) would answer property reads from that prototype and make the
 * encoder take it for something else, so it is refused even though our CBOR layer never builds
 * one.
 */
export function expectMap(value: unknown, malformed: MalformedError): Record<string, unknown> {
  if (
    typeof value !== "object" ||
    value === null ||
    Array.isArray(value) ||
    Object.getPrototypeOf(value) !== Object.prototype
  ) {
    throw malformed("not a map");
  }
  return value as Record<string, unknown>;
}

/**
 * Whether `value` is a real `Uint8Array`. `instanceof` alone is not enough: an object whose
 * prototype is a `Uint8Array` passes it, and reading its `length` throws a `TypeError`.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && ArrayBuffer.isView(value);
}

/** Throws `malformed(…)` unless `value` is a byte string of exactly `length` bytes. */
export function expectBytes(
  value: unknown,
  length: number,
  what: string,
  malformed: MalformedError,
): asserts value is Uint8Array {
  if (!isBytes(value) || value.length !== length) {
    throw malformed(`${what} must be ${length} bytes`);
  }
}
