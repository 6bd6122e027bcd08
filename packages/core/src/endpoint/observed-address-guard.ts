import type { Multiaddr } from "@multiformats/multiaddr";
import { announceableAddresses } from "./addresses.ts";

/** The part of libp2p's address manager that libp2p's relay client feeds. */
export interface ObservedAddresses {
  confirmObservedAddr(address: Multiaddr, options?: unknown): void;
  removeObservedAddr(address: Multiaddr, options?: unknown): void;
}

/**
 * A libp2p service that keeps addresses without a network address out of libp2p's address
 * manager. libp2p's relay client confirms `<our connection's remote address>/p2p-circuit` as our
 * own address once it holds a reservation (and withdraws it when the reservation ends), and the
 * address manager throws on an address without an IP or DNS host (`InvalidParametersError`,
 * from a relay event handler, where nothing can catch it). A relay reached over a WebRTC
 * connection (a browser neighbour relaying signalling) has no such address (`/webrtc/p2p/<id>`,
 * or the circuit the connection was signalled through), and such an address is of no use to
 * anyone, so the address manager does not get to see it. (Our circuit through a neighbour is
 * advertised by the endpoint.)
 */
export function observedAddressGuard(): (components: {
  readonly addressManager: ObservedAddresses;
}) => object {
  return ({ addressManager }) => {
    const confirm = addressManager.confirmObservedAddr.bind(addressManager);
    const remove = addressManager.removeObservedAddr.bind(addressManager);
    addressManager.confirmObservedAddr = (address, options) => {
      if (announceableAddresses([address]).length > 0) confirm(address, options);
    };
    addressManager.removeObservedAddr = (address, options) => {
      if (announceableAddresses([address]).length > 0) remove(address, options);
    };
    return {};
  };
}
