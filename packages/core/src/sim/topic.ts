import { toHex } from "../bytes.ts";
import { hash } from "../hash.ts";
import type { Topic } from "../ids/topic.ts";

const NAME_DOMAIN = new TextEncoder().encode("p2panda-web/topic-from-name/v1");

/**
 * A simulator's topic of a label: BLAKE3 with the domain `Topic.fromName` used before it was
 * stretched. A simulated topic never leaves its process, so it needs no memory-hard KDF (a
 * simulator makes hundreds), and the figures measured before stay reproducible from their seeds.
 */
export function simulatorTopic(label: string): Topic {
  return toHex(hash(NAME_DOMAIN, new TextEncoder().encode(label))) as Topic;
}
