import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { TargetAllowance } from './settings.js';

/** Why a webhook URL or the address it resolved to may not be called. */
export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
  readonly code = 'EWEBHOOKTARGET';
}

const blocks = (subnets: readonly [string, number, 'ipv4' | 'ipv6'][]) => {
  const list = new BlockList();
  for (const [address, prefix, type] of subnets) list.addSubnet(address, prefix, type);
  return list;
};

const loopback = blocks([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]);
const privateNetworks = blocks([['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['fc00::', 7, 'ipv6']]);
/** Never a webhook's: link-local (a cloud's metadata service), unspecified, multicast, reserved, benchmarking, NAT64 (it maps onto any IPv4 address). */
const neverAllowed = blocks([
  ['0.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
]);

/** `::ffff:7f00:1` and `::ffff:127.0.0.1` are 127.0.0.1: the IPv4 rules apply to an IPv4-mapped address. */
function unmapped(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (mapped?.[1]) return { address: mapped[1], type: 'ipv4' };
  if (mapped?.[2] && mapped[3]) {
    const high = parseInt(mapped[2], 16);
    const low = parseInt(mapped[3], 16);
    return { address: [high >> 8, high & 255, low >> 8, low & 255].join('.'), type: 'ipv4' };
  }
  return { address, type: isIP(address) === 4 ? 'ipv4' : 'ipv6' };
}

/** Why a webhook may not connect to `address`, or undefined when it may. */
export function addressProblem(raw: string, allow: TargetAllowance): string | undefined {
  const { address, type } = unmapped(raw.replace(/^\[|\]$/g, ''));
  if (neverAllowed.check(address, type)) return `${raw} is a link-local, unspecified, multicast or reserved address`;
  if (loopback.check(address, type) && !allow.loopback) return `${raw} is a loopback address`;
  if (privateNetworks.check(address, type) && !allow.private) return `${raw} is a private address`;
  return undefined;
}

/** The URL a tenant registers, checked as written: http(s), no credentials, and a literal address must be allowed. */
export function checkWebhookUrl(raw: string, allow: TargetAllowance): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('the URL is not a valid absolute URL');
  }
  if (raw.length > 2_000) throw new WebhookTargetError('the URL is longer than 2000 characters');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allow.http)) throw new WebhookTargetError(`the URL must be https (got ${url.protocol.slice(0, -1)})`);
  if (url.username || url.password) throw new WebhookTargetError('the URL may not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const problem = addressProblem(host, allow);
    if (problem) throw new WebhookTargetError(`the URL's host ${problem}`);
  } else if (host === 'localhost' || host.endsWith('.localhost')) {
    if (!allow.loopback) throw new WebhookTargetError('the URL\'s host is a loopback name');
  }
  return url;
}

/** Resolves `url`'s host and refuses it when any address it names may not be called (registration). */
export async function checkWebhookTarget(raw: string, allow: TargetAllowance): Promise<URL> {
  const url = checkWebhookUrl(raw, allow);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return url;
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true }, (error, found) => (error ? reject(new WebhookTargetError(`the URL's host does not resolve (${error.code ?? 'error'})`)) : resolve(found))));
  for (const { address } of addresses) {
    const problem = addressProblem(address, allow);
    if (problem) throw new WebhookTargetError(`the URL's host resolves to ${problem}`);
  }
  return url;
}

/**
 * The `lookup` of every webhook connection: the host is resolved again when
 * the connection is made, and refused when any of its addresses may not be
 * called, so a name that resolved to a public address at registration and to
 * an internal one now (DNS rebinding) never reaches the internal one.
 */
export function guardedLookup(allow: TargetAllowance): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.map((a) => addressProblem(a.address, allow)).find(Boolean);
      if (refused) return callback(new WebhookTargetError(`refused to connect: ${hostname} resolves to ${refused}`), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
