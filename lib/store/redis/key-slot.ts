/**
 * The Cluster hash slot of a key, as Redis computes it (CRC16-XMODEM of the hash tag, or of
 * the whole key without one, modulo 16384). The breaker needs it to know which master a
 * limiter's calls go to; ioredis keeps its own copy of this function private.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    // An empty tag "{}" does not count: the whole key is hashed, as Redis does.
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
