/**
 * The LICENSE file is the Apache License 2.0 that package.json declares, word for word: only the
 * appendix's copyright placeholder is filled in.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const COPYRIGHT = '   Copyright 2026 The shelfwatch authors';
/** SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the unmodified text. */
const APACHE_2_0_SHA256 = 'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30';

describe('LICENSE', () => {
  it('is the Apache License 2.0 text with our copyright line, as package.json says', () => {
    const license = readFileSync(new URL('LICENSE', root), 'utf8');
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { license?: string };
    expect(pkg.license).toBe('Apache-2.0');
    expect(license).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(license.split('\n')).toContain(COPYRIGHT);
    const asPublished = license.replace(COPYRIGHT, '   Copyright [yyyy] [name of copyright owner]');
    expect(createHash('sha256').update(asPublished).digest('hex')).toBe(APACHE_2_0_SHA256);
  });
});
