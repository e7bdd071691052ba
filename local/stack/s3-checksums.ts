/**
 * The checksums S3 verifies on upload, so the local S3 server refuses a corrupted body as S3 does
 * (BadDigest) instead of storing it: Content-MD5, x-amz-content-sha256 and the flexible checksums
 * x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256} (base64 of the big-endian digest).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 *
 * Node has crc32 (zlib) and the SHAs; CRC-32C and CRC-64/NVME are table-driven here.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

interface Digest {
  update(chunk: Buffer): void;
  /** base64 of the big-endian digest, as S3 writes x-amz-checksum-* values */
  base64(): string;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5) as two 32-bit halves: BigInt per byte is slow
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ 0x9a6c9329) >>> 0;
      lo = (lo ^ 0xac4bc9b5) >>> 0;
    }
  }
  CRC64_HI[i] = hi;
  CRC64_LO[i] = lo;
}

function crc32(): Digest {
  let crc = 0;
  return {
    update: (b) => (crc = zlib.crc32(b, crc)),
    base64: () => be32(crc),
  };
}

function crc32c(): Digest {
  let crc = 0xffffffff;
  return {
    update: (b) => {
      for (let i = 0; i < b.length; i++) crc = CRC32C_TABLE[(crc ^ b[i]!) & 0xff]! ^ (crc >>> 8);
    },
    base64: () => be32((crc ^ 0xffffffff) >>> 0),
  };
}

function crc64nvme(): Digest {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  return {
    update: (b) => {
      for (let i = 0; i < b.length; i++) {
        const idx = (lo ^ b[i]!) & 0xff;
        lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_LO[idx]!) >>> 0;
        hi = ((hi >>> 8) ^ CRC64_HI[idx]!) >>> 0;
      }
    },
    base64: () => {
      const out = Buffer.alloc(8);
      out.writeUInt32BE((hi ^ 0xffffffff) >>> 0, 0);
      out.writeUInt32BE((lo ^ 0xffffffff) >>> 0, 4);
      return out.toString('base64');
    },
  };
}

function hash(name: string): Digest {
  const h = crypto.createHash(name);
  return { update: (b) => h.update(b), base64: () => h.digest('base64') };
}

function be32(n: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0, 0);
  return out.toString('base64');
}

export function createDigest(algorithm: ChecksumAlgorithm | 'md5'): Digest {
  switch (algorithm) {
    case 'crc32':
      return crc32();
    case 'crc32c':
      return crc32c();
    case 'crc64nvme':
      return crc64nvme();
    case 'sha1':
      return hash('sha1');
    case 'sha256':
      return hash('sha256');
    case 'md5':
      return hash('md5');
  }
}
