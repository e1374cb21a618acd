import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../subgraphs/users/webhooks/settings.js';
import { addressProblem, checkWebhookUrl, guardedLookup } from '../subgraphs/users/webhooks/target-check.js';

// Issue 17, "Webhooks": no loopback, link-local or private address unless a setting allows it, checked on the URL
// at registration and on the resolved address at every connection (DNS rebinding); the retry schedule's jitter.
const none = { loopback: false, private: false, http: false };
const loopback = { ...none, loopback: true };

describe('webhook targets', () => {
  it('classifies addresses, IPv4-mapped IPv6 as IPv4', () => {
    const cases = ['127.0.0.1', '127.8.9.10', '::1', '10.0.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', 'fd00::1', '169.254.169.254', 'fe80::1', '0.0.0.0', '224.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '93.184.216.34', '2606:4700::1111', '172.32.0.1'];
    expect(Object.fromEntries(cases.map((a) => [a, addressProblem(a, none)?.replace(`${a} is `, '') ?? 'allowed']))).toEqual({
      '127.0.0.1': 'a loopback address',
      '127.8.9.10': 'a loopback address',
      '::1': 'a loopback address',
      '10.0.0.1': 'a private address',
      '172.31.255.255': 'a private address',
      '192.168.1.1': 'a private address',
      '100.64.0.1': 'a private address',
      'fd00::1': 'a private address',
      '169.254.169.254': 'a link-local, unspecified, multicast or reserved address',
      'fe80::1': 'a link-local, unspecified, multicast or reserved address',
      '0.0.0.0': 'a link-local, unspecified, multicast or reserved address',
      '224.0.0.1': 'a link-local, unspecified, multicast or reserved address',
      '::ffff:127.0.0.1': 'a loopback address',
      '::ffff:7f00:1': 'a loopback address',
      '::ffff:a9fe:a9fe': 'a link-local, unspecified, multicast or reserved address',
      '64:ff9b::a00:1': 'a link-local, unspecified, multicast or reserved address',
      '93.184.216.34': 'allowed',
      '2606:4700::1111': 'allowed',
      '172.32.0.1': 'allowed',
    });
    expect([addressProblem('127.0.0.1', loopback), addressProblem('10.0.0.1', { ...none, private: true }), addressProblem('169.254.169.254', { loopback: true, private: true, http: true })]).toEqual([undefined, undefined, '169.254.169.254 is a link-local, unspecified, multicast or reserved address']);
  });

  it('checks a URL as written: https unless allowed, no credentials, no refused literal or loopback name', () => {
    const problem = (url: string, allow = none) => {
      try {
        checkWebhookUrl(url, allow);
        return 'ok';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problem('https://hooks.example.com/in')).toBe('ok');
    expect(problem('http://hooks.example.com/in')).toBe('the URL must be https (got http)');
    expect(problem('http://hooks.example.com/in', { ...none, http: true })).toBe('ok');
    expect(problem('https://user:pw@hooks.example.com/')).toBe('the URL may not carry credentials');
    expect(problem('https://[::1]:8443/')).toBe("the URL's host ::1 is a loopback address");
    expect(problem('https://localhost/')).toBe("the URL's host is a loopback name");
    expect(problem('https://localhost/', loopback)).toBe('ok');
    expect(problem('not a url')).toBe('the URL is not a valid absolute URL');
  });

  it('refuses at connection time a name that resolves to a refused address', async () => {
    const resolve = (allow: typeof none) =>
      new Promise<string>((done) => guardedLookup(allow)('localhost', { all: true }, (error, addresses) => done(error ? error.message : (addresses as unknown as LookupAddress[]).map((a) => a.address).join())));
    expect(await resolve(none)).toMatch(/^refused to connect: localhost resolves to (127\.0\.0\.1|::1) is a loopback address$/);
    expect(await resolve(loopback)).toMatch(/127\.0\.0\.1|::1/);
  });

  it('draws each wait within its jitter of the doubling schedule, capped', () => {
    const schedule = { maxAttempts: 5, baseMs: 1_000, maxMs: 5_000, jitter: 0.2 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(schedule, n, () => 0.5))).toEqual([1_000, 2_000, 4_000, 5_000]);
    expect([retryDelayMs(schedule, 2, () => 0), retryDelayMs(schedule, 2, () => 1)]).toEqual([1_600, 2_400]);
  });
});
