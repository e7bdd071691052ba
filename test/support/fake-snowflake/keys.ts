/**
 * RSA key pairs for key-pair (JWT) login against the fake, generated per test run (never committed).
 */
import crypto from 'node:crypto';

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey };
}

/** The JSON secret as Secrets Manager would hold it. */
export function secretJson(key: KeyPair, extra: Record<string, string> = {}): string {
  return JSON.stringify({ privateKey: key.privateKey, ...extra });
}
